# HRNetV2-W48 + OCR: the backbone's arch and the head widths it reads, in one place.
# hrnet_channels: C, 2C, 4C, 8C of W48 (hrnet_seg/models/arch.py); tools/train.py and
# tools/test.py stop with the fix when a head's in_channels disagree with the arch.
_base_ = ["./ocr_hrnet.py"]
hrnet_channels = [48, 96, 192, 384]
model = dict(
    # ImageNet weights, never downloaded: README "Pretrained weights".
    backbone=dict(arch="W48", pretrained="pretrained_models/hrnetv2_w48_imagenet_pretrained.pth"),
    # A list replaces the base's whole list: both heads, copied with their widths.
    # channels of the FCN head: the 1x1 conv keeps the concatenated width (official
    # HRNet's last_layer).
    decode_head=[
        dict(_base_.model.decode_head[0], in_channels=hrnet_channels, channels=sum(hrnet_channels)),
        dict(_base_.model.decode_head[1], in_channels=hrnet_channels),
    ],
)
