"""Score a folder of prediction PNGs (official benchmark formats) against a dataset split.

    python tools/evaluate.py --dataset cityscapes --data-root data/cityscapes --split val \
        --pred-dir work_dirs/preds --json work_dirs/preds/metrics.json

Cityscapes predictions are `<city>_<seq>_<frame>_leftImg8bit.png` holding label ids
(`--train-ids`: train ids); ADE20K predictions are `<stem>.png` holding 1..150. The
scores are those of training-time validation (the same confusion matrix) and equal the
official Cityscapes evaluator's class IoU.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import hrnet_seg  # noqa: F401  (mmcv-lite compat layer before mmseg)
from hrnet_seg.datasets.formats import DATASETS
from hrnet_seg.errors import run_tool
from hrnet_seg.evaluation import evaluate_folder, format_table, nan_to_none


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset", required=True, choices=DATASETS, help="format of the ground truth"
    )
    parser.add_argument("--data-root", required=True, help="e.g. data/cityscapes")
    parser.add_argument("--split", default="val", help="val (default), train, ...")
    parser.add_argument("--pred-dir", required=True, help="folder of prediction PNGs")
    parser.add_argument(
        "--train-ids",
        action="store_true",
        help="predictions hold train ids (Cityscapes 0..18, ADE20K 0..149)",
    )
    parser.add_argument("--json", help="write the scores (percent) to this JSON file")
    parser.add_argument("--nproc", type=int, default=1, help="worker processes (default 1)")
    return parser.parse_args(argv)


def _run(argv=None) -> int:
    args = parse_args(argv)
    result = evaluate_folder(
        dataset=args.dataset,
        data_root=args.data_root,
        split=args.split,
        pred_dir=args.pred_dir,
        train_ids=args.train_ids,
        nproc=args.nproc,
    )
    print(format_table(result))
    print(f"{result['num_images']} images of {args.dataset} {args.split}")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        # JSON has no NaN: classes absent from the split are null.
        path.write_text(json.dumps(nan_to_none(result), indent=2, allow_nan=False) + "\n")
        print(f"scores written to {path}")
    return 0


def main(argv=None) -> int:
    return run_tool(lambda: _run(argv))


if __name__ == "__main__":
    sys.exit(main())
