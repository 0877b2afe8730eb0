"""Rank our runs against the published HRNet figures.

    python tools/leaderboard.py work_dirs/ [--dataset cityscapes] [--out work_dirs/leaderboard]
    python tools/leaderboard.py --wandb my-team/hrnet_seg --filter group=sweep1 --dataset cityscapes
    python tools/leaderboard.py work_dirs/ --wandb-log my-team/hrnet_seg --out work_dirs/leaderboard

Each WORK_DIR is a run's work dir or a folder searched for results.json (training runs and
tools/test.py runs alike) and for offline W&B run files (wandb/offline-run-*/run-*.wandb:
a run killed before its results.json, a wandb dir copied off a cluster); a benchmark.json
(tools/benchmark.py --json) beside it adds params, GFLOPs and fps. --wandb reads a W&B
project through the public API (needs WANDB_API_KEY or `wandb login`). With --out, writes
leaderboard.{md,csv,json,png} there; --wandb-log logs the board as a W&B table.

Runs on built-in data (tools/make_demo_data.py) get sections of their own, never ranked
against the published figures; the tools/test.py evaluations of a checkpoint (whole,
slide, tta) join its training run's row as columns.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import hrnet_seg  # noqa: F401  (mmcv-lite compat layer before mmseg)
from hrnet_seg.errors import run_tool
from hrnet_seg.leaderboard import (
    DEFAULT_ORDER,
    ProjectQuery,
    RunFilter,
    leaderboard,
    log_leaderboard,
    plot,
    to_csv,
    to_json,
    to_markdown,
    to_terminal,
)
from hrnet_seg.leaderboard.speed_plot import PLOT_X
from hrnet_seg.leaderboard.wandb_project import DEFAULT_TIMEOUT_S


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("work_dirs", nargs="*", metavar="WORK_DIR", help="runs to rank")
    parser.add_argument("--dataset", help="cityscapes or ade20k (default: both, grouped)")
    parser.add_argument("--metric", default="mIoU", help="mIoU (default), mIoU_ms_flip, mAcc")
    parser.add_argument(
        "--no-references", action="store_true", help="leave out the published figures"
    )
    parser.add_argument("--x", default="fps", choices=PLOT_X, help="plot axis (default fps)")
    parser.add_argument("--out", help="write leaderboard.{md,csv,json,png} to this folder")
    wandb = parser.add_argument_group("W&B")
    wandb.add_argument(
        "--wandb", metavar="ENTITY/PROJECT", help="also rank this W&B project's runs"
    )
    wandb.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keep runs with KEY=VALUE (repeatable, all must hold): dataset=, group=,\n"
        "job_type=, tags=a,b (any of them), state=finished; config.<key>= and\n"
        "summary_metrics.<key>= for --wandb runs only",
    )
    wandb.add_argument(
        "--order-by",
        default=DEFAULT_ORDER,
        metavar="KEY",
        help="W&B sort key, picks the runs --max-runs keeps: a summary key (mIoU, fps),\n"
        "config.<key> or created_at; descending unless it starts with + (a leading\n"
        f"minus needs --order-by=-KEY; default {DEFAULT_ORDER})",
    )
    wandb.add_argument("--max-runs", type=int, help="the first N W&B runs in --order-by")
    wandb.add_argument(
        "--wandb-timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"seconds per W&B request (default {DEFAULT_TIMEOUT_S:g})",
    )
    wandb.add_argument(
        "--wandb-log",
        metavar="ENTITY/PROJECT",
        help="log the board (table and plot) to a new run of job type 'leaderboard';\n"
        "offline into WANDB_DIR, --out or . when W&B cannot be reached",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    filters = [RunFilter.parse(text) for text in args.filter]
    project = None
    if args.wandb:
        # --dataset narrows the board anyway; asking the server saves fetching the rest.
        query_filters = list(filters)
        if args.dataset and not any(f.key == "dataset" for f in filters):
            query_filters.append(RunFilter(key="dataset", value=args.dataset))
        project = ProjectQuery(
            path=args.wandb,
            filters=tuple(query_filters),
            order=args.order_by,
            timeout=args.wandb_timeout,
            max_runs=args.max_runs,
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = leaderboard(
            args.work_dirs,
            project=project,
            filters=filters,
            references=not args.no_references,
            dataset=args.dataset,
            metric=args.metric,
        )
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(to_terminal(rows))
    png = None
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "leaderboard.md").write_text(to_markdown(rows))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            png = plot(rows, out / "leaderboard.png", x=args.x)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        written = [
            out / "leaderboard.md",
            to_csv(rows, out / "leaderboard.csv"),
            to_json(rows, out / "leaderboard.json"),
            png,
        ]
        for path in written:
            print(f"wrote {path}")
    if args.wandb_log:
        log_to_wandb(rows, args, png)
    return 0


def log_to_wandb(rows, args: argparse.Namespace, png: Path | None) -> None:
    config = {
        "work_dirs": args.work_dirs,
        "wandb": args.wandb,
        "filters": args.filter,
        "dataset": args.dataset,
        "metric": args.metric,
        "references": not args.no_references,
    }
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if png is None:  # the plot goes with the table, --out or not
            png = plot(rows, Path(tmp) / "leaderboard.png", x=args.x)
        logged = log_leaderboard(
            rows, project=args.wandb_log, plot=png, out=args.out, config=config
        )
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if logged is None:
        print("W&B is disabled (WANDB_MODE=disabled): the board was not logged")
    elif logged.url:
        print(f"logged the board to W&B: {logged.url}")
    else:
        print(f"logged the board to an offline W&B run: {logged.run_dir}")


if __name__ == "__main__":
    sys.exit(run_tool(main))
