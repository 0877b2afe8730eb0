"""From a Slurm task's environment to what mmengine's ``pytorch`` launcher reads.

submitit runs one process per task; ``TorchDistributedEnvironment`` turns the Slurm
variables into ``MASTER_ADDR``, ``MASTER_PORT`` (derived from the job id, so two jobs
on one node do not collide), ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``, and mmengine
initialises the process group from those (env://). NCCL on GPUs, gloo on CPUs
(``engine.config.configure`` picks the backend, ``SegRunner`` sets gloo up).
"""

from __future__ import annotations

import os
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
