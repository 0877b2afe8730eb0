"""From a Slurm task's environment to what mmengine's ``pytorch`` launcher reads.

submitit runs one process per task; ``TorchDistributedEnvironment`` turns the Slurm
variables into ``MASTER_ADDR``, ``MASTER_PORT`` (derived from the job id, so two jobs
on one node do not collide), ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``, and mmengine
initialises the process group from those (env://). NCCL on GPUs, gloo on CPUs
(``engine.config.configure`` picks the backend, ``SegRunner`` sets gloo up).

Each task computes with as many threads as it has CPUs (``--cpus-per-task``): torch
otherwise starts one per core of the node in every task, and tasks sharing a node
(one per GPU, or several CPU tasks) then fight over the same cores.

A task that fails ends the whole job (:func:`end_job_after_failure`): the others cannot
go on without it, and srun waits for every task to report, which a task on a lost node
never does until Slurm declares the node dead (``SlurmdTimeout``, minutes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class DistInfo:
    rank: int
    local_rank: int
    world_size: int
    local_world_size: int
    nodes: int
    master: str

    @property
    def launcher(self) -> str:
        """mmengine's launcher name: one process needs no process group."""
        return "pytorch" if self.world_size > 1 else "none"


def export_torch_env() -> DistInfo:
    """Export the env:// variables for this submitit task and return what they say.

    Outside a submitit job (a run started in-process for a quick check) it is one
    process: rank 0 of 1.
    """
    import submitit

    try:
        submitit.JobEnvironment()
    except RuntimeError:  # not inside a submitit job
        return DistInfo(0, 0, 1, 1, 1, "localhost")
    env = submitit.helpers.TorchDistributedEnvironment()
    # Requeued runs start with the variables of the previous start already set.
    env.export(set_cuda_visible_devices=False, overwrite=True)
    _pin_visible_gpu(env.local_rank, env.local_world_size)
    return DistInfo(
        rank=env.rank,
        local_rank=int(os.environ["LOCAL_RANK"]),
        world_size=env.world_size,
        local_world_size=env.local_world_size,
        nodes=env.world_size // max(env.local_world_size, 1),
        master=f"{env.master_addr}:{env.master_port}",
    )


def _pin_visible_gpu(local_rank: int, local_world_size: int) -> None:
    """mmengine calls ``torch.cuda.set_device(LOCAL_RANK)``. On clusters that bind one
    GPU to each task (``--gpu-bind``, per-task cgroups) a task sees one device, index 0,
    whatever its local rank."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if local_world_size > 1 and visible is not None and len(visible.split(",")) == 1:
        os.environ["LOCAL_RANK"] = "0"


def use_allocated_cpus() -> int | None:
    """Intra-op threads = ``SLURM_CPUS_PER_TASK`` in a Slurm task (as torchrun sets
    ``OMP_NUM_THREADS``); an explicit ``OMP_NUM_THREADS`` wins. Returns the count set."""
    import torch

    cpus = os.environ.get("SLURM_CPUS_PER_TASK", "")
    if "OMP_NUM_THREADS" in os.environ or not cpus.isdigit() or int(cpus) < 1:
        return None
    torch.set_num_threads(int(cpus))
    return int(cpus)


def end_job_after_failure(exc: BaseException, *, rank: int) -> None:
    """End this Slurm job now, after a task of several failed with ``exc``.

    The other tasks wait for this one in a collective until their timeout; a lost node
    never reports its tasks' end, so srun (``--kill-on-bad-exit`` included) would hold the
    job until Slurm declares the node dead. SIGKILL to the batch step ends the job as
    FAILED at once; Slurm then stops the remaining tasks (SIGTERM, SIGKILL after
    ``KillWait``), which leaves this task the time to record its error.
    """
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return  # not a Slurm job (submitit's local executor, --in-process)
    print(
        f"rank {rank}: {type(exc).__name__}: {str(exc)[:300]}\nrank {rank}: ending Slurm job "
        f"{job} (the other tasks cannot go on without this one)",
        file=sys.stderr,
        flush=True,
    )
    try:
        subprocess.run(["scancel", "--batch", "--signal=KILL", job], check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        print(f"rank {rank}: scancel failed ({err}); the job ends when srun does", file=sys.stderr)
