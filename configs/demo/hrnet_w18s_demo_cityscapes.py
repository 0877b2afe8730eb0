# The built-in demo (`make demo`): HRNet-W18-Small-v1 + FCN trained from scratch on the
# built-in Cityscapes-format data (tools/make_demo_data.py), on CPU, in a few minutes.
# Same model code, heads, datasets and metric as the zoo; only the scale differs.
_base_ = [
    "../_base_/models/fcn_hrnet_w18_small_v1.py",
    "../_base_/datasets/cityscapes.py",
    "../_base_/schedules/schedule_80k.py",
    "../_base_/default_runtime.py",
]
data_root = "data/demo/cityscapes"
crop_size = (128, 256)  # the built-in images are 128x256 (1/8 of Cityscapes)
iters = 300  # ~2 minutes on 2 CPU cores; mIoU ~89 on the built-in val split
norm_cfg = dict(type="BN", requires_grad=True)  # one process: nothing to synchronise
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg, pretrained=None),  # no ImageNet
    decode_head=dict(norm_cfg=norm_cfg),
)
train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    # The zoo's 0.5-2.0 scale jitter at 1/8 resolution would leave objects of a few pixels.
    dict(type="RandomResize", scale=(256, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type="RandomCrop", crop_size=crop_size, cat_max_ratio=0.75),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PackSegInputs"),
]
test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="PackSegInputs"),
]
train_dataloader = dict(
    batch_size=8,
    # Small PNGs decode in milliseconds; a second worker would only compete with the
    # two compute threads of a 2-core machine.
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline),
)
val_dataloader = dict(
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline),
)
test_dataloader = val_dataloader
# From scratch in a few hundred iterations: AdamW converges far faster than the
# zoo's SGD (lr 0.01), which is tuned for ImageNet-initialised 80k-iteration runs.
optim_wrapper = dict(
    _delete_=True, type="OptimWrapper", optimizer=dict(type="AdamW", lr=2e-3, weight_decay=0.01)
)
param_scheduler = [dict(type="PolyLR", eta_min=1e-5, power=0.9, begin=0, end=iters, by_epoch=False)]
train_cfg = dict(max_iters=iters, val_interval=iters)
default_hooks = dict(
    logger=dict(interval=10),  # a line every few seconds on a 2-core CPU
    checkpoint=dict(interval=iters, max_keep_ckpts=2),  # one save: the terminal fits a screen
)
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
