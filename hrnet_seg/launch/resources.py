"""What a Slurm job asks the cluster for, turned into submitit's executor parameters.

One task per GPU (the DDP convention mmengine, torchrun and submitit share); with no
GPUs (``gpus_per_node=0``) each node runs ``tasks_per_node`` CPU processes over gloo.
A GPU-less job never sends a GPU request: Slurm rejects ``--gres``/``--gpus-per-node``
at submit time on a node without GPUs (``Invalid generic resource``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import UserError

# submitit's default pre-timeout signal lead; long enough to finish one iteration and
# write a W48 checkpoint (~0.8 GB) to a shared filesystem.
DEFAULT_SIGNAL_DELAY_S = 120

_SBATCH_KEY = re.compile(r"^[a-z][a-z0-9-]*$")


class ResourceError(UserError, ValueError):
    """A resource request that cannot work; the message names the flag."""


# sbatch --time: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS (man sbatch).
_TIME_FORMATS = "MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"


def parse_time_min(text: str) -> int:
    """A Slurm time limit (``--time``) in whole minutes, seconds rounded up:
    ``"90"`` -> 90, ``"24:00:00"`` -> 1440, ``"1-12"`` -> 2160."""
    days, dash, clock = text.strip().rpartition("-")
    parts = clock.split(":")
    numbers = [days, *parts] if dash else parts
    if not all(p.isdigit() for p in numbers) or len(parts) > 3:
        raise ResourceError(f"--time {text!r}: expected {_TIME_FORMATS}, e.g. 24:00:00")
    values = [int(p) for p in parts]
    if dash:  # D-HH[:MM[:SS]]
        hours, minutes, seconds = (values + [0, 0])[:3]
        hours += 24 * int(days)
    elif len(values) == 3:  # HH:MM:SS
        hours, minutes, seconds = values
    else:  # MM[:SS]
        hours, (minutes, seconds) = 0, (values + [0])[:2]
    total_s = 3600 * hours + 60 * minutes + seconds
    return -(-total_s // 60)


@dataclass(frozen=True, kw_only=True)
class SlurmResources:
    """Resources of one training job (every run of a sweep gets the same).

    Args:
        nodes: number of nodes.
        gpus_per_node: GPUs per node; 0 runs on CPUs with gloo.
        tasks_per_node: processes per node when ``gpus_per_node == 0`` (with GPUs it
            is always ``gpus_per_node``).
        cpus_per_task: CPU cores per process (data-loading workers + 1).
        mem_gb: memory per node in GB; None leaves the partition's default.
        time_min: wall-clock limit in minutes.
        partition, account, qos, constraint: passed to sbatch as they are.
        job_name: the Slurm job name.
        signal_delay_s: seconds before the time limit at which Slurm sends the
            checkpoint signal (USR2); the job saves and requeues itself then.
        extra: further sbatch options, ``{"exclusive": True, "mail-type": "END"}``.
        setup: shell lines run in the batch script before ``srun`` (module loads,
            ``source venv/bin/activate``).
    """

    nodes: int = 1
    gpus_per_node: int = 0
    tasks_per_node: int = 1
    cpus_per_task: int = 4
    mem_gb: float | None = None
    time_min: int = 60
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    job_name: str = "hrnet_seg"
    signal_delay_s: int = DEFAULT_SIGNAL_DELAY_S
    extra: dict = field(default_factory=dict)
    setup: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("nodes", "cpus_per_task", "time_min", "tasks_per_node"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ResourceError(
                    f"--{name.replace('_', '-')} must be an integer >= 1, got {value!r}"
                )
        if not isinstance(self.gpus_per_node, int) or self.gpus_per_node < 0:
            raise ResourceError(
                "--gpus-per-node must be an integer >= 0 (0: CPU and gloo), "
                f"got {self.gpus_per_node!r}"
            )
        if self.mem_gb is not None and not self.mem_gb > 0:
            raise ResourceError(f"--mem-gb must be > 0, got {self.mem_gb!r}")
        if not 0 <= self.signal_delay_s < self.time_min * 60:
            raise ResourceError(
                f"--signal-delay-s must be in [0, time limit = {self.time_min * 60} s), "
                f"got {self.signal_delay_s!r}"
            )
        if not self.job_name or any(c.isspace() for c in self.job_name):
            raise ResourceError(f"--job-name must be a non-empty word, got {self.job_name!r}")
        for key in self.extra:
            if not isinstance(key, str) or not _SBATCH_KEY.match(key.replace("_", "-")):
                raise ResourceError(
                    f"extra sbatch option {key!r} is not an sbatch long option name "
                    "(write it as in `sbatch --help` without dashes, e.g. 'mail-type')"
                )
        if self.gpus_per_node and self.tasks_per_node not in (1, self.gpus_per_node):
            raise ResourceError(
                f"--tasks-per-node {self.tasks_per_node} with --gpus-per-node "
                f"{self.gpus_per_node}: GPU jobs run one task per GPU; drop --tasks-per-node"
            )

    @property
    def ntasks_per_node(self) -> int:
        return self.gpus_per_node or self.tasks_per_node

    @property
    def world_size(self) -> int:
        return self.nodes * self.ntasks_per_node

    def slurm_parameters(self) -> dict:
        """Keyword arguments of ``submitit.SlurmExecutor.update_parameters``."""
        params = dict(
            job_name=self.job_name,
            nodes=self.nodes,
            ntasks_per_node=self.ntasks_per_node,
            cpus_per_task=self.cpus_per_task,
            time=self.time_min,
            signal_delay_s=self.signal_delay_s,
        )
        if self.gpus_per_node:
            params["gpus_per_node"] = self.gpus_per_node
        if self.mem_gb is not None:
            params["mem"] = _mem(self.mem_gb)
        for name in ("partition", "account", "qos", "constraint"):
            if getattr(self, name) is not None:
                params[name] = getattr(self, name)
        if self.setup:
            params["setup"] = list(self.setup)
        # One task that dies (a crash, a lost node) ends the step, instead of srun waiting
        # for it while the others sit in a collective until their timeout and beyond.
        params["srun_args"] = ["--kill-on-bad-exit=1"]
        # Requeue on preemption needs it on clusters whose default is --no-requeue.
        extra = {"requeue": True, **{k.replace("_", "-"): v for k, v in self.extra.items()}}
        params["additional_parameters"] = extra
        return params

    def local_parameters(self) -> dict:
        """Keyword arguments of ``submitit.LocalExecutor.update_parameters``."""
        return dict(
            nodes=1,
            tasks_per_node=self.ntasks_per_node,
            gpus_per_node=self.gpus_per_node,
            cpus_per_task=self.cpus_per_task,
            timeout_min=self.time_min,
            signal_delay_s=self.signal_delay_s,
        )


def _mem(gb: float) -> str:
    return f"{int(gb)}G" if gb == int(gb) else f"{int(round(gb * 1024))}M"


def parse_extra(items: list[str] | None) -> dict:
    """``["mail-type=END", "exclusive"]`` (the ``--sbatch`` flag) -> sbatch options."""
    extra: dict = {}
    for item in items or ():
        key, sep, value = item.removeprefix("--").partition("=")
        if not key:
            raise ResourceError(f"--sbatch {item!r}: expected OPTION=VALUE or OPTION")
        extra[key] = value if sep else True
    return extra
