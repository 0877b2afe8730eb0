"""Evaluate a checkpoint: `python tools/test.py CONFIG CHECKPOINT [--tta] [--out DIR] ...`

Whole-image inference by default (the zoo's protocol), `--mode slide` for sliding
windows, `--tta` for multi-scale (0.5-1.75) + flip. `--out` writes the official
benchmark PNGs, `--show-dir` colour overlays; results.json (mIoU, mAcc, aAcc, per-class
IoU, and what was evaluated: the checkpoint and its iteration, the inference mode, the
data) goes to the work dir, by default work_dirs/<config>/test/<checkpoint>-<mode>.
Distributed: `torchrun --nproc-per-node N tools/test.py ...
--launcher pytorch` gives exactly the 1-process scores.
"""

from __future__ import annotations

import argparse
import os.path as osp
import sys

import hrnet_seg  # noqa: F401  (mmcv-lite compatibility; registers our modules)
from hrnet_seg.errors import run_tool


def parse_args(argv=None) -> argparse.Namespace:
    from hrnet_seg.engine.cli import add_data_root_arg, add_run_args, parse_run_args

    parser = argparse.ArgumentParser(description="Evaluate a segmentor checkpoint")
    parser.add_argument("config", help="config file (the one the checkpoint was trained with)")
    parser.add_argument("checkpoint", help="checkpoint file (.pth) to evaluate")
    add_run_args(parser, work_dir_help="where results.json and logs go")
    add_data_root_arg(parser)
    parser.add_argument("--mode", choices=["whole", "slide"], help="inference mode")
    parser.add_argument("--tta", action="store_true", help="multi-scale (0.5-1.75) + flip")
    parser.add_argument("--out", help="write predictions in the official benchmark format")
    parser.add_argument("--show-dir", help="write colour overlays of the predictions")
    return parse_run_args(parser, argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.dist import is_main_process

    from hrnet_seg.engine import SegRunner
    from hrnet_seg.engine.cli import TrainOptions
    from hrnet_seg.engine.config import (
        TEST_KEYS,
        configure,
        configure_test,
        load_config,
        preflight_test,
    )
    from hrnet_seg.engine.console import run_summary
    from hrnet_seg.engine.runner import close_distributed
    from hrnet_seg.records.metadata import inference_mode
    from hrnet_seg.utils.quiet import quiet_stack
    from hrnet_seg.utils.torch_load import require_file

    quiet_stack()
    cfg = load_config(args.config, args.cfg_options, required=TEST_KEYS)
    name = osp.splitext(osp.basename(args.config))[0]
    configure(
        cfg,
        config_path=args.config,
        work_dir=args.work_dir,
        launcher=args.launcher,
        # the checkpoint has every weight
        options=TrainOptions(data_root=args.data_root, no_pretrained=True),
    )
    configure_test(
        cfg,
        checkpoint=args.checkpoint,
        mode=args.mode,
        tta=args.tta,
        out_dir=args.out,
        show_dir=args.show_dir,
    )
    if not args.work_dir:
        # One folder per checkpoint and mode: evaluating a checkpoint whole, slide and
        # tta keeps three records instead of each overwriting the last.
        checkpoint = osp.splitext(osp.basename(args.checkpoint))[0]
        evaluation = f"{checkpoint}-{inference_mode(cfg)}"
        cfg.work_dir = osp.join("./work_dirs", name, "test", evaluation)
    preflight_test(cfg)
    require_file(args.checkpoint, what="checkpoint")
    runner = SegRunner.from_cfg(cfg)
    runner.test()
    if is_main_process():
        print(run_summary(runner, checkpoint=osp.abspath(args.checkpoint)), flush=True)
    close_distributed()
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
