"""Launching on Slurm with submitit: the job class, its DDP environment, checkpoint and
requeue on preemption, sweeps as job arrays, their manifest and status.

The only layer that imports submitit.
"""

from .job import TrainJob
from .preemption import Preempted, PreemptionHook
from .resources import SlurmResources

__all__ = ["PreemptionHook", "Preempted", "SlurmResources", "TrainJob"]
