"""mmengine's Runner with the project's model-level fixes applied before wrapping."""

from __future__ import annotations

from mmengine.device import get_device
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import RUNNERS

from ..models.sync_bn import fallback_sync_bn


@RUNNERS.register_module()
class SegRunner(Runner):
    """A Runner whose SyncBN layers fall back to BN, with one warning, wherever they
    cannot synchronise: mmengine reverts them only for non-distributed runs, and a
    CPU (gloo) process group crashes in ``SyncBatchNorm``."""

    def wrap_model(self, model_wrapper_cfg, model):
        if not is_model_wrapper(model):
            model = fallback_sync_bn(model, device_type=get_device())
        return super().wrap_model(model_wrapper_cfg, model)
