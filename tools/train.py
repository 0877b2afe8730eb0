"""Train a segmentor: `python tools/train.py CONFIG [--work-dir DIR] [--resume [PATH]] ...`

mmseg's flags (--work-dir, --resume, --amp, --cfg-options, --launcher), plus
--data-root, --seed, --deterministic and --no-pretrained (hrnet_seg.engine.cli.TrainOptions,
shared with slurm/submit.py and slurm/sweep.py). On CPU, distributed runs use
gloo: `torchrun --nproc-per-node 2 tools/train.py CONFIG --launcher pytorch`.
"""

from __future__ import annotations

import argparse
import sys

import hrnet_seg  # noqa: F401  (mmcv-lite compatibility; registers our modules)
from hrnet_seg.errors import run_tool


def parse_args(argv=None) -> argparse.Namespace:
    from hrnet_seg.engine.cli import add_run_args, add_train_args, parse_run_args

    parser = argparse.ArgumentParser(description="Train a segmentor")
    parser.add_argument("config", help="train config file path")
    add_run_args(parser, work_dir_help="where logs, checkpoints and results go")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        default=None,
        help="resume from the newest complete checkpoint in the work dir, or from PATH",
    )
    add_train_args(parser)
    return parse_run_args(parser, argv)


def stoppable(cfg, args, argv):
    """How the run stops early with a checkpoint: under srun (slurm/train.sbatch) on
    preemption, with a requeue; elsewhere on Ctrl-C, at the end of the iteration in flight."""
    if args.launcher == "slurm":
        from hrnet_seg.launch.srun import preemptible

        return preemptible(cfg)
    from hrnet_seg.engine.cli import resume_command
    from hrnet_seg.launch.preemption import interruptible

    argv = sys.argv if argv is None else ["tools/train.py", *argv]
    return interruptible(cfg, resume_command=resume_command(argv, work_dir=cfg.work_dir))


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.dist import is_main_process

    from hrnet_seg.engine import SegRunner
    from hrnet_seg.engine.cli import TrainOptions
    from hrnet_seg.engine.config import TRAIN_KEYS, configure, load_config, preflight_train
    from hrnet_seg.engine.console import run_summary
    from hrnet_seg.engine.runner import close_distributed
    from hrnet_seg.engine.work_dir import training_work_dir
    from hrnet_seg.utils.quiet import quiet_stack

    quiet_stack()
    cfg = load_config(args.config, args.cfg_options, required=TRAIN_KEYS)
    configure(
        cfg,
        config_path=args.config,
        work_dir=args.work_dir,
        launcher=args.launcher,
        resume=args.resume,
        options=TrainOptions.from_args(args),
    )
    preflight_train(cfg)
    with training_work_dir(cfg.work_dir), stoppable(cfg, args, argv):
        runner = SegRunner.from_cfg(cfg)
        runner.train()
    if is_main_process():
        print(run_summary(runner), flush=True)
    close_distributed()
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
