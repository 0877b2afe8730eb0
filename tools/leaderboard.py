"""Rank our runs against the published HRNet figures.

    python tools/leaderboard.py work_dirs/ [--dataset cityscapes] [--out work_dirs/leaderboard]

Each WORK_DIR is a run's work dir or a folder searched for results.json (training runs and
tools/test.py runs alike); a benchmark.json (tools/benchmark.py --json) beside it adds
params, GFLOPs and fps. With --out, writes leaderboard.{md,csv,json,png} there.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import hrnet_seg  # noqa: F401  (mmcv-lite compat layer before mmseg)
from hrnet_seg.errors import run_tool
from hrnet_seg.leaderboard import (
    leaderboard,
    plot,
    to_csv,
    to_json,
    to_markdown,
    to_terminal,
)
from hrnet_seg.leaderboard.render import PLOT_X


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work_dirs", nargs="*", metavar="WORK_DIR", help="runs to rank")
    parser.add_argument("--dataset", help="cityscapes or ade20k (default: both, grouped)")
    parser.add_argument("--metric", default="mIoU", help="mIoU (default), mIoU_ms_flip, mAcc")
    parser.add_argument(
        "--no-references", action="store_true", help="leave out the published figures"
    )
    parser.add_argument("--x", default="fps", choices=PLOT_X, help="plot axis (default fps)")
    parser.add_argument("--out", help="write leaderboard.{md,csv,json,png} to this folder")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = leaderboard(
            args.work_dirs,
            references=not args.no_references,
            dataset=args.dataset,
            metric=args.metric,
        )
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(to_terminal(rows))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "leaderboard.md").write_text(to_markdown(rows))
        written = [
            out / "leaderboard.md",
            to_csv(rows, out / "leaderboard.csv"),
            to_json(rows, out / "leaderboard.json"),
            plot(rows, out / "leaderboard.png", x=args.x),
        ]
        for path in written:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
