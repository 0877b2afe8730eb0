"""configs/lite_hrnet_18_cityscapes.py as a user runs it: tools/train.py for 20
iterations on the built-in data, evaluated at the end; tools/test.py on its checkpoint;
tools/benchmark.py (params, FLOPs, inference and training step)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_python
from tests.integration.conftest import read_json, small_crop_options

pytestmark = pytest.mark.slow

CONFIG = "configs/lite_hrnet_18_cityscapes.py"
ITERS = 20


def options() -> list[str]:
    return small_crop_options(ITERS)


@pytest.fixture(scope="module")
def lite_run(tmp_path_factory, demo_root):
    work_dir = tmp_path_factory.mktemp("lite_hrnet_18")
    result = run_python("tools/train.py", CONFIG, "--data-root", str(demo_root), "--work-dir",
                        str(work_dir), "--seed", "0", "--cfg-options", *options())  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return work_dir


def test_trains_20_iterations_and_is_evaluated(lite_run):
    results = read_json(lite_run / "results.json")
    assert results["status"] == "finished"
    assert results["model"]["arch"] == "18"
    assert results["model"]["heads"] == ["HRNetV2FCNHead"]
    assert 0.0 <= results["mIoU"] <= 100.0 and {"aAcc", "mAcc"} <= set(results)
    assert (lite_run / f"iter_{ITERS}.pth").is_file()


def test_its_checkpoint_tests(lite_run, demo_root, tmp_path):
    result = run_python("tools/test.py", CONFIG, str(lite_run / f"iter_{ITERS}.pth"),
                        "--data-root", str(demo_root), "--work-dir", str(tmp_path),
                        "--cfg-options", *options())  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mIoU" in result.stdout + result.stderr


def test_benchmarked_and_ranked(lite_run, tmp_path):
    """tools/benchmark.py --json beside the run adds params, GFLOPs and fps to its row on
    the leaderboard (built-in data: its own section, never ranked against papers)."""
    out = lite_run / "benchmark.json"
    result = run_python("tools/benchmark.py", CONFIG, "--device", "cpu", "--batch", "1",
                        "--crop", "64", "128", "--infer-size", "64", "128",
                        "--flops-size", "512", "1024", "--warmup", "0", "--repeats", "1",
                        "--json", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(out.read_text())
    assert record["params"] > 0 and record["infer_whole_ours_s"] > 0
    assert record["train_ours_img_per_s"] > 0
    board = tmp_path / "board"
    result = run_python("tools/leaderboard.py", str(lite_run), "--out", str(board))
    assert result.returncode == 0, result.stderr[-3000:]
    text = (board / "leaderboard.json").read_text()
    assert "Lite-HRNet-18" in text and "HRNetV2-18" not in text
