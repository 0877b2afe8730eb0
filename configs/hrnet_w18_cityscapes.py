# HRNetV2-W18 + FCN, Cityscapes val, 512x1024 crops, 80k iterations, 4 GPUs x 2.
# Published mIoU: mmseg 1.2.2 78.65 (80.35 ms+flip); PaddleSeg 78.97.
_base_ = [
    "./_base_/models/fcn_hrnet.py",
    "./_base_/datasets/cityscapes.py",
    "./_base_/schedules/schedule_80k.py",
    "./_base_/default_runtime.py",
]
hrnet_channels = [18, 36, 72, 144]
model = dict(
    data_preprocessor=dict(size=_base_.crop_size),
    backbone=dict(arch="W18", pretrained="pretrained_models/hrnetv2_w18_imagenet_pretrained.pth"),
    decode_head=dict(in_channels=hrnet_channels, channels=sum(hrnet_channels)),
)
