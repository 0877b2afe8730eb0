"""Where the runs of a submission stand: queued, running, done or failed, with the
last iteration and the latest mIoU; failures with their traceback and log paths.

    python slurm/status.py work_dirs/NAME [--watch]
"""

from __future__ import annotations

import argparse
import sys

from hrnet_seg.errors import run_tool


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Status of a submitted run or sweep")
    parser.add_argument("manifest", help="manifest.json, or the folder that holds it")
    parser.add_argument("--watch", action="store_true", help="poll until every run has ended")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between polls")
    args = parser.parse_args(argv)
    from hrnet_seg.launch.cli import status

    return status(args.manifest, watch=args.watch, poll_s=args.interval)


if __name__ == "__main__":
    sys.exit(run_tool(main))
