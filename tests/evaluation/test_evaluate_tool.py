"""tools/evaluate.py and evaluate_folder: agreement with the official Cityscapes
evaluator, ADE20K's reduce-zero-label, and one-line errors."""

from __future__ import annotations

import copy
import glob
import importlib.util
import json
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from hrnet_seg.evaluation import (
    class_names,
    confusion_matrix,
    evaluate_folder,
    summarize,
    write_ade20k_prediction,
    write_cityscapes_prediction,
)
from tests.conftest import REPO, run_python

# (city, sequence, frame) of a miniature val split, two cities.
FRAMES = [
    ("frankfurt", "000000", "000294"),
    ("frankfurt", "000001", "000019"),
    ("lindau", "000000", "000019"),
]
SHAPE = (32, 64)  # H, W
ABSENT_TRAIN_ID = 16  # 'train': neither in the ground truth nor predicted -> NaN everywhere


def blocky(rng: np.random.Generator, values: np.ndarray, cell: int = 8) -> np.ndarray:
    """Random values in cell x cell blocks: regions, like real label maps."""
    grid = rng.choice(values, size=(SHAPE[0] // cell, SHAPE[1] // cell))
    return np.kron(grid, np.ones((cell, cell), dtype=grid.dtype))


@pytest.fixture(scope="module")
def cityscapes(tmp_path_factory):
    """gtFine/val with labelIds, labelTrainIds and instanceIds, plus label-id predictions."""
    from cityscapesscripts.helpers.labels import labels

    root = tmp_path_factory.mktemp("cityscapes")
    pred_dir = root / "preds"
    train_id_dir = root / "preds_train_ids"
    train_id_dir.mkdir()
    rng = np.random.default_rng(0)
    id_to_train_id = np.full(256, 255, dtype=np.uint8)
    for label in labels:
        if label.id >= 0 and not label.ignoreInEval:
            id_to_train_id[label.id] = label.trainId
    # Ground truth: evaluated ids (but 'train') and ignored ids (0 unlabeled, 4 static, ...).
    gt_ids = np.array(
        [label.id for label in labels if label.id >= 0 and label.trainId != ABSENT_TRAIN_ID],
        dtype=np.uint8,
    )
    pred_values = np.array([t for t in [*range(19), 255] if t != ABSENT_TRAIN_ID], dtype=np.int64)
    for city, seq, frame in FRAMES:
        stem = f"{city}_{seq}_{frame}"
        gt_dir = root / "gtFine" / "val" / city
        gt_dir.mkdir(parents=True, exist_ok=True)
        label_ids = blocky(rng, gt_ids)
        label_ids[rng.random(SHAPE) < 0.02] = 0  # a few stray unlabeled pixels
        Image.fromarray(label_ids).save(gt_dir / f"{stem}_gtFine_labelIds.png")
        train_ids = id_to_train_id[label_ids]
        Image.fromarray(train_ids).save(gt_dir / f"{stem}_gtFine_labelTrainIds.png")
        # instanceIds: id * 1000 + k for 'thing' classes, the label id elsewhere.
        instances = label_ids.astype(np.int32)
        things = np.isin(label_ids, [24, 25, 26, 27, 28, 31, 32, 33])
        instances[things] = label_ids[things].astype(np.int32) * 1000 + rng.integers(
            0, 3, things.sum()
        )
        # 16-bit, like the real files (ids up to 33999).
        Image.fromarray(instances.astype(np.uint16)).save(gt_dir / f"{stem}_gtFine_instanceIds.png")

        # Predictions: mostly right, wrong in blocks, some 255 (written as 'unlabeled'),
        # and arbitrary on ignored pixels (which must not count as false positives).
        pred = np.where(train_ids == 255, 0, train_ids).astype(np.int64)
        wrong = blocky(rng, np.array([False, False, True]))
        pred = np.where(wrong, blocky(rng, pred_values), pred)
        pred[rng.random(SHAPE) < 0.05] = 255
        img_path = root / "leftImg8bit" / "val" / city / f"{stem}_leftImg8bit.png"
        write_cityscapes_prediction(pred, img_path=img_path, out_dir=pred_dir)
        # The same predictions as train ids, for --train-ids.
        Image.fromarray(pred.astype(np.uint8)).save(train_id_dir / f"{stem}_leftImg8bit.png")
    return root


def official_cityscapes_scores(root, pred_dir, monkeypatch) -> dict:
    """cityscapesscripts' evalPixelLevelSemanticLabeling, called as its main() would."""
    from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as official

    # It calls np.in1d (for the instance-level scores), which numpy 2.4 removed;
    # np.isin is its documented replacement with the same semantics.
    monkeypatch.setattr(np, "in1d", np.isin, raising=False)
    # Its settings live on a module-level object: work on a copy.
    args = copy.copy(official.args)
    args.cityscapesPath = str(root)
    args.groundTruthSearch = str(root / "gtFine" / "val" / "*" / "*_gtFine_labelIds.png")
    args.predictionPath = str(pred_dir)
    args.predictionWalk = None
    args.evalInstLevelScore = True  # reads the instanceIds files, like a real run
    args.evalPixelAccuracy = False
    args.JSONOutput = False
    args.quiet = True
    args.colorized = False
    gt_list = sorted(glob.glob(args.groundTruthSearch))
    pred_list = [official.getPrediction(args, gt) for gt in gt_list]
    return official.evaluateImgLists(pred_list, gt_list, args)


def test_tool_and_library_agree_with_the_official_cityscapes_evaluator(
    cityscapes, tmp_path, monkeypatch
):
    official = official_cityscapes_scores(cityscapes, cityscapes / "preds", monkeypatch)
    assert math.isnan(official["classScores"]["train"])

    out = tmp_path / "scores.json"
    result = run_python(
        "tools/evaluate.py",
        *("--dataset", "cityscapes", "--data-root", str(cityscapes), "--split", "val"),
        *("--pred-dir", str(cityscapes / "preds"), "--json", str(out), "--nproc", "2"),
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\|\s+road\s+\|", result.stdout, re.M)  # the per-class table
    scores = json.loads(out.read_text())
    assert scores["dataset"] == "cityscapes" and scores["split"] == "val"
    assert scores["num_images"] == 3 and scores["pred_dir"] == str(cityscapes / "preds")
    assert scores["per_class"]["train"] == {"IoU": None, "Acc": None}

    # Same counts, same formulas: equal to float rounding (fractions vs percent).
    assert scores["mIoU"] / 100 == pytest.approx(official["averageScoreClasses"], abs=1e-9)
    for name, iou in official["classScores"].items():
        if name in scores["per_class"] and not math.isnan(iou):
            assert scores["per_class"][name]["IoU"] / 100 == pytest.approx(iou, abs=1e-9), name

    library = evaluate_folder(
        dataset="cityscapes",
        data_root=cityscapes,
        split="val",
        pred_dir=cityscapes / "preds",
        progress=False,
    )
    assert library["mIoU"] == scores["mIoU"]
    train_ids = evaluate_folder(
        dataset="cityscapes",
        data_root=cityscapes,
        split="val",
        pred_dir=cityscapes / "preds_train_ids",
        train_ids=True,
        progress=False,
    )
    assert train_ids["mIoU"] == scores["mIoU"]


def test_ade20k_reduce_zero_label(tmp_path):
    rng = np.random.default_rng(1)
    gt_dir = tmp_path / "ade" / "annotations" / "validation"
    gt_dir.mkdir(parents=True)
    expected = 0
    for i in range(2):
        gt = rng.integers(0, 151, size=(12, 10)).astype(np.uint8)  # 0 = other, ignored
        Image.fromarray(gt).save(gt_dir / f"ADE_val_{i:08d}.png")
        pred = np.where(
            rng.random(gt.shape) < 0.5, gt.astype(np.int64) - 1, rng.integers(0, 150, gt.shape)
        )
        pred[pred < 0] = 255
        write_ade20k_prediction(pred, img_path=f"ADE_val_{i:08d}.jpg", out_dir=tmp_path / "preds")
        label = np.where(gt == 0, 255, gt.astype(np.int64) - 1)
        expected = expected + confusion_matrix(
            torch.from_numpy(pred), torch.from_numpy(label), num_classes=150
        )
    for split in ("val", "validation"):
        result = evaluate_folder(
            dataset="ade20k",
            data_root=tmp_path / "ade",
            split=split,
            pred_dir=tmp_path / "preds",
            progress=False,
        )
        assert result["num_images"] == 2
        assert result["mIoU"] == summarize(expected, class_names=class_names("ade20k"))["mIoU"]


# --- errors: exit 2, one line, the file and what was expected ---


def run_tool(*args: str):
    return run_python("tools/evaluate.py", *args)


def last_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    return stderr.strip().splitlines()[-1]


@pytest.fixture
def cityscapes_copy(cityscapes, tmp_path):
    import shutil

    root = tmp_path / "cityscapes"
    shutil.copytree(cityscapes, root)
    return root


def test_missing_prediction(cityscapes_copy):
    root = cityscapes_copy
    (root / "preds" / "lindau_000000_000019_leftImg8bit.png").unlink()
    result = run_tool(
        *("--dataset", "cityscapes", "--data-root", str(root), "--pred-dir", str(root / "preds"))
    )
    assert result.returncode == 2
    gt = root / "gtFine/val/lindau/lindau_000000_000019_gtFine_labelTrainIds.png"
    assert last_line(result.stderr) == (
        f"error: no prediction for ground truth {gt}: "
        f"expected {root / 'preds' / 'lindau_000000_000019_leftImg8bit.png'}"
    )


def test_prediction_of_another_size(cityscapes_copy):
    root = cityscapes_copy
    pred = root / "preds" / "frankfurt_000001_000019_leftImg8bit.png"
    Image.fromarray(np.zeros((16, 32), dtype=np.uint8)).save(pred)
    result = run_tool(
        *("--dataset", "cityscapes", "--data-root", str(root), "--pred-dir", str(root / "preds"))
    )
    assert result.returncode == 2
    gt = root / "gtFine/val/frankfurt/frankfurt_000001_000019_gtFine_labelTrainIds.png"
    assert last_line(result.stderr) == (
        f"error: prediction {pred} is 32x16 (WxH) but its ground truth {gt} is 64x32: "
        "expected a prediction at the ground truth's full resolution"
    )


def test_label_id_predictions_with_train_ids(cityscapes_copy):
    root = cityscapes_copy
    result = run_tool(
        *("--dataset", "cityscapes", "--data-root", str(root), "--pred-dir", str(root / "preds")),
        "--train-ids",
    )
    assert result.returncode == 2
    line = last_line(result.stderr)
    assert line.startswith(f"error: prediction {root / 'preds'}/"), line
    assert line.endswith("If the predictions hold label ids (7..33), drop --train-ids."), line


def load_tool():
    spec = importlib.util.spec_from_file_location("evaluate_tool", REPO / "tools" / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_empty_split_and_unreadable_png(cityscapes_copy, tmp_path, capsys):
    tool = load_tool()
    root = cityscapes_copy
    args = ["--dataset", "cityscapes", "--data-root", str(root), "--pred-dir", str(root / "preds")]

    assert tool.main([*args, "--split", "test"]) == 2
    gt_dir = root / "gtFine" / "test"
    assert capsys.readouterr().err == (
        f"error: no ground truth in {gt_dir}: expected "
        f"{gt_dir / '*/*_gtFine_labelTrainIds.png'} (the cityscapes layout under "
        f"--data-root {root})\n"
    )

    broken = root / "preds" / "frankfurt_000000_000294_leftImg8bit.png"
    broken.write_bytes(b"\x89PNG truncated")
    assert tool.main(args) == 2
    err = last_line(capsys.readouterr().err)
    assert err.startswith(f"error: cannot read prediction {broken}: ")
    assert err.endswith("expected a single-channel 8-bit PNG")

    assert (
        tool.main(
            ["--dataset", "ade20k", "--data-root", str(tmp_path), "--split", "x", "--pred-dir", "p"]
        )
        == 2
    )
    assert "unknown ADE20K split 'x'" in capsys.readouterr().err
