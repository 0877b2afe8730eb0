"""Segment images, folders and videos with a checkpoint or an exported ONNX model:

    python tools/infer.py IMAGE_OR_FOLDER_OR_VIDEO... --config C --checkpoint P --out DIR
    python tools/infer.py ... --onnx model.onnx --out DIR [--config C]

Writes DIR/labels/<name>.png (train ids; --official-ids for the benchmark's ids),
DIR/overlays/<name>.png with --overlay, and DIR/<video>.mp4 (the overlay) per video.
Predictions are tools/test.py's (--mode whole | slide | tta, as there). With --onnx,
--config checks that the model was exported from that config.
"""

from __future__ import annotations

import argparse
import sys

import hrnet_seg  # noqa: F401  (mmcv-lite compatibility; registers our modules)
from hrnet_seg.errors import run_tool


def parse_args(argv=None) -> argparse.Namespace:
    from hrnet_seg.deploy.model import MODES
    from hrnet_seg.engine.cli import add_cfg_options_arg, int_at_least

    parser = argparse.ArgumentParser(description="Segment images, folders and videos")
    parser.add_argument("inputs", nargs="+", help="image files, folders (recursive), videos")
    parser.add_argument("--config", help="the model's config")
    parser.add_argument("--checkpoint", help="checkpoint (.pth) to run with --config")
    parser.add_argument("--onnx", help="a model exported by tools/export.py")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--overlay", action="store_true", help="also write overlays")
    parser.add_argument("--mode", choices=MODES, default="whole", help="inference mode")
    parser.add_argument(
        "--official-ids", action="store_true", help="label PNGs in the benchmark's ids"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 (checkpoint)")
    parser.add_argument("--batch-size", type=int_at_least(1), default=4, help="images per batch")
    add_cfg_options_arg(parser)
    args = parser.parse_args(argv)
    if args.onnx and args.checkpoint:
        parser.error("give --checkpoint (with --config) or --onnx, not both")
    if not args.onnx and not (args.config and args.checkpoint):
        parser.error("give --config and --checkpoint, or --onnx")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from hrnet_seg.deploy import Segmenter
    from hrnet_seg.deploy.infer import check_readable, plan, run
    from hrnet_seg.utils.torch_load import require_file

    # The inputs first: a typo in a path should not wait for a model to load.
    jobs = plan(args.inputs)
    check_readable(jobs)
    if args.onnx:
        segmenter = Segmenter.from_onnx(
            args.onnx,
            mode=args.mode,
            batch_size=args.batch_size,
            config=args.config,
            cfg_options=args.cfg_options,
        )
    else:
        require_file(args.checkpoint, what="checkpoint")
        segmenter = Segmenter(
            args.config,
            args.checkpoint,
            device=args.device,
            mode=args.mode,
            batch_size=args.batch_size,
            cfg_options=args.cfg_options,
        )
    counts = run(
        segmenter,
        jobs,
        out=args.out,
        overlay=args.overlay,
        official_ids=args.official_ids,
    )
    print(f"wrote {counts['images']} images and {counts['frames']} video frames to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
