"""tools/test.py on a trained demo checkpoint: distributed exactness, official formats
and pictures, and a checkpoint of the wrong architecture."""

from __future__ import annotations

import glob
import os

import cv2
import pytest

from hrnet_seg.evaluation import evaluate_folder
from hrnet_seg.evaluation.pictures import GAP
from tests.conftest import free_port, run_python
from tests.evaluation.test_evaluate_tool import official_cityscapes_scores
from tests.integration.conftest import DEMO, read_json

pytestmark = pytest.mark.slow


def run_test_tool(*args, torchrun=0, **kwargs):
    prefix = ["-m", "torch.distributed.run", "--nproc-per-node", str(torchrun),
              "--master-port", str(free_port())] if torchrun else []  # fmt: skip
    launcher = ["--launcher", "pytorch"] if torchrun else []
    return run_python(*prefix, "tools/test.py", *args, *launcher, **kwargs)


def test_two_process_evaluation_equals_one_process(trained, demo_root, tmp_path):
    checkpoint = str(trained / "iter_12.pth")
    common = [DEMO, checkpoint, "--data-root", str(demo_root)]
    one = run_test_tool(*common, "--work-dir", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr[-2000:]
    two = run_test_tool(*common, "--work-dir", str(tmp_path / "two"), torchrun=2)
    assert two.returncode == 0, two.stderr[-2000:]
    a, b = read_json(tmp_path / "one/results.json"), read_json(tmp_path / "two/results.json")
    assert b["world_size"] == 2 and a["world_size"] == 1
    for key in ("mIoU", "mAcc", "aAcc", "per_class"):
        assert a[key] == b[key], key  # exactly: one confusion matrix, summed over ranks


def test_out_files_are_accepted_by_evaluate_and_the_official_evaluator(
    trained, demo_root, tmp_path, monkeypatch
):
    out, show = tmp_path / "out", tmp_path / "show"
    result = run_test_tool(
        DEMO, str(trained / "iter_12.pth"), "--data-root", str(demo_root),
        "--work-dir", str(tmp_path / "work"), "--out", str(out), "--show-dir", str(show),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    frames = sorted(
        os.path.basename(p).replace("_gtFine_labelTrainIds.png", "_leftImg8bit.png")
        for p in glob.glob(str(demo_root / "gtFine/val/*/*_gtFine_labelTrainIds.png"))
    )
    assert sorted(os.listdir(out)) == frames  # <city>_<seq>_<frame>_leftImg8bit.png
    assert len(os.listdir(show)) == len(frames)
    # Pictures: image | ground truth | prediction | errors, 64x128 each, legend below.
    picture = cv2.imread(str(show / sorted(os.listdir(show))[0]))
    assert picture.shape[1] == 4 * 128 + 3 * GAP and picture.shape[0] > 64
    ours = read_json(tmp_path / "work/results.json")

    scored = evaluate_folder(
        dataset="cityscapes", data_root=demo_root, split="val", pred_dir=out, progress=False
    )
    assert scored["mIoU"] == pytest.approx(ours["mIoU"], abs=1e-4)
    cli = run_python(
        "tools/evaluate.py", "--dataset", "cityscapes", "--data-root", str(demo_root),
        "--split", "val", "--pred-dir", str(out), "--json", str(tmp_path / "scores.json"),
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert read_json(tmp_path / "scores.json")["mIoU"] == pytest.approx(ours["mIoU"], abs=1e-4)

    official = official_cityscapes_scores(demo_root, out, monkeypatch)
    assert official["averageScoreClasses"] * 100 == pytest.approx(ours["mIoU"], abs=1e-4)


# --mode slide and --tta, and what each evaluation records: tests/integration/test_demo_board.py


def test_checkpoint_of_another_architecture(trained, demo_root, tmp_path):
    result = run_test_tool(
        "configs/hrnet_w18_cityscapes.py", str(trained / "iter_12.pth"),
        "--data-root", str(demo_root), "--work-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    checkpoint = str(trained / "iter_12.pth")
    assert "warning: SyncBN falls back to BN" in result.stderr  # one line, no source
    error = result.stderr[result.stderr.index("error: ") :]
    assert error.startswith(
        f"error: Checkpoint {checkpoint!r} does not match the model of this config:\n"
        "  shape mismatch ("
    )
    # W18-Small-v1's stage 1 has 32-channel Bottlenecks, W18's 64: the first difference.
    assert "backbone.layer1.0.conv1.weight: checkpoint (32, 64, 1, 1) vs model (64, 64, 1, 1)" in (
        error
    )
    assert "Use the config the checkpoint was trained with" in result.stderr


def test_missing_checkpoint(demo_root, tmp_path):
    result = run_test_tool(DEMO, str(tmp_path / "none.pth"), "--data-root", str(demo_root))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"error: Checkpoint file not found: {str(tmp_path / 'none.pth')!r}"
    )


def test_out_on_a_dataset_without_a_known_format(tmp_path):
    """--out wrote Cityscapes label ids for any dataset type without "ade" in its name."""
    result = run_test_tool(
        DEMO, str(tmp_path / "none.pth"),
        "--cfg-options", "test_dataloader.dataset.type=PascalVOCDataset",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "error: test_dataloader.dataset.type is 'PascalVOCDataset', which has no known "
        "dataset format, and --out (predictions in the official benchmark format) needs one. "
        "Known types (and their subclasses): Cityscapes: CityscapesDataset, "
    )
    assert not (tmp_path / "out").exists()


def test_converted_official_checkpoint_with_the_written_config(demo_root, tmp_path):
    """The README's convert -> test commands, on an official master-branch W18-Small-v1
    FCN checkpoint (the demo config's arch): the written config evaluates it, and the
    zoo's mmseg reproduction would warn that the checkpoint's fusion differs."""
    import torch

    from tests.models.test_official_reference import official_checkpoint

    src, dst, out = tmp_path / "official.pth", tmp_path / "converted.pth", tmp_path / "official.py"
    torch.save(official_checkpoint("master", "W18-Small-v1", "fcn"), src)
    convert = run_python(
        "tools/convert_checkpoint.py", str(src), str(dst), "--config", DEMO,
        "--write-config", str(out),
    )  # fmt: skip
    assert convert.returncode == 0, convert.stderr[-2000:]
    assert f"evaluate: python tools/test.py {out} {dst}" in convert.stdout

    common = [str(dst), "--data-root", str(demo_root)]
    written = run_test_tool(str(out), *common, "--work-dir", str(tmp_path / "official"))
    assert written.returncode == 0, written.stderr[-2000:]
    assert "fusion upsampling" not in written.stderr
    assert read_json(tmp_path / "official/results.json")["status"] == "finished"
    zoo = run_test_tool(DEMO, *common, "--work-dir", str(tmp_path / "zoo"))
    assert zoo.returncode == 0, zoo.stderr[-2000:]
    assert zoo.stderr.count("was trained with the official code's fusion upsampling") == 1
