"""Real runs on built-in data: mmengine Runners in process, tools as subprocesses."""

from __future__ import annotations

import itertools
import json
import os

import pytest

from hrnet_seg.datasets.synthetic import make_cityscapes
from tests.conftest import REPO

DEMO = "configs/demo/hrnet_w18s_demo_cityscapes.py"
_RUN_IDS = itertools.count()


def tiny_options(iters: int, *, checkpoint_every: int | None = None, workers: int = 0) -> dict:
    """The demo config, shortened to a few iterations of batch 2."""
    return {
        "train_cfg.max_iters": iters,
        "train_cfg.val_interval": iters,
        "param_scheduler.0.end": iters,
        "train_dataloader.batch_size": 2,
        "train_dataloader.num_workers": workers,
        "train_dataloader.persistent_workers": workers > 0,
        "val_dataloader.num_workers": 0,
        "val_dataloader.persistent_workers": False,
        "default_hooks.checkpoint.interval": checkpoint_every or iters,
        "default_hooks.checkpoint.max_keep_ckpts": -1,
        "default_hooks.logger.interval": 1,
    }


def small_crop_options(iters: int) -> list[str]:
    """``--cfg-options`` for a Cityscapes config (ours or mmseg's: their pipelines have
    the same steps at the same places) at the built-in data's size, 64x128, instead of
    the zoo's scale, for ``iters`` iterations."""
    tiny = tiny_options(iters) | {
        "model.data_preprocessor.size": "(64,128)",
        "train_dataloader.dataset.pipeline.2.scale": "(128,64)",  # RandomResize
        "train_dataloader.dataset.pipeline.3.crop_size": "(64,128)",  # RandomCrop
        "val_dataloader.dataset.pipeline.1.scale": "(128,64)",  # Resize
        "test_dataloader.dataset.pipeline.1.scale": "(128,64)",
    }
    return [f"{k}={v}" for k, v in tiny.items()]


def train(work_dir, data_root, *, iters, options=None, hooks=(), resume=None, amp=False, **kw):
    """Train the demo config in this process through the library, as tools/train.py does."""
    from hrnet_seg.engine import SegRunner
    from hrnet_seg.engine.cli import TrainOptions
    from hrnet_seg.engine.config import TRAIN_KEYS, configure, load_config, preflight_train
    from hrnet_seg.engine.work_dir import training_work_dir

    options = {**tiny_options(iters, **kw), **(options or {})}
    cfg = load_config(str(REPO / DEMO), options, required=TRAIN_KEYS)
    configure(
        cfg,
        config_path=DEMO,
        work_dir=str(work_dir),
        resume=resume,
        options=TrainOptions(data_root=str(data_root), amp=amp),
    )
    # Runners in one process share mmengine's named singletons (logger, message hub):
    # give each run its own name.
    cfg.experiment_name = f"run{next(_RUN_IDS)}_{os.getpid()}"
    # A hook given here replaces the config's hook of the same type (or a base type).
    given = {cls.__name__ for hook in hooks for cls in type(hook).__mro__}
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h["type"] not in given]
    preflight_train(cfg)
    with training_work_dir(cfg.work_dir):
        runner = SegRunner.from_cfg(cfg)
        for hook in hooks:
            runner.register_hook(hook, priority=getattr(hook, "priority", "NORMAL"))
        runner.train()
    return runner


def read_json(path):
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    """8 train and 4 val images at 64x128, in the official Cityscapes layout."""
    root = tmp_path_factory.mktemp("data") / "cityscapes"
    return make_cityscapes(root, splits={"train": 8, "val": 4}, size=(64, 128), seed=1)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, demo_root):
    """A 12-iteration demo run; its work dir holds iter_12.pth."""
    work_dir = tmp_path_factory.mktemp("trained")
    train(work_dir, demo_root, iters=12)
    return work_dir
