"""Write a small built-in dataset in the official Cityscapes or ADE20K layout.

    python tools/make_demo_data.py --dataset cityscapes --out data/demo/cityscapes
    python tools/make_demo_data.py --dataset ade20k --out data/demo/ade20k --num-train 20

Scenes are drawn from scratch (see hrnet_seg/datasets/synthetic/): nothing is
downloaded, and the same arguments always give the same files. The root gets a marker
file (hrnet_seg_builtin_data.json): runs evaluated on it are recorded as built-in data
and kept apart from the published figures on the leaderboard.
"""

from __future__ import annotations

import argparse
import sys

import hrnet_seg  # noqa: F401  (compat layer first, then mmseg)
from hrnet_seg.datasets import synthetic
from hrnet_seg.datasets.identity import BUILTIN_MARKER
from hrnet_seg.errors import run_tool

# The --num-train / --num-val flags name each dataset's official split folders.
DATASETS = {
    "cityscapes": (
        synthetic.make_cityscapes,
        synthetic.CITYSCAPES_SPLITS,
        synthetic.CITYSCAPES_SIZE,
    ),
    "ade20k": (synthetic.make_ade20k, synthetic.ADE20K_SPLITS, synthetic.ADE20K_SIZE),
}


class _OneLineErrors(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"error: {message}\n")


def parse_args(argv=None) -> argparse.Namespace:
    parser = _OneLineErrors(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset", required=True, choices=sorted(DATASETS), help="layout to write"
    )
    parser.add_argument("--out", required=True, help="dataset root to write")
    parser.add_argument("--num-train", type=int, help="training images (cityscapes 40, ade20k 60)")
    parser.add_argument("--num-val", type=int, help="validation images (cityscapes 10, ade20k 20)")
    parser.add_argument(
        "--size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="image height and width (cityscapes 128 256, ade20k 128 128)",
    )
    parser.add_argument("--seed", type=int, default=0, help="same seed, same files")
    return parser.parse_args(argv)


def _run(argv=None) -> int:
    args = parse_args(argv)
    make, default_splits, default_size = DATASETS[args.dataset]
    train_split, val_split = default_splits
    splits = {
        train_split: default_splits[train_split] if args.num_train is None else args.num_train,
        val_split: default_splits[val_split] if args.num_val is None else args.num_val,
    }
    size = tuple(args.size) if args.size else default_size
    root = make(args.out, splits=splits, size=size, seed=args.seed)
    counts = ", ".join(f"{count} {split}" for split, count in splits.items())
    print(f"{args.dataset}: {counts} images of {size[0]}x{size[1]} (seed {args.seed}) -> {root}")
    print(f"marked as built-in data: {root / BUILTIN_MARKER}")
    return 0


def main(argv=None) -> int:
    return run_tool(lambda: _run(argv), also=(ValueError, OSError))


if __name__ == "__main__":
    sys.exit(main())
