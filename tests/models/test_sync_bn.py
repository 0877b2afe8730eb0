import warnings

import pytest
import torch
import torch.distributed as dist

from hrnet_seg.models import HighResolutionNet, SyncBNFallbackWarning, fallback_sync_bn


def syncbn_model():
    return HighResolutionNet(arch="W18-Small-v1", norm_cfg=dict(type="SyncBN"))


def fake_process_group(monkeypatch, world_size):
    monkeypatch.setattr(dist, "is_available", lambda: True)
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda group=None: world_size)


def test_cpu_process_group_falls_back(monkeypatch):
    # A multi-process CPU (gloo) run: SyncBatchNorm would raise on its first batch.
    fake_process_group(monkeypatch, world_size=2)
    with pytest.warns(
        SyncBNFallbackWarning, match=r"SyncBatchNorm needs CUDA devices and this run is on cpu"
    ):
        model = fallback_sync_bn(syncbn_model(), device_type="cpu")
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())


def test_multi_gpu_keeps_syncbn(monkeypatch):
    fake_process_group(monkeypatch, world_size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SyncBNFallbackWarning)
        model = fallback_sync_bn(syncbn_model(), device_type="cuda")
    assert isinstance(model.bn1, torch.nn.SyncBatchNorm)


def test_single_process_group_falls_back(monkeypatch):
    fake_process_group(monkeypatch, world_size=1)
    with pytest.warns(SyncBNFallbackWarning, match=r"the run is not distributed"):
        fallback_sync_bn(syncbn_model(), device_type="cuda")
