# HRNetV2-W48 + FCN, Cityscapes val, 512x1024 crops, 80k iterations, 4 GPUs x 2.
# Published mIoU: mmseg 1.2.2 79.93 (80.72 ms+flip); official HRNet 80.9 (~120k iters,
# batch 12); PaddleSeg 80.70. Sources: README model zoo.
_base_ = [
    "./_base_/models/fcn_hrnet_w48.py",
    "./_base_/datasets/cityscapes.py",
    "./_base_/schedules/schedule_80k.py",
    "./_base_/default_runtime.py",
]
model = dict(data_preprocessor=dict(size=_base_.crop_size))
