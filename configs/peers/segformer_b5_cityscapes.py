# SegFormer-B5 (Xie et al., NeurIPS 2021) as mmseg 1.2.2 trains it: 1024x1024 crops, 160k
# iterations, 8 GPUs x 1, AdamW, sliding-window test; published 82.25 mIoU (83.48 ms+flip).
# Differs from mmseg's config only in what runs it (../_base_/run_hooks.py): our runner, where
# SyncBN falls back to BN off a cluster, and our hooks (results.json, NaN guard, throughput,
# W&B); our tools also evaluate it with our confusion-matrix metric (same figures as
# mmseg's IoUMetric) and check the dataset layout before training.
_base_ = [
    "mmseg::segformer/segformer_mit-b5_8xb1-160k_cityscapes-1024x1024.py",
    "../_base_/run_hooks.py",
]
