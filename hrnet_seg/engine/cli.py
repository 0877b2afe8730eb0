"""Command-line flags shared by tools/train.py and tools/test.py (mmseg's names)."""

from __future__ import annotations

import argparse
import os


def add_run_args(parser: argparse.ArgumentParser, *, work_dir_help: str) -> None:
    """``--work-dir``, ``--data-root``, ``--cfg-options``, ``--launcher``, ``--local-rank``."""
    from mmengine.config import DictAction

    parser.add_argument("--work-dir", help=work_dir_help)
    parser.add_argument("--data-root", help="dataset root (else $HRNET_SEG_DATA, else config)")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override config settings, key=value (mmengine syntax)",
    )
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)


def parse_run_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    # torch.distributed.launch passes --local-rank; mmengine reads the environment.
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def resume_command(argv: list[str], *, work_dir: str) -> str:
    """The command that continues a run started with ``argv`` (script first): the same
    flags, with ``--work-dir`` and a plain ``--resume`` (the newest checkpoint)."""
    import shlex

    kept: list[str] = []
    args = iter(argv[1:])
    for arg in args:
        if arg == "--work-dir":
            next(args, None)
        elif arg == "--resume":
            # As argparse reads nargs="?": the next word is its PATH unless it is a flag.
            following = next(args, None)
            if following is not None and following.startswith("-"):
                kept.append(following)
        elif not arg.startswith(("--work-dir=", "--resume=")):
            kept.append(arg)
    return shlex.join(["python", argv[0], *kept, "--work-dir", work_dir, "--resume"])
