"""Submit one training run to Slurm through submitit.

    python slurm/submit.py CONFIG [--cfg-options k=v ...] --nodes 2 --gpus-per-node 4 \
        --partition gpu --time 24:00:00 [--dry-run | --local] [--wait]

Each task runs hrnet_seg.launch.TrainJob (tools/train.py's flags); preemption and the
time limit save a checkpoint and requeue; a resubmission with the same --name resumes.
"""

from __future__ import annotations

import argparse
import os.path as osp
import sys

import hrnet_seg  # noqa: F401  (mmcv-lite compatibility; registers our modules)
from hrnet_seg.errors import run_tool


def parse_args(argv=None):
    from hrnet_seg.engine.cli import add_cfg_options_arg
    from hrnet_seg.launch.cli import add_resource_args

    parser = argparse.ArgumentParser(description="Submit a training run to Slurm (submitit)")
    parser.add_argument("config", help="train config file path")
    add_cfg_options_arg(parser)
    parser.add_argument("--name", help="run name (work dir ROOT/NAME); default: the config's")
    add_resource_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from hrnet_seg.launch.cli import launch
    from hrnet_seg.launch.sweep import RunSpec

    name = args.name or osp.splitext(osp.basename(args.config))[0]
    run = RunSpec(name=name, config=args.config, cfg_options=dict(args.cfg_options or {}))
    return launch(kind="train", name=name, runs=[run], args=args, group=None)


if __name__ == "__main__":
    sys.exit(run_tool(main))
