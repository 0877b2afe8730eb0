"""Preemption for ``srun python tools/train.py --launcher slurm`` (slurm/train.sbatch),
the path for clusters without submitit: the same PreemptionHook as the submitit job;
the requeue is ``scontrol requeue`` and the count Slurm's ``SLURM_RESTART_COUNT``."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager

from .job import DEFAULT_MAX_REQUEUES, RequeueLimitError
from .preemption import FLAG, Preempted, add_preemption_hook

MAX_REQUEUES_ENV = "HRNET_SEG_MAX_REQUEUES"


@contextmanager
def preemptible(cfg):
    """Install the signal flag and the hook; on :class:`Preempted`, requeue (SIGUSR2)
    or just stop (SIGTERM), and exit; on an error in a job of several tasks, end the job
    (``distributed.end_job_after_failure``)."""
    from ..engine.runner import close_distributed
    from .distributed import end_job_after_failure, use_allocated_cpus

    use_allocated_cpus()  # the task's setup, as TrainJob does it
    add_preemption_hook(cfg)
    FLAG.install()
    try:
        yield
    except Preempted as stop:
        close_distributed()
        if not stop.requeue:
            sys.exit(1)
        restarts = int(os.environ.get("SLURM_RESTART_COUNT", 0))
        limit = int(os.environ.get(MAX_REQUEUES_ENV, DEFAULT_MAX_REQUEUES))
        if restarts >= limit:
            raise RequeueLimitError(
                f"{stop}; the job was restarted {restarts} time(s), the limit "
                f"({MAX_REQUEUES_ENV}={limit}). Submit it again to continue."
            ) from None
        if int(os.environ.get("SLURM_PROCID", 0)) == 0:
            job = os.environ["SLURM_JOB_ID"]
            subprocess.run(["scontrol", "requeue", job], check=False, timeout=60)
            print(f"requeued Slurm job {job} (restart {restarts + 1} of at most {limit})")
        sys.exit(1)
    except Exception as exc:
        if int(os.environ.get("SLURM_NTASKS", 1)) > 1:  # as TrainJob: end the whole job
            end_job_after_failure(exc, rank=int(os.environ.get("SLURM_PROCID", 0)))
        raise
