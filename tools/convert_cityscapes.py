"""Create the `*_gtFine_labelTrainIds.png` maps mmseg trains on, next to each Cityscapes
annotation, like mmseg's tools/dataset_converters/cityscapes.py.

    python tools/convert_cityscapes.py data/cityscapes --nproc 8

Polygons are rendered by cityscapesscripts' json2labelImg(..., "trainIds"); where only
`*_gtFine_labelIds.png` exists, its ids are mapped to train ids. Also writes
`{train,val,test}.txt` image lists into --out-dir (default: the root), as mmseg does.
"""

from __future__ import annotations

import argparse
import sys

import hrnet_seg  # noqa: F401  (compat layer first, then mmseg)
from hrnet_seg.datasets.cityscapes_convert import convert_cityscapes
from hrnet_seg.errors import run_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cityscapes_path", help="Cityscapes root (holds gtFine/, leftImg8bit/)")
    parser.add_argument("--nproc", type=int, default=1, help="worker processes")
    parser.add_argument("-o", "--out-dir", help="where the split lists go (default: the root)")
    return parser.parse_args(argv)


def _run(argv=None) -> int:
    args = parse_args(argv)
    summary = convert_cityscapes(args.cityscapes_path, nproc=args.nproc, out_dir=args.out_dir)
    print(
        f"{args.cityscapes_path}: {summary.from_polygons} trainIds images from polygons, "
        f"{summary.from_label_ids} from labelIds; split lists: {', '.join(summary.split_lists)}"
    )
    return 0


def main(argv=None) -> int:
    return run_tool(lambda: _run(argv), also=(ValueError,))


if __name__ == "__main__":
    sys.exit(main())
