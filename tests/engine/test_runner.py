import warnings

import torch

from hrnet_seg.engine import SegRunner
from hrnet_seg.engine.config import load_config
from hrnet_seg.models import SyncBNFallbackWarning
from tests.conftest import REPO


def test_runner_falls_back_from_syncbn_once(tmp_path):
    cfg = load_config(str(REPO / "configs/hrnet_w18_cityscapes.py"))
    cfg.model.backbone.pretrained = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner = SegRunner(model=cfg.model, work_dir=str(tmp_path), default_scope="mmseg")
    fallbacks = [w for w in caught if issubclass(w.category, SyncBNFallbackWarning)]
    assert len(fallbacks) == 1
    assert "the run is not distributed" in str(fallbacks[0].message)
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in runner.model.modules())
