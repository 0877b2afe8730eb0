"""Preemption for ``srun python tools/train.py --launcher slurm`` (slurm/train.sbatch),
the path for clusters without submitit: the same PreemptionHook as the submitit job;
the requeue is ``scontrol requeue`` and the count Slurm's ``SLURM_RESTART_COUNT``."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager

from .job import DEFAULT_MAX_REQUEUES
from .preemption import FLAG, Preempted, add_preemption_hook, exit_after_preemption

MAX_REQUEUES_ENV = "HRNET_SEG_MAX_REQUEUES"


@contextmanager
def preemptible(cfg):
    """Install the signal flag and the hook; on :class:`Preempted`, requeue (SIGUSR2)
    or just stop (SIGTERM), and exit; on an error in a job of several tasks, end the job
    (``distributed.end_job_after_failure``)."""
    from .distributed import end_job_after_failure, use_allocated_cpus

    use_allocated_cpus()  # the task's setup, as TrainJob does it
    add_preemption_hook(cfg)
    FLAG.install()
    try:
        yield
    except Preempted as stop:
        restarts = int(os.environ.get("SLURM_RESTART_COUNT", 0))
        limit = int(os.environ.get(MAX_REQUEUES_ENV, DEFAULT_MAX_REQUEUES))
        exit_after_preemption(
            stop,
            rank=int(os.environ.get("SLURM_PROCID", 0)),
            restarts=restarts,
            limit=limit,
            limit_setting=f"{MAX_REQUEUES_ENV}={limit}",
            requeue=lambda: _scontrol_requeue(restarts=restarts, limit=limit),
            resubmit_hint="Submit it again to continue.",
        )
    except Exception as exc:
        if int(os.environ.get("SLURM_NTASKS", 1)) > 1:  # as TrainJob: end the whole job
            end_job_after_failure(exc, rank=int(os.environ.get("SLURM_PROCID", 0)))
        raise


def _scontrol_requeue(*, restarts: int, limit: int) -> None:
    job = os.environ["SLURM_JOB_ID"]
    subprocess.run(["scontrol", "requeue", job], check=False, timeout=60)
    print(f"requeued Slurm job {job} (restart {restarts + 1} of at most {limit})")
