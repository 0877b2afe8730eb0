"""Gather the finished runs' results.json of a submission into collected.json, best
mIoU first, for the leaderboard (python tools/leaderboard.py ROOT/NAME).

    python slurm/collect.py work_dirs/NAME
"""

from __future__ import annotations

import argparse
import sys

from hrnet_seg.errors import run_tool


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Collect the finished runs of a submission")
    parser.add_argument("manifest", help="manifest.json, or the folder that holds it")
    args = parser.parse_args(argv)
    from hrnet_seg.launch.cli import collect

    return collect(args.manifest)


if __name__ == "__main__":
    sys.exit(run_tool(main))
