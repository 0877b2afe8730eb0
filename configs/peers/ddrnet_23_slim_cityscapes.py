# DDRNet-23-slim (Hong et al. 2021) as mmseg 1.2.2 trains it: 1024x1024 crops, 120k iterations,
# 2 GPUs x 6, class-weighted OHEM; published 77.84 mIoU (80.15 ms+flip) on Cityscapes val.
# Differs from mmseg's config only in what runs it (../_base_/run_hooks.py): our runner, where
# SyncBN falls back to BN off a cluster, and our hooks (results.json, NaN guard, throughput,
# W&B); our tools also evaluate it with our confusion-matrix metric (same figures as
# mmseg's IoUMetric) and check the dataset layout before training.
_base_ = [
    "mmseg::ddrnet/ddrnet_23-slim_in1k-pre_2xb6-120k_cityscapes-1024x1024.py",
    "../_base_/run_hooks.py",
]
