"""Export a trained segmentor to ONNX: `python tools/export.py CONFIG CHECKPOINT --out m.onnx`

The graph takes uint8 RGB images, N x H x W x 3 (as PIL, imageio and video decoders give
them), normalises them inside, and returns the logits at the input size (N x C x H x W),
or with `--argmax` the label map (N x H x W, uint8 up to 256 classes). Batch, height and
width are dynamic unless `--static H W`. Class names, palette, mean/std, align_corners,
the test pipeline's resize and the config's hash go into the model's metadata_props.
`--check` compares ONNX Runtime with torch at two sizes (one not divisible by 32) and
fails (exit 1) outside max |dlogit| <= 1e-4 x max |logit|, argmax agreement >= 99.99 %.
Needs the deploy extra: pip install -e '.[deploy]' (make install installs it).
"""

from __future__ import annotations

import argparse
import sys

import hrnet_seg  # noqa: F401  (mmcv-lite compatibility; registers our modules)
from hrnet_seg.errors import run_tool


def parse_args(argv=None) -> argparse.Namespace:
    from hrnet_seg.engine.cli import add_cfg_options_arg, int_at_least

    parser = argparse.ArgumentParser(description="Export a segmentor to ONNX")
    parser.add_argument("config", help="config file (the one the checkpoint was trained with)")
    parser.add_argument("checkpoint", help="checkpoint file (.pth)")
    parser.add_argument("--out", required=True, help="the .onnx file to write")
    parser.add_argument(
        "--argmax", action="store_true", help="output the label map instead of the logits"
    )
    parser.add_argument(
        "--static", nargs=2, type=int_at_least(32), metavar=("H", "W"), help="fixed input size"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="check ONNX Runtime against torch at two sizes and print the figures",
    )
    parser.add_argument(
        "--check-sizes",
        nargs="+",
        default=["512x1024", "250x510"],
        help="sizes HxW for --check (default: 512x1024 250x510)",
    )
    add_cfg_options_arg(parser)
    args = parser.parse_args(argv)
    if not args.out.endswith(".onnx"):
        parser.error(f"--out: expected a path ending in .onnx, got {args.out!r}")
    sizes = []
    for text in args.check_sizes:
        parts = text.lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() and int(p) >= 32 for p in parts):
            parser.error(f"--check-sizes: expected HxW with H, W >= 32, got {text!r}")
        sizes.append((int(parts[0]), int(parts[1])))
    args.check_sizes = sizes
    if args.check and args.argmax:
        parser.error("--check compares logits: export without --argmax to check parity")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from hrnet_seg.deploy.model import load_model
    from hrnet_seg.deploy.onnx import check_parity, export_onnx, require
    from hrnet_seg.utils.torch_load import require_file

    require("onnx")
    if args.check:
        require("onnxruntime")
    require_file(args.checkpoint, what="checkpoint")
    loaded = load_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    static = tuple(args.static) if args.static else None
    meta = export_onnx(loaded, args.out, argmax=args.argmax, static_size=static)
    print(
        f"wrote {args.out}: {meta['hrnet_seg.input']} ({meta['hrnet_seg.input_layout']}) -> "
        f"{meta['hrnet_seg.output']}, {meta['hrnet_seg.shape']}, opset {meta['hrnet_seg.opset']}"
    )
    if not args.check:
        return 0
    sizes = [static] if static else args.check_sizes
    results = check_parity(loaded, args.out, sizes)
    for parity in results:
        print(f"parity {parity.line()}")
    return 0 if all(p.ok for p in results) else 1


if __name__ == "__main__":
    sys.exit(run_tool(main))
