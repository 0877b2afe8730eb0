"""Submit a sweep (configs x a grid of --cfg-options values) as one Slurm job array.

    python slurm/sweep.py --file sweeps/lr.yaml --gpus-per-node 4 --partition gpu
    python slurm/sweep.py configs/hrnet_w18_cityscapes.py \
        --grid optim_wrapper.optimizer.lr=0.01,0.005 train_cfg.max_iters=40000,80000 \
        --max-parallel 2 --name lr_iters

Then: python slurm/status.py ROOT/NAME and python slurm/collect.py ROOT/NAME.
"""

from __future__ import annotations

import argparse
import sys

import hrnet_seg  # noqa: F401  (mmcv-lite compatibility; registers our modules)
from hrnet_seg.errors import run_tool


def parse_args(argv=None):
    from hrnet_seg.engine.cli import add_cfg_options_arg
    from hrnet_seg.launch.cli import add_resource_args

    parser = argparse.ArgumentParser(description="Submit a sweep as a Slurm job array")
    parser.add_argument("configs", nargs="*", help="config files (or in the sweep file)")
    parser.add_argument("--file", dest="sweep_file", help="sweep YAML (name, configs, grid, ...)")
    parser.add_argument("--grid", nargs="+", metavar="KEY=V1,V2", help="values to sweep")
    add_cfg_options_arg(parser, help="fixed overrides of every run, key=value")
    parser.add_argument("--name", help="sweep name: folder ROOT/NAME and W&B group")
    parser.add_argument("--max-parallel", type=int, help="runs at once (the array's %%N)")
    add_resource_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from hrnet_seg.launch.cli import launch, sweep_from_args

    spec = sweep_from_args(args)
    args.tags = [*args.tags, *spec.tags]
    return launch(kind="sweep", name=spec.name, runs=spec.runs(), args=args, group=spec.name,
                  max_parallel=spec.max_parallel)  # fmt: skip


if __name__ == "__main__":
    sys.exit(run_tool(main))
