"""Shared test helpers: reference models with random weights, generated checkpoints."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import hrnet_seg  # noqa: F401  (compat layer first, then mmseg)

# Training runs in tests (and the tools they start) log nothing to W&B, unless a test of
# the W&B hook asks for it.
os.environ.setdefault("WANDB_MODE", "disabled")

REPO = Path(__file__).resolve().parents[1]

# A subprocess timeout in this suite guards against a hang; it never decides whether a
# test passes. It is generous because the suite must pass on one core beside a CPU hog,
# where a tool that takes 20 s on a quiet machine takes minutes.
HANG_GUARD_S = 1800

# pytest-xdist (make test runs `-n auto`): each worker gets its share of the cores, so
# two workers' torch thread pools do not fight over the same cores (OpenMP threads that
# oversubscribe run many times slower). Tools the tests start inherit the variable.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _threads = max(1, len(os.sched_getaffinity(0)) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(_threads))
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def free_port() -> int:
    """A TCP port no one listens on now: fixed ports collide when tests run in parallel."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _quiet_mmengine_logger():
    # mmengine prints one INFO line per parameter on init_weights().
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter and norm statistic well-scaled random values, so that
    outputs stay O(1) through 50+ layers and any mis-wired weight shows."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) / fan_in**0.5)
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.1)
            elif isinstance(module, torch.nn.modules.batchnorm._NormBase):
                module.weight.copy_(torch.rand(module.weight.shape, generator=gen) * 0.5 + 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.1)
                module.running_mean.copy_(
                    torch.randn(module.running_mean.shape, generator=gen) * 0.1
                )
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=gen) + 0.5)
    return model


def mmseg_hrnet(arch: str = "W18") -> torch.nn.Module:
    """mmseg 1.2.2's own HRNet (the parity reference) with random weights."""
    from mmseg.models.backbones import HRNet

    from hrnet_seg.models import resolve_arch

    return randomize(HRNet(extra=resolve_arch(arch).to_mmseg_extra()))


def run_python(*args: str, cwd: Path = REPO, timeout: float = HANG_GUARD_S, env=None):
    """Run `python ARGS` from the repo root, as a user would."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
