# HRNetV2-W48 + OCR, Cityscapes val, 512x1024 crops, 80k iterations, 4 GPUs x 2.
# Published mIoU: mmseg 1.2.2 80.70 (81.87 ms+flip); official HRNet-OCR 81.6;
# openseg.pytorch 81.09.
_base_ = [
    "./_base_/models/ocr_hrnet_w48.py",
    "./_base_/datasets/cityscapes.py",
    "./_base_/schedules/schedule_80k.py",
    "./_base_/default_runtime.py",
]
model = dict(data_preprocessor=dict(size=_base_.crop_size))
