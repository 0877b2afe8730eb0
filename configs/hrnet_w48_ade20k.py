# HRNetV2-W48 + FCN, ADE20K val, 512x512 crops, 160k iterations, 4 GPUs x 4.
# Published mIoU: mmseg 1.2.2 42.02 (43.86 ms+flip); official HRNet 43.1 (44.2 ms+flip,
# 520x520 crops).
_base_ = [
    "./_base_/models/fcn_hrnet_w48.py",
    "./_base_/datasets/ade20k.py",
    "./_base_/schedules/schedule_160k.py",
    "./_base_/default_runtime.py",
]
model = dict(
    data_preprocessor=dict(size=_base_.crop_size),
    decode_head=dict(num_classes=_base_.num_classes),
)
