# mmseg 1.2.2's own HRNetV2-W48 + OCR (its HRNet and OCRHead, not ours: the reference our
# configs/hrnet_w48_ocr_cityscapes.py is compared with): 512x1024 crops, 80k iterations,
# 4 GPUs x 2; published 80.70 mIoU (81.87 ms+flip) on Cityscapes val.
# Differs from mmseg's config only in what runs it (../_base_/run_hooks.py): our runner, where
# SyncBN falls back to BN off a cluster, and our hooks (results.json, NaN guard, throughput,
# W&B); our tools also evaluate it with our confusion-matrix metric (same figures as
# mmseg's IoUMetric) and check the dataset layout before training.
_base_ = ["mmseg::ocrnet/ocrnet_hr48_4xb2-80k_cityscapes-512x1024.py", "../_base_/run_hooks.py"]
