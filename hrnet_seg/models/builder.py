"""Building segmentors from configs, outside or inside a Runner."""

from __future__ import annotations

import torch.nn as nn
from mmengine.config import ConfigDict
from mmseg.registry import MODELS

from .sync_bn import fallback_sync_bn


def build_segmentor(model_cfg: dict | ConfigDict, *, device_type: str = "cpu") -> nn.Module:
    """Build ``cfg.model`` with mmseg's registry; SyncBN falls back to BN when it
    cannot synchronise (see :mod:`hrnet_seg.models.sync_bn`)."""
    import mmseg.models  # noqa: F401  (registers EncoderDecoder, FCNHead, OCRHead, ...)
    from mmengine.registry import DefaultScope

    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance("hrnet_seg_build", scope_name="mmseg")
    model = MODELS.build(model_cfg)
    return fallback_sync_bn(model, device_type=device_type)
