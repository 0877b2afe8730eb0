"""Data-parallel scaling benchmark: step time, gradient all-reduce time and efficiency
of the same short training on every rank, per gradient communication variant.

    srun python tools/benchmark_ddp.py CONFIG --launcher slurm --json 2x2.json
    torchrun --nproc-per-node 2 tools/benchmark_ddp.py CONFIG --launcher pytorch
    python tools/benchmark_ddp.py --compare 1x2.json 2x2.json

--variants lists PRECISION:BUCKET_MB pairs (fp32 gradients or the bf16 compression
hook, DDP bucket size). slurm/scaling_benchmark.sh runs 1 node x 2 tasks and 2 nodes x 2
tasks on the local test cluster over a shaped link (README "Scaling").
"""

from __future__ import annotations

import argparse
import json
import sys

import hrnet_seg  # noqa: F401  (mmcv-lite compatibility; registers our modules)
from hrnet_seg.errors import UserError, run_tool


def parse_args(argv=None) -> argparse.Namespace:
    from hrnet_seg.engine.cli import ValuesAction

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("config", nargs="?", help="the model to train (its dist_cfg timeout applies)")
    p.add_argument(
        "--launcher",
        choices=["pytorch", "slurm"],
        default="pytorch",
        help="how the processes were started (torchrun or srun)",
    )
    p.add_argument("--batch", type=int, default=1, help="images per rank and step")
    p.add_argument("--crop", type=int, nargs=2, default=None, help="training crop H W")
    p.add_argument(
        "--variants",
        nargs="+",
        action=ValuesAction,
        default=["fp32:25", "bf16:25", "fp32:100", "bf16:100"],
        help="gradient precision:bucket size in MB, each timed (fp32 or bf16 comm hook)",
    )
    p.add_argument("--steps", type=int, default=3, help="timed steps per variant and round")
    p.add_argument("--rounds", type=int, default=3, help="rounds over the variants, alternating")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps per variant first")
    p.add_argument("--json", help="write the record here (rank 0)")
    p.add_argument("--compare", nargs="+", metavar="JSON", help="compare earlier records")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from hrnet_seg.benchmark.scaling import scaling_table

    if args.compare:
        records = []
        for path in args.compare:
            try:
                with open(path) as f:
                    records.append(json.load(f))
            except (OSError, ValueError) as exc:
                raise UserError(f"{path}: not a benchmark_ddp record ({exc})") from None
        print(scaling_table(records))
        return 0
    if not args.config:
        raise UserError("give a CONFIG to measure, or --compare JSON... to compare records")
    return measure(args)


def measure(args) -> int:
    import torch.distributed as dist

    from hrnet_seg.benchmark.scaling import Variant, init_process_group, table
    from hrnet_seg.engine.config import load_config
    from hrnet_seg.launch.distributed import use_allocated_cpus
    from hrnet_seg.utils.quiet import quiet_stack

    variants = [Variant.parse(v) for v in args.variants]
    for name in ("batch", "steps", "rounds"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be >= 1, got {getattr(args, name)}")
    quiet_stack()
    cfg = load_config(args.config)
    crop = tuple(args.crop or cfg.model.data_preprocessor.get("size") or (512, 1024))
    use_allocated_cpus()
    device = init_process_group(args.launcher, cfg.env_cfg.get("dist_cfg"))
    try:
        from hrnet_seg.benchmark.scaling import measure as run

        record = run(cfg, variants, batch=args.batch, crop=crop, steps=args.steps,
                     rounds=args.rounds, warmup=args.warmup, device=device)  # fmt: skip
        if dist.get_rank() == 0:
            record["config"] = args.config
            print(table(record))
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(record, f, indent=2)
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
