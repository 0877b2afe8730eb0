# PIDNet-S (Xu et al., CVPR 2023) as mmseg 1.2.2 trains it: 1024x1024 crops, 120k iterations,
# 2 GPUs x 6, class-weighted losses; published 78.74 mIoU (80.87 ms+flip) on Cityscapes val.
# Differs from mmseg's config only in what runs it (../_base_/run_hooks.py): our runner, where
# SyncBN falls back to BN off a cluster, and our hooks (results.json, NaN guard, throughput,
# W&B); our tools also evaluate it with our confusion-matrix metric (same figures as
# mmseg's IoUMetric) and check the dataset layout before training.
_base_ = ["mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py", "../_base_/run_hooks.py"]
