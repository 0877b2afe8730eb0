"""configs/hrformer_s_ocr_cityscapes.py as a user runs it: tools/train.py for 20
iterations on the built-in data (from scratch: --no-pretrained, no ImageNet weights
here), evaluated at the end; tools/test.py on its checkpoint; tools/benchmark.py
(params, FLOPs, inference and training step); tools/leaderboard.py."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_python
from tests.integration.conftest import read_json, tiny_options

pytestmark = pytest.mark.slow

CONFIG = "configs/hrformer_s_ocr_cityscapes.py"
ITERS = 20


def options() -> list[str]:
    """20 iterations at the built-in data's size (64x128) instead of the zoo's scale."""
    tiny = tiny_options(ITERS) | {
        # The official warm-up is 1500 iterations: 20 would all run at ~1e-6 of the lr.
        "param_scheduler.0.end": 2,
        "param_scheduler.1.begin": 2,
        "param_scheduler.1.end": ITERS,
        "model.data_preprocessor.size": "(64,128)",
        "train_dataloader.dataset.pipeline.2.scale": "(128,64)",  # RandomResize
        "train_dataloader.dataset.pipeline.3.crop_size": "(64,128)",  # RandomCrop
        "val_dataloader.dataset.pipeline.1.scale": "(128,64)",  # Resize
        "test_dataloader.dataset.pipeline.1.scale": "(128,64)",
    }
    return [f"{k}={v}" for k, v in tiny.items()]


@pytest.fixture(scope="module")
def hrformer_run(tmp_path_factory, demo_root):
    work_dir = tmp_path_factory.mktemp("hrformer_s_ocr")
    result = run_python("tools/train.py", CONFIG, "--data-root", str(demo_root), "--work-dir",
                        str(work_dir), "--seed", "0", "--no-pretrained",
                        "--cfg-options", *options())  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return work_dir


def test_trains_20_iterations_and_is_evaluated(hrformer_run):
    results = read_json(hrformer_run / "results.json")
    assert results["status"] == "finished"
    assert results["model"]["arch"] == "S"
    assert results["model"]["heads"] == ["HRNetV2FCNHead", "HRNetV2OCRHead"]
    assert 0.0 <= results["mIoU"] <= 100.0 and {"aAcc", "mAcc"} <= set(results)
    assert (hrformer_run / f"iter_{ITERS}.pth").is_file()


def test_its_checkpoint_tests(hrformer_run, demo_root, tmp_path):
    result = run_python("tools/test.py", CONFIG, str(hrformer_run / f"iter_{ITERS}.pth"),
                        "--data-root", str(demo_root), "--work-dir", str(tmp_path),
                        "--cfg-options", *options())  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mIoU" in result.stdout + result.stderr


def test_benchmarked_and_ranked(hrformer_run, tmp_path):
    """tools/benchmark.py --json beside the run adds params, GFLOPs and fps to its row on
    the leaderboard (built-in data: its own section, never ranked against papers)."""
    out = hrformer_run / "benchmark.json"
    result = run_python("tools/benchmark.py", CONFIG, "--device", "cpu", "--batch", "1",
                        "--crop", "64", "128", "--infer-size", "64", "128",
                        "--flops-size", "64", "128", "--warmup", "0", "--repeats", "1",
                        "--json", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(out.read_text())
    assert record["params"] > 0 and record["infer_whole_ours_s"] > 0
    assert record["train_ours_img_per_s"] > 0
    board = tmp_path / "board"
    result = run_python("tools/leaderboard.py", str(hrformer_run), "--out", str(board))
    assert result.returncode == 0, result.stderr[-3000:]
    text = (board / "leaderboard.json").read_text()
    assert "HRFormer-S" in text and "HRNetV2-S" not in text
