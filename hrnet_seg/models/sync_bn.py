"""SyncBN that falls back to BN when it cannot synchronise.

The zoo configs use SyncBN, as the published recipes do (statistics over the whole
multi-GPU batch). On a single GPU, on CPU, or in a CPU (gloo) process group, there is
nothing to synchronise or ``SyncBatchNorm`` refuses the device; the reference code then
crashes ("Default process group has not been initialized" or "SyncBatchNorm expected
input tensor to be on GPU"). Here the layers become plain BN, with one warning.
"""

from __future__ import annotations

import warnings

import torch.distributed as dist
import torch.nn as nn
from mmengine.model import revert_sync_batchnorm


class SyncBNFallbackWarning(UserWarning):
    """SyncBN layers were converted to BN."""


def sync_bn_fallback_reason(device_type: str) -> str | None:
    """Why SyncBN cannot synchronise in this process, or None when it can."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return "the run is not distributed"
    if device_type != "cuda":
        return f"SyncBatchNorm needs CUDA devices and this run is on {device_type}"
    return None


def fallback_sync_bn(model: nn.Module, *, device_type: str) -> nn.Module:
    """Convert every ``SyncBatchNorm`` in ``model`` to BN when it cannot synchronise.

    Emits one :class:`SyncBNFallbackWarning` per converted model; returns the model
    unchanged when it has no SyncBN or SyncBN can work.
    """
    count = sum(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    reason = sync_bn_fallback_reason(device_type) if count else None
    if reason is None:
        return model
    warnings.warn(
        f"SyncBN falls back to BN ({count} layers): {reason}. Each process normalises over "
        f"its own batch; set norm_cfg=dict(type='BN') in the config to silence this.",
        SyncBNFallbackWarning,
        stacklevel=2,
    )
    return revert_sync_batchnorm(model)
