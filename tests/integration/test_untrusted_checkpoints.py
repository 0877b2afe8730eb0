"""Crafted checkpoints through every route that loads one (issue 10): each tool stops with
one error line and exit 2, and the payload never runs. The files are the stealthy
variant: a real trained checkpoint plus one extra key, which the loader before the fix
loaded (running the gadget) and evaluated as if nothing had happened."""

from __future__ import annotations

import shutil

import pytest

from hrnet_seg.utils.torch_load import load_checkpoint_file
from tests.conftest import run_python
from tests.integration.conftest import DEMO, tiny_options
from tests.utils.test_torch_load import ATTACKS, malicious_checkpoint

pytestmark = pytest.mark.slow

TRAIN_OPTIONS = [f"{k}={v}" for k, v in tiny_options(2).items()]


def routes(evil, work_dir, data_root):
    """tool arguments per route, each loading ``evil``."""
    train = ["tools/train.py", DEMO, "--data-root", data_root, "--work-dir", work_dir]
    return {
        "test.py": ["tools/test.py", DEMO, evil, "--data-root", data_root, "--work-dir", work_dir],
        "convert_checkpoint.py": ["tools/convert_checkpoint.py", evil, f"{work_dir}/out.pth"],
        "pretrained": [
            *train,
            "--cfg-options",
            *TRAIN_OPTIONS,
            f"model.backbone.pretrained={evil}",
        ],
        "load_from": [*train, "--cfg-options", *TRAIN_OPTIONS, f"load_from={evil}"],
        "resume PATH": [*train, "--resume", evil, "--cfg-options", *TRAIN_OPTIONS],
        "resume auto": [*train, "--resume", "--cfg-options", *TRAIN_OPTIONS],
    }


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("route", list(routes("", "", "")))
def test_every_route_refuses_a_crafted_checkpoint(trained, demo_root, tmp_path, route, attack):
    marker = tmp_path / "payload_ran"
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    # "resume auto" finds it as the newest checkpoint of the work dir.
    evil = str(work_dir / "iter_12.pth") if route == "resume auto" else str(tmp_path / "evil.pth")
    base = load_checkpoint_file(trained / "iter_12.pth")
    malicious_checkpoint(evil, marker, attack, base=base)
    result = run_python(*routes(evil, str(work_dir), str(demo_root))[route])
    assert not marker.exists(), f"the payload ran through {route}"
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    error = result.stderr[result.stderr.index("error: ") :]
    assert error.startswith(f"error: Refused to load checkpoint {evil!r} (torch.load with "), error
    assert error.count("\n") == 1  # one line


def test_real_checkpoints_still_load_through_the_tools(trained, demo_root, tmp_path):
    # The same routes with the honest file (test.py, resume auto; load_from and the
    # layouts are covered by tests/models and tests/integration/test_train.py).
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    shutil.copy(trained / "iter_12.pth", work_dir / "iter_2.pth")
    good = str(trained / "iter_12.pth")
    for route in ("test.py", "resume auto"):
        result = run_python(*routes(good, str(work_dir), str(demo_root))[route])
        assert result.returncode == 0, (route, result.stderr[-3000:])
