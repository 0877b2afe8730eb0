"""Command-line flags shared by tools/train.py, tools/test.py and the Slurm launcher
(mmseg's names), and :class:`TrainOptions`, the training options they carry."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields

from mmengine.config import DictAction


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """The options of a training run beyond its config and ``--cfg-options``: the one
    source for ``tools/train.py``, the Slurm launcher and its job. A new option is a field
    here, its flag in :func:`add_train_args`, and its effect in ``engine.config.configure``.

    Args:
        data_root: dataset root (else ``$HRNET_SEG_DATA``, else the config's).
        amp: mixed precision (bf16 where supported, else fp16 with loss scaling).
        seed: random seed; None: mmengine draws one (the launcher draws it once at
            submission instead, so that every restart keeps the data order).
        deterministic: deterministic algorithms (slower).
        no_pretrained: train the backbone from scratch.
    """

    data_root: str | None = None
    amp: bool = False
    seed: int | None = None
    deterministic: bool = False
    no_pretrained: bool = False

    def __post_init__(self) -> None:
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            raise ValueError(f"seed must be an integer >= 0 or None, got {self.seed!r}")
        if self.data_root is not None and not isinstance(self.data_root, str):
            raise ValueError(f"data_root must be a path or None, got {self.data_root!r}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainOptions:
        """The options parsed by a parser that :func:`add_train_args` extended."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})


def add_data_root_arg(parser) -> None:
    parser.add_argument(
        "--data-root", help="dataset root (else $HRNET_SEG_DATA, else the config's data_root)"
    )


def add_train_args(parser) -> None:
    """The flags of :class:`TrainOptions` (a parser or an argument group)."""
    add_data_root_arg(parser)
    parser.add_argument(
        "--amp",
        action="store_true",
        help="mixed precision (bf16 where supported, else fp16 with loss scaling)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        help="random seed (default: a random one; the Slurm launcher draws it once at "
        "submission, so that every restart keeps the data order)",
    )
    parser.add_argument(
        "--deterministic", action="store_true", help="deterministic algorithms (slower)"
    )
    parser.add_argument(
        "--no-pretrained", action="store_true", help="train the backbone from scratch"
    )


def int_at_least(minimum: int):
    """An argparse ``type``: an integer >= ``minimum``, else one error line naming it."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return parse


_seed = int_at_least(0)


# A flag of several values (nargs="+") takes every word up to the next flag, so in
# `tools/train.py --cfg-options a=1 configs/x.py` the config becomes an option value: the
# parser then asks for the config it was given, or (mmengine's DictAction) raises on the
# word without "=". These actions refuse such a word with one argparse error line (exit 2)
# that names the flag and the fix.
_POSITIONAL_FIRST = "before {flag}, whose values run up to the next flag"


class ValuesAction(argparse.Action):
    """``nargs="+"`` values that are never config files: a value that ends like one
    (``.py``, ``.yml``, ``.yaml``, ``.json``; no ``=``) is a positional argument written
    after the flag."""

    def __call__(self, parser, namespace, values, option_string=None):
        from .config import CONFIG_SUFFIXES

        for value in values:
            if value.endswith(CONFIG_SUFFIXES) and "=" not in value:
                raise argparse.ArgumentError(
                    self,
                    f"{value!r} looks like a config file: write the config (and any other "
                    "positional argument) " + _POSITIONAL_FIRST.format(flag=option_string),
                )
        setattr(namespace, self.dest, list(values))


class CfgOptionsAction(DictAction):
    """mmengine's ``--cfg-options`` parser; a value without ``=`` is an argparse error
    naming the flag (mmengine's own raises a ``ValueError`` traceback)."""

    def __call__(self, parser, namespace, values, option_string=None):
        for value in values:
            if "=" not in value:
                raise argparse.ArgumentError(
                    self,
                    f"{value!r} is not KEY=VALUE (e.g. train_cfg.max_iters=1000); if it is "
                    "the config (or another positional argument), write it "
                    + _POSITIONAL_FIRST.format(flag=option_string),
                )
        super().__call__(parser, namespace, values, option_string)


def add_cfg_options_arg(
    parser, *, help: str = "override config settings, key=value (mmengine syntax)"
) -> None:
    """``--cfg-options KEY=VALUE ...``, as every tool that loads a config reads it."""
    parser.add_argument("--cfg-options", nargs="+", action=CfgOptionsAction, help=help)


def add_run_args(parser: argparse.ArgumentParser, *, work_dir_help: str) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local-rank``."""
    parser.add_argument("--work-dir", help=work_dir_help)
    add_cfg_options_arg(parser)
    parser.add_argument(
        "--launcher",
        choices=["none", "pytorch", "slurm", "mpi"],
        default="none",
        help="how the processes of a distributed run were started: pytorch (torchrun), "
        "slurm (srun, as slurm/train.sbatch does), mpi; none: one process",
    )
    parser.add_argument(
        "--local_rank",
        "--local-rank",
        type=int,
        default=0,
        help="set by torch.distributed.launch; torchrun and srun use the environment",
    )


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
