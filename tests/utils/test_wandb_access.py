"""wandb's teardown waits for its service process without a limit; ours does not."""

from __future__ import annotations

import shutil
import subprocess
import time

import wandb

from hrnet_seg.utils import wandb_access


def test_a_hung_service_is_killed_after_the_timeout(tmp_path, monkeypatch):
    # A child process named like wandb's service, and a teardown that waits for it,
    # as wandb.teardown() does (seen hanging after a sign-in to an unreachable server).
    fake = tmp_path / "wandb-core"
    shutil.copy(shutil.which("sleep"), fake)
    service = subprocess.Popen([str(fake), "300"])
    monkeypatch.setattr(wandb, "teardown", service.wait)
    start = time.monotonic()
    assert wandb_access.teardown(timeout_s=0.5) is False
    # The service would sleep 300 s; 60 s leaves room for a loaded machine.
    assert time.monotonic() - start < 60
    assert service.poll() is not None  # killed


def test_a_quick_teardown_is_left_alone(monkeypatch):
    calls = []
    monkeypatch.setattr(wandb, "teardown", lambda: calls.append(1))
    assert wandb_access.teardown(timeout_s=5) is True and calls == [1]
