# Lite-HRNet-18 + FCN, Cityscapes val, 512x1024 crops, 160k iterations, 4 GPUs x 2.
# The official repository (HRNet/Lite-HRNet) publishes pose code and recipes only; its
# segmentation code and recipe were never released (HRNet/Lite-HRNet#2, #52) and no
# published Cityscapes figure could be checked here, so this config has no leaderboard
# row. The recipe is the zoo's HRNet one (data, SGD lr 0.01, poly) with two changes:
# no ImageNet initialisation (none exists for Lite-HRNet), and therefore mmseg's
# 160k schedule (its from-scratch-length one) instead of the zoo's 80k.
_base_ = [
    "./_base_/models/fcn_lite_hrnet_18.py",
    "./_base_/datasets/cityscapes.py",
    "./_base_/schedules/schedule_160k.py",
    "./_base_/default_runtime.py",
]
model = dict(data_preprocessor=dict(size=_base_.crop_size))
