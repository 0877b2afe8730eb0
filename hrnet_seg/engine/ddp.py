"""Data parallelism across processes and nodes: how the replicas talk and whether they agree.

* The process group's collective timeout (``env_cfg.dist_cfg.timeout``, seconds): a rank
  whose peer is gone (a lost node, a crashed process) fails after this long instead of
  blocking in an all-reduce until the job's time limit (open-mmlab/mmsegmentation #3591).
* The DDP wrapper: gradient buckets of ``ddp_bucket_cap_mb`` MB (PyTorch's default 25)
  and an optional communication hook, ``ddp_comm_hook = "bf16_compress"``, which sends
  gradients in bfloat16 (half the bytes; README "Scaling").
* Where every rank runs (host, LOCAL_RANK) and a digest of each rank's parameters, so a
  run's record shows its placement and that the replicas ended identical.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import socket

import torch

from ..errors import UserError

# The hooks of torch.distributed.algorithms.ddp_comm_hooks.default_hooks, by config name.
COMM_HOOKS = ("bf16_compress", "fp16_compress")
DEFAULT_BUCKET_CAP_MB = 25  # torch.nn.parallel.DistributedDataParallel's default


class DDPConfigError(UserError, ValueError):
    """A DDP setting of the config that cannot work; the message names the key."""


def check_ddp_cfg(cfg) -> None:
    """``ddp_comm_hook``, ``ddp_bucket_cap_mb`` and ``env_cfg.dist_cfg.timeout`` are valid
    (checked before training starts, also in one-process runs that never use them)."""
    hook = cfg.get("ddp_comm_hook")
    if hook is not None and hook not in COMM_HOOKS:
        raise DDPConfigError(
            f"ddp_comm_hook={hook!r}: expected None (fp32 gradients) or one of "
            f"{', '.join(repr(h) for h in COMM_HOOKS)}"
        )
    cap = cfg.get("ddp_bucket_cap_mb", DEFAULT_BUCKET_CAP_MB)
    if isinstance(cap, bool) or not isinstance(cap, int | float) or not cap > 0:
        raise DDPConfigError(f"ddp_bucket_cap_mb={cap!r}: expected a number of MB > 0 (e.g. 25)")
    timeout = ((cfg.get("env_cfg") or {}).get("dist_cfg") or {}).get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
    ):
        raise DDPConfigError(
            f"env_cfg.dist_cfg.timeout={timeout!r}: expected seconds > 0 (e.g. 600), the "
            "longest a rank may wait in one collective before the run fails"
        )


def process_group_kwargs(dist_cfg) -> dict:
    """``torch.distributed.init_process_group`` arguments from ``env_cfg.dist_cfg`` (its
    ``timeout`` in seconds, as in mmengine's ``init_dist``; the backend is chosen apart)."""
    kwargs = {k: v for k, v in (dist_cfg or {}).items() if k != "backend"}
    if kwargs.get("timeout") is not None:
        kwargs["timeout"] = datetime.timedelta(seconds=kwargs["timeout"])
    return kwargs


def wrapper_cfg(cfg, *, device: str) -> dict:
    """The DDP wrapper's config: mmengine's defaults (no buffer broadcast, unused
    parameters per config) plus the bucket size. On CPU, no device ids (mmengine would
    pin ``device_ids=[LOCAL_RANK]``, a GPU notion)."""
    wrapper = dict(
        type="MMDistributedDataParallel",
        broadcast_buffers=False,
        find_unused_parameters=cfg.get("find_unused_parameters", False),
        bucket_cap_mb=cfg.get("ddp_bucket_cap_mb", DEFAULT_BUCKET_CAP_MB),
    )
    if device == "cpu":
        wrapper["device_ids"] = None
    return wrapper


def register_comm_hook(model, name: str | None) -> None:
    """Attach the named gradient communication hook to a DDP-wrapped model."""
    if name is None:
        return
    hooks = {"bf16_compress": _bf16_compress, "fp16_compress": _fp16_compress}
    if name not in hooks:
        raise DDPConfigError(f"ddp_comm_hook={name!r}: expected one of {sorted(hooks)}")
    if not isinstance(model, torch.nn.parallel.DistributedDataParallel):
        return  # one process: nothing is communicated
    model.register_comm_hook(state=None, hook=hooks[name])


# torch's own hooks, under names of ours: DDP refuses a hook *named* bf16_compress_hook
# unless CUDA with NCCL >= 2.10 is present (older NCCL lacked bf16), but gloo reduces
# bfloat16 on CPUs too, and the CPU runs (tests, the scaling benchmark) need it.
def _bf16_compress(state, bucket):
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

    return default_hooks.bf16_compress_hook(state, bucket)


def _fp16_compress(state, bucket):
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

    return default_hooks.fp16_compress_hook(state, bucket)


def placement() -> list[dict]:
    """Every rank's host, LOCAL_RANK and pid, in rank order (a collective: all ranks call it)."""
    from mmengine.dist import all_gather_object, get_rank

    here = {
        "rank": get_rank(),
        "host": socket.gethostname(),
        "local_rank": int(os.environ.get("LOCAL_RANK", 0)),
        "pid": os.getpid(),
    }
    return all_gather_object(here)


def parameter_digest(model: torch.nn.Module) -> str:
    """SHA-256 of the parameters' names, dtypes, shapes and bytes, in module order."""
    digest = hashlib.sha256()
    with torch.no_grad():
        for name, param in model.named_parameters():
            tensor = param.detach().to("cpu").contiguous()
            digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
            digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def replica_digests(model: torch.nn.Module) -> list[str]:
    """Each rank's :func:`parameter_digest`, in rank order (a collective)."""
    from mmengine.dist import all_gather_object

    return all_gather_object(parameter_digest(model))
