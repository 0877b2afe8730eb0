"""Benchmark a config: params, FLOPs, inference and training speed, data throughput.

    python tools/benchmark.py configs/hrnet_w48_cityscapes.py --skip-train --skip-infer
    python tools/benchmark.py configs/hrnet_w18_cityscapes.py --vs-mmseg --infer-size 512 1024
    python tools/benchmark.py --suite peers --device cpu --json peers.json

CONFIG may be an mmseg config by path or package scope (mmseg::pidnet/...py). --suite
peers times HRNet-W18/W48 (FCN, OCR) and the peers of configs/peers/ in one run, at a
small size unless --infer-size / --crop say otherwise, and prints one table.

Each fast-path option can be switched: --bf16, --no-channels-last, --compile. With
--vs-mmseg, mmseg 1.2.2's own HRNet (fp32, NCHW, eager) runs in the same process,
alternating with ours; the printed speedups are medians of the paired ratios.
"""

from __future__ import annotations

import argparse
import json
import sys

import hrnet_seg  # noqa: F401  (mmcv-lite compatibility; registers our modules)
from hrnet_seg.benchmark.suite import SUITES
from hrnet_seg.errors import run_tool

FULL_SIZE = (1024, 2048)  # Cityscapes: the published FLOPs and fps are at this size
# --suite's size unless --infer-size gives one: small enough for a CPU.
SUITE_SIZE = (128, 256)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "config", nargs="?", help="config file (its model is built; no checkpoint needed)"
    )
    p.add_argument("--suite", choices=sorted(SUITES), help="benchmark a set of models (one table)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--batch", type=int, default=2, help="images per step (per GPU)")
    p.add_argument("--crop", type=int, nargs=2, default=None, help="training crop H W")
    p.add_argument("--infer-size", type=int, nargs=2, help=f"H W (default {FULL_SIZE})")
    p.add_argument("--flops-size", type=int, nargs=2, help=f"H W (default {FULL_SIZE})")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast for our model")
    p.add_argument("--no-channels-last", action="store_true", help="NCHW for our model")
    p.add_argument("--compile", action="store_true", help="torch.compile our model")
    p.add_argument(
        "--compile-backend",
        default="inductor",
        help="torch.compile backend (inductor; aot_eager traces without code generation; "
        "eager only captures the graphs)",
    )
    p.add_argument("--vs-mmseg", action="store_true", help="also run mmseg's own HRNet")
    p.add_argument("--slide", action="store_true", help="also time sliding-window inference")
    p.add_argument("--skip-train", action="store_true", help="do not time training")
    p.add_argument("--skip-infer", action="store_true", help="do not time inference")
    p.add_argument(
        "--warmup", type=int, default=1, help="untimed runs first (allocator, autotuning)"
    )
    p.add_argument(
        "--repeats", type=int, default=3, help="timed runs (pairs with --vs-mmseg); median"
    )
    p.add_argument(
        "--flush-denormal",
        action="store_true",
        help="torch.set_flush_denormal(True) first (denormal floats are slow on CPUs)",
    )
    p.add_argument(
        "--fold-bn",
        action="store_true",
        help="also time inference of ours with BN folded into the convolutions",
    )
    p.add_argument(
        "--onnx",
        action="store_true",
        help="also time our model in bf16 and exported to ONNX Runtime (deploy extra)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also profile one step of each model (torch.profiler): time by operator kind",
    )
    p.add_argument("--data-root", help="also time the data pipeline on this dataset")
    p.add_argument("--data-workers", type=int, default=1, help="dataloader workers for --data-root")
    p.add_argument(
        "--max-batch", action="store_true", help="use the largest batch that fits (CUDA)"
    )
    p.add_argument(
        "--mfu", action="store_true", help="model FLOPs utilisation vs measured bf16 matmul peak"
    )
    p.add_argument("--json", help="write the figures here (for the leaderboard)")
    args = p.parse_args(argv)
    if (args.config is None) == (args.suite is None):
        p.error("give a CONFIG or --suite peers (one of them)")
    return args


def run_suite_cli(args) -> int:
    from hrnet_seg.benchmark.run import BenchmarkOptions
    from hrnet_seg.benchmark.suite import SUITES, run_suite, suite_table
    from hrnet_seg.engine.config import load_config

    size = tuple(args.infer_size or SUITE_SIZE)
    opts = BenchmarkOptions(
        batch=args.batch,
        crop=tuple(args.crop or size),
        infer_size=size,
        flops_size=size,
        channels_last=not args.no_channels_last,
        warmup=args.warmup,
        repeats=args.repeats,
        device=args.device or "cpu",
    )
    suite = run_suite(SUITES[args.suite], opts, load=load_config)
    print(suite_table(suite))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"suite": args.suite, **suite}, f, indent=2)
    return 0


def main(argv=None) -> int:
    import torch

    from hrnet_seg.benchmark.flops import segmentor_macs
    from hrnet_seg.benchmark.models import build
    from hrnet_seg.benchmark.run import (
        BenchmarkOptions,
        data_throughput,
        largest_batch,
        matmul_peak_tflops,
        model_flops_utilisation,
        run_benchmark,
    )
    from hrnet_seg.engine.cli import TrainOptions
    from hrnet_seg.engine.config import configure, load_config
    from hrnet_seg.utils.quiet import quiet_stack

    args = parse_args(argv)
    quiet_stack()
    if args.suite:
        return run_suite_cli(args)
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    cfg = load_config(args.config)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    crop = tuple(args.crop or cfg.model.data_preprocessor.get("size") or (512, 1024))
    opts = BenchmarkOptions(
        batch=args.batch,
        crop=crop,
        infer_size=tuple(args.infer_size or FULL_SIZE),
        flops_size=tuple(args.flops_size or FULL_SIZE),
        bf16=args.bf16,
        channels_last=not args.no_channels_last,
        compile=args.compile,
        compile_backend=args.compile_backend,
        vs_mmseg=args.vs_mmseg,
        train=not args.skip_train,
        infer=not args.skip_infer,
        slide=args.slide,
        warmup=args.warmup,
        repeats=args.repeats,
        device=device,
        profile=args.profile,
        fold_bn=args.fold_bn,
        onnx=args.onnx,
    )
    if args.max_batch:
        opts.batch = largest_batch(cfg, opts)
    result = run_benchmark(cfg, opts)
    result.record["flush_denormal"] = args.flush_denormal
    if args.mfu and "train_ours_img_per_s" in result.record:
        macs = segmentor_macs(build(cfg).to(device).eval(), crop)
        peak = matmul_peak_tflops(torch.device(device), n=8192 if device == "cuda" else 512)
        mfu = model_flops_utilisation(result.record["train_ours_img_per_s"], macs, peak)
        result.add("matmul_peak_tflops", round(peak, 1), f"{peak:.1f} TFLOP/s bf16 matmul")
        result.add("train_mfu_pct", round(100 * mfu, 2), f"{100 * mfu:.1f}% MFU (ours, training)")
    if args.data_root:
        configure(cfg, config_path=args.config, options=TrainOptions(data_root=args.data_root))
        per_worker = data_throughput(cfg, workers=args.data_workers)
        result.add(
            "data_img_per_s_per_worker",
            round(per_worker, 2),
            f"{per_worker:.1f} img/s per worker ({args.data_workers} workers, train pipeline)",
        )
    width = max(len(name) for name, _ in result.rows)
    print(f"{args.config} on {result.record['device']} ({result.record['threads']} threads)")
    for name, text in result.rows:
        print(f"  {name:<{width}}  {text}")
    for table in result.tables:
        print(f"\n{table}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": args.config, **result.record}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
