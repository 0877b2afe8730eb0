# HRFormer-S + OCR, Cityscapes val, 512x1024 crops, 80k iterations, 4 GPUs x 2.
# Published mIoU: official HRFormer 80.0 (81.0 ms+flip), window 7x7, OHEM
# (https://github.com/HRNet/HRFormer README, "Semantic segmentation / Cityscapes").
# The official recipe (configs/_base_/models/ocr_hrformer.py, schedule_80k_adamw.py)
# with these differences: batch 8 as 4 GPUs x 2 (official 8 x 1); the zoo's Cityscapes
# pipeline (mmseg's: resize 0.5-2.0, 512x1024 crop with cat_max_ratio 0.75, flip,
# photometric distortion), where openseg pads crops and has its own augmentation set;
# OHEM is mmseg's OHEMPixelSampler (same threshold and minimum, counted per image).
_base_ = [
    "./_base_/models/ocr_hrformer_s.py",
    "./_base_/datasets/cityscapes.py",
    "./_base_/schedules/schedule_80k_adamw.py",
    "./_base_/default_runtime.py",
]
model = dict(data_preprocessor=dict(size=_base_.crop_size))
