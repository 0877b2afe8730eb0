# HRFormer-B + OCR: the backbone's arch and the head widths it reads, in one place.
# hrformer_channels: the four branch widths of HRFormer-B (hrnet_seg/models/hrformer.py).
_base_ = ["./ocr_hrformer.py"]
hrformer_channels = [78, 156, 312, 624]
model = dict(
    # The official ImageNet weights (HRNet/HRFormer README "Classification", hrt_base.pth),
    # never downloaded: README "Pretrained weights". Their classification head is dropped.
    backbone=dict(arch="B", pretrained="pretrained_models/hrt_base.pth"),
    # A list replaces the base's whole list: both heads, copied with their widths.
    decode_head=[
        dict(_base_.model.decode_head[0], in_channels=hrformer_channels),
        dict(_base_.model.decode_head[1], in_channels=hrformer_channels),
    ],
)
