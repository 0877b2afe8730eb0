# HRNetV2-W18 + FCN, Cityscapes val, 512x1024 crops, 80k iterations, 4 GPUs x 2.
# Published mIoU: mmseg 1.2.2 78.65 (80.35 ms+flip); PaddleSeg 78.97.
_base_ = [
    "./_base_/models/fcn_hrnet_w18.py",
    "./_base_/datasets/cityscapes.py",
    "./_base_/schedules/schedule_80k.py",
    "./_base_/default_runtime.py",
]
model = dict(data_preprocessor=dict(size=_base_.crop_size))
