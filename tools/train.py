"""Train a segmentor: `python tools/train.py CONFIG [--work-dir DIR] [--resume] ...`

The flags are mmseg's (tools/train.py), plus `--no-pretrained`.
"""

from __future__ import annotations

import argparse
import os
import os.path as osp
import sys

import hrnet_seg  # noqa: F401  (mmcv-lite compatibility, registers HighResolutionNet)
from hrnet_seg.errors import UserError


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description="Train a segmentor")
    parser.add_argument("config", help="train config file path")
    parser.add_argument("--work-dir", help="the dir to save logs and models")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        default=None,
        help="resume from the latest checkpoint in the work dir, or from the given path",
    )
    parser.add_argument("--amp", action="store_true", help="automatic mixed precision")
    parser.add_argument(
        "--no-pretrained",
        action="store_true",
        help="train the backbone from scratch (ignore model.backbone.pretrained)",
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override settings in the config, key=value (mmengine's syntax)",
    )
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from mmengine.config import Config

    from hrnet_seg.engine import SegRunner
    from hrnet_seg.models.pretrained import check_pretrained_in_config

    try:
        cfg = Config.fromfile(args.config)
        cfg.launcher = args.launcher
        if args.cfg_options is not None:
            cfg.merge_from_dict(args.cfg_options)
        if args.work_dir is not None:
            cfg.work_dir = args.work_dir
        elif cfg.get("work_dir") is None:
            cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(args.config))[0])
        if args.no_pretrained:
            cfg.model.backbone.pretrained = None
            cfg.model.backbone.pop("init_cfg", None)
        if args.amp:
            cfg.optim_wrapper.type = "AmpOptimWrapper"
            cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
        if args.resume is not None:
            cfg.resume = True
            cfg.load_from = None if args.resume == "auto" else args.resume
        if not torch.cuda.is_available():
            cfg.env_cfg.setdefault("dist_cfg", {})["backend"] = "gloo"
        check_pretrained_in_config(cfg.model)
        runner = SegRunner.from_cfg(cfg)
        runner.train()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
