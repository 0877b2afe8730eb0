# What runs every config of ours, HRNet or peer: our runner and hooks. Only keys that
# mmseg's own runtime (mmseg::_base_/default_runtime.py) does not set, so that a peer
# config can inherit this file beside an mmseg config (mmengine refuses a key that two
# bases both set).
# Registers HighResolutionNet and makes mmseg importable with mmcv-lite, also when
# the config is used by mmseg's own tools/train.py.
custom_imports = dict(imports=["hrnet_seg"], allow_failed_imports=False)
# SegRunner: atomic checkpoints, weights_only loading, SyncBN fallback (engine/runner.py);
# also picked by mmseg's own tools/train.py through runner_type.
runner_type = "SegRunner"
custom_hooks = [
    dict(type="NaNGuardHook"),  # stop at the first NaN loss, keep the last good checkpoint
    dict(type="ThroughputHook"),  # img/s and memory in the iteration log
    dict(type="EvalProgressHook"),  # a progress bar while evaluating
    dict(type="RunRecordHook"),  # env.json and results.json next to the checkpoints
    # W&B: online with credentials, else offline files in the work dir (never blocks);
    # WANDB_MODE=disabled turns it off.
    dict(type="WandbLoggerHook"),
]
