# HRNetV2-W18 + OCR, ADE20K val, 512x512 crops, 160k iterations, 4 GPUs x 4.
# Published mIoU: mmseg 1.2.2 39.32 (40.80 ms+flip).
_base_ = [
    "./_base_/models/ocr_hrnet_w18.py",
    "./_base_/datasets/ade20k.py",
    "./_base_/schedules/schedule_160k.py",
    "./_base_/default_runtime.py",
]
model = dict(
    data_preprocessor=dict(size=_base_.crop_size),
    # A list replaces the base's whole list: restate both heads by copying them.
    decode_head=[
        dict(_base_.model.decode_head[0], num_classes=_base_.num_classes),
        dict(_base_.model.decode_head[1], num_classes=_base_.num_classes),
    ],
)
