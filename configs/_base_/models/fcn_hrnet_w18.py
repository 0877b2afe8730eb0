# HRNetV2-W18 + FCN: the backbone's arch and the head widths it reads, in one place.
# hrnet_channels: C, 2C, 4C, 8C of W18 (hrnet_seg/models/arch.py); tools/train.py and
# tools/test.py stop with the fix when a head's in_channels disagree with the arch.
_base_ = ["./fcn_hrnet.py"]
hrnet_channels = [18, 36, 72, 144]
model = dict(
    # ImageNet weights, never downloaded: README "Pretrained weights".
    backbone=dict(arch="W18", pretrained="pretrained_models/hrnetv2_w18_imagenet_pretrained.pth"),
    # channels: the 1x1 conv keeps the concatenated width (official HRNet's last_layer).
    decode_head=dict(in_channels=hrnet_channels, channels=sum(hrnet_channels)),
)
