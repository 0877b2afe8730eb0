# DeepLabV3+ with a dilated ResNet-50-D8 (Chen et al., ECCV 2018) as mmseg 1.2.2 trains it:
# 512x1024 crops, 80k iterations, 4 GPUs x 2; published 80.09 mIoU (81.13 ms+flip).
# Differs from mmseg's config only in what runs it (../_base_/run_hooks.py): our runner, where
# SyncBN falls back to BN off a cluster, and our hooks (results.json, NaN guard, throughput,
# W&B); our tools also evaluate it with our confusion-matrix metric (same figures as
# mmseg's IoUMetric) and check the dataset layout before training.
_base_ = [
    "mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py",
    "../_base_/run_hooks.py",
]
