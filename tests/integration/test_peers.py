"""HRNet's peers as a user runs them (issue 14): each family trains 20 iterations on the
built-in data through tools/train.py, is evaluated by tools/test.py, timed by
tools/benchmark.py and ranked by tools/leaderboard.py beside its published row, in one
test per family at 64x128. DDRNet runs mmseg's own config by package scope, the others
our thin leaves in configs/peers/."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_python
from tests.integration.conftest import read_json, small_crop_options

pytestmark = pytest.mark.slow

ITERS = 20
MASK2FORMER = "mmseg::mask2former/mask2former_r50_8xb2-90k_cityscapes-512x1024.py"


def options() -> list[str]:
    return small_crop_options(ITERS)


@pytest.mark.parametrize(
    ("config", "backbone", "head", "published"),
    [
        ("configs/peers/pidnet_s_cityscapes.py", "PIDNet", "PIDNet", "pidnet-s"),
        ("mmseg::ddrnet/ddrnet_23-slim_in1k-pre_2xb6-120k_cityscapes-1024x1024.py", "DDRNet",
         "DDRNet", "ddrnet_23-slim"),
        ("configs/peers/segformer_b0_cityscapes.py", "MiT", "SegFormer", "segformer_mit-b0"),
        ("configs/peers/ocrnet_hr48_mmseg_cityscapes.py", "HRNetV2 (mmseg)", "OCR", "ocrnet_hr48"),
        ("configs/peers/deeplabv3plus_r50_cityscapes.py", "ResNet", "DeepLabV3+",
         "deeplabv3plus_r50-d8"),
    ],
    ids=["pidnet", "ddrnet", "segformer", "ocrnet_hr48_mmseg", "deeplabv3plus"],
)  # fmt: skip
def test_peer_trains_tests_benchmarks_and_ranks(config, backbone, head, published, tmp_path,
                                                demo_root):  # fmt: skip
    work_dir = tmp_path / "run"
    data = ["--data-root", str(demo_root)]
    result = run_python("tools/train.py", config, *data, "--work-dir", str(work_dir),
                        "--no-pretrained", "--seed", "0", "--cfg-options", *options())  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    trained = read_json(work_dir / "results.json")
    assert trained["status"] == "finished" and 0.0 <= trained["mIoU"] <= 100.0
    checkpoint = work_dir / f"iter_{ITERS}.pth"

    test_dir = work_dir / "test"
    result = run_python("tools/test.py", config, str(checkpoint), *data, "--work-dir",
                        str(test_dir), "--cfg-options", *options())  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    tested = read_json(test_dir / "results.json")
    # Our metric, whatever evaluator the config named: the record has the scores.
    assert {"mIoU", "mAcc", "aAcc"} <= set(tested) and tested["checkpoint"]["iter"] == ITERS

    result = run_python("tools/benchmark.py", config, "--device", "cpu", "--batch", "2",
                        "--crop", "64", "128", "--infer-size", "64", "128", "--flops-size",
                        "64", "128", "--warmup", "0", "--repeats", "1", "--json",
                        str(work_dir / "benchmark.json"))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    timed = read_json(work_dir / "benchmark.json")
    assert timed["params"] > 0 and timed["infer_whole_ours_s"] > 0
    assert timed["train_ours_img_per_s"] > 0

    board = tmp_path / "board"
    result = run_python("tools/leaderboard.py", str(work_dir), "--out", str(board))
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads((board / "leaderboard.json").read_text())
    # The tools/test.py evaluation joins its training run's row.
    ours = [r for r in rows if not r["is_reference"]]
    assert len(ours) == 1 and ours[0]["checkpoint"] == str(checkpoint)
    assert len(ours) == 1 and (ours[0]["backbone"], ours[0]["head"]) == (backbone, head)
    assert ours[0]["params"] == timed["params"]
    references = {(r["model"], r["head"]) for r in rows if r["is_reference"]}
    assert (published, head) in references


def test_mask2former_without_mmdet_says_what_to_install(demo_root, tmp_path):
    for tool, extra in (("tools/train.py", []), ("tools/benchmark.py", ["--device", "cpu"])):
        result = run_python(tool, MASK2FORMER, *extra)
        assert result.returncode == 2, result.stderr[-3000:]
        assert "pip install mmdet" in result.stderr and "Traceback" not in result.stderr
