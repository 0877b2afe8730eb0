"""confusion_matrix / summarize against a brute-force reference and mmseg's IoUMetric."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch
from mmseg.evaluation import IoUMetric

from hrnet_seg.evaluation import confusion
from hrnet_seg.evaluation.confusion import (
    confusion_matrix,
    format_table,
    nan_to_none,
    summarize,
)

K = 5
NAMES = ("road", "car", "sky", "person", "train")


def reference_matrix(pred: np.ndarray, label: np.ndarray, k: int, ignore: int = 255):
    """One pixel at a time, straight from the definition."""
    matrix = np.zeros((k, k + 1), dtype=np.int64)
    for p, g in zip(pred.ravel().tolist(), label.ravel().tolist()):
        if g == ignore or not 0 <= g < k:
            continue
        matrix[g, p if 0 <= p < k else k] += 1
    return matrix


def reference_scores(matrix: np.ndarray) -> dict:
    k = matrix.shape[0]
    iou, acc = [], []
    for c in range(k):
        tp = matrix[c, c]
        fn = matrix[c].sum() - tp
        fp = matrix[:, c].sum() - tp
        iou.append(tp / (tp + fp + fn) if tp + fp + fn else math.nan)
        acc.append(tp / (tp + fn) if tp + fn else math.nan)
    return dict(
        aAcc=100 * np.trace(matrix[:, :k]) / matrix.sum(),
        mIoU=100 * np.nanmean(iou),
        mAcc=100 * np.nanmean(acc),
        IoU=100 * np.array(iou),
        Acc=100 * np.array(acc),
    )


def random_maps(seed: int, shape=(3, 17, 23), k: int = K, absent: int | None = None):
    """Predictions with 255 and out-of-range values, labels with 255: every case."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, k, size=shape)
    label[rng.random(shape) < 0.15] = 255
    pred = np.where(rng.random(shape) < 0.6, label, rng.integers(0, k, size=shape))
    pred[rng.random(shape) < 0.05] = 255
    pred[rng.random(shape) < 0.03] = k + 2  # not a class: a miss, like 255
    if absent is not None:  # a class neither in the ground truth nor predicted
        label[label == absent] = 255
        pred[pred == absent] = 255
    return pred, label


def test_matches_brute_force_reference():
    pred, label = random_maps(0)
    expected = reference_matrix(pred, label, K)
    got = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(label), num_classes=K)
    assert got.dtype == torch.int64 and got.shape == (K, K + 1)
    np.testing.assert_array_equal(got.numpy(), expected)

    summary = summarize(got, class_names=NAMES)
    ref = reference_scores(expected)
    for key in ("aAcc", "mIoU", "mAcc"):
        assert summary[key] == pytest.approx(ref[key], abs=1e-12)
    for c, name in enumerate(NAMES):
        assert summary["per_class"][name]["IoU"] == pytest.approx(ref["IoU"][c], abs=1e-12)
        assert summary["per_class"][name]["Acc"] == pytest.approx(ref["Acc"][c], abs=1e-12)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int16, torch.int32, torch.int64])
def test_any_integer_dtype_and_batch_shape(dtype):
    pred, label = random_maps(1)
    pred = np.where(pred > 200, 255, pred)  # int16 / uint8 both hold 0..255
    expected = reference_matrix(pred, label, K)
    batched = confusion_matrix(
        torch.from_numpy(pred).to(dtype), torch.from_numpy(label).to(dtype), num_classes=K
    )
    per_image = sum(
        confusion_matrix(
            torch.from_numpy(p).to(dtype), torch.from_numpy(g).to(dtype), num_classes=K
        )
        for p, g in zip(pred, label)
    )
    np.testing.assert_array_equal(batched.numpy(), expected)
    np.testing.assert_array_equal(per_image.numpy(), expected)


def test_invalid_predictions_are_false_negatives_only():
    label = torch.tensor([[0, 0, 1, 1]])
    pred = torch.tensor([[0, 255, 1, -3]])
    cm = confusion_matrix(pred, label, num_classes=2)
    assert cm.tolist() == [[1, 0, 1], [0, 1, 1]]
    summary = summarize(cm, class_names=["a", "b"])
    # Each class: TP 1, FN 1, FP 0 -> IoU 50, Acc 50; the misses are nobody's FP.
    assert summary["per_class"] == {
        "a": {"IoU": 50.0, "Acc": 50.0},
        "b": {"IoU": 50.0, "Acc": 50.0},
    }
    assert summary["aAcc"] == 50.0


def test_ignored_and_out_of_range_ground_truth_is_skipped():
    label = torch.tensor([[255, 7, 0, 1]])  # 7 is no class of 2: skipped like 255
    pred = torch.tensor([[1, 1, 0, 1]])
    cm = confusion_matrix(pred, label, num_classes=2)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 0]]
    assert confusion_matrix(pred, label, num_classes=2, ignore_index=7).tolist() == [
        [1, 0, 0],
        [0, 1, 0],
    ]


def test_absent_class_is_nan_and_left_out_of_the_means():
    pred, label = random_maps(2, absent=4)
    cm = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(label), num_classes=K)
    summary = summarize(cm, class_names=NAMES)
    assert math.isnan(summary["per_class"]["train"]["IoU"])
    assert math.isnan(summary["per_class"]["train"]["Acc"])
    present = [summary["per_class"][n]["IoU"] for n in NAMES[:4]]
    assert summary["mIoU"] == pytest.approx(sum(present) / 4, abs=1e-12)

    zero = summarize(cm, class_names=NAMES, nan_to_num=0)
    assert zero["per_class"]["train"] == {"IoU": 0.0, "Acc": 0.0}
    assert zero["mIoU"] == pytest.approx(sum(present) / 5, abs=1e-12)

    assert nan_to_none(summary)["per_class"]["train"] == {"IoU": None, "Acc": None}


def test_empty_matrix_is_all_nan_without_warnings():
    with np.errstate(all="raise"):
        summary = summarize(torch.zeros(2, 3, dtype=torch.int64), class_names=["a", "b"])
    assert all(math.isnan(summary[key]) for key in ("aAcc", "mIoU", "mAcc"))


def _mmseg_samples(pred: np.ndarray, label: np.ndarray) -> list[dict]:
    # What mmengine's Evaluator hands a metric: SegDataSample.to_dict(), (1, H, W) maps.
    return [
        dict(
            pred_sem_seg=dict(data=torch.from_numpy(p)[None]),
            gt_sem_seg=dict(data=torch.from_numpy(g)[None]),
        )
        for p, g in zip(pred, label)
    ]


@pytest.mark.parametrize("absent", [None, 4])
def test_equals_mmseg_iou_metric(absent):
    pred, label = random_maps(3, shape=(4, 31, 37), absent=absent)
    samples = _mmseg_samples(pred, label)
    reference = IoUMetric(ignore_index=255)
    reference.dataset_meta = dict(classes=NAMES)
    reference.process({}, samples)
    rounded = reference.compute_metrics(reference.results)
    # IoUMetric counts with float32 histograms and divides in float32 (~1e-5 off in
    # percent), then rounds to 2 decimals. Compare its counts exactly, then its formulas
    # applied to those counts in float64 to 1e-6, then its rounded results.
    intersect, union, pred_area, label_area = (
        torch.stack(parts).sum(0).double() for parts in zip(*reference.results)
    )
    cm = sum(
        confusion_matrix(s["pred_sem_seg"]["data"], s["gt_sem_seg"]["data"], num_classes=K)
        for s in samples
    )
    tp = cm.diagonal().double()
    np.testing.assert_array_equal(intersect, tp)
    np.testing.assert_array_equal(label_area, cm.sum(1).double())
    np.testing.assert_array_equal(pred_area, cm[:, :K].sum(0).double())
    np.testing.assert_array_equal(union, cm.sum(1) + cm[:, :K].sum(0) - cm.diagonal())
    unrounded = IoUMetric.total_area_to_metrics(
        intersect, union, pred_area, label_area, metrics=["mIoU"]
    )

    ours = summarize(cm, class_names=NAMES)
    np.testing.assert_allclose(
        [ours["per_class"][n]["IoU"] for n in NAMES], unrounded["IoU"] * 100, atol=1e-6
    )
    np.testing.assert_allclose(
        [ours["per_class"][n]["Acc"] for n in NAMES], unrounded["Acc"] * 100, atol=1e-6
    )
    assert ours["aAcc"] == pytest.approx(float(unrounded["aAcc"]) * 100, abs=1e-6)
    assert ours["mIoU"] == pytest.approx(np.nanmean(unrounded["IoU"]) * 100, abs=1e-6)
    assert ours["mAcc"] == pytest.approx(np.nanmean(unrounded["Acc"]) * 100, abs=1e-6)
    for key in ("aAcc", "mIoU", "mAcc"):
        assert float(rounded[key]) == pytest.approx(round(ours[key], 2), abs=1e-4)


def test_validates_its_input():
    a = torch.zeros(2, 3, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"same shape, got \(2, 3\) and \(3, 2\)"):
        confusion_matrix(a, a.T, num_classes=2)
    with pytest.raises(TypeError, match="integer class indices, got dtype torch.float32"):
        confusion_matrix(a.float(), a, num_classes=2)
    with pytest.raises(TypeError, match="must be a torch.Tensor, got ndarray"):
        confusion_matrix(a.numpy(), a, num_classes=2)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        confusion_matrix(a, a, num_classes=0)
    with pytest.raises(ValueError, match=r"shape \(3, 4\) for 3 class names, got \(2, 3\)"):
        summarize(a, class_names=["a", "b", "c"])


def test_format_table():
    cm = torch.tensor([[3, 1, 0, 0], [0, 4, 0, 0], [0, 0, 0, 0]])
    text = format_table(summarize(cm, class_names=["road", "car", "bus"]))
    lines = text.splitlines()
    assert lines[1].split("|")[1:4] == [" Class ", "  IoU  ", "  Acc   "]
    assert [cell.strip() for cell in lines[3].split("|")[1:4]] == ["road", "75.00", "75.00"]
    assert [cell.strip() for cell in lines[5].split("|")[1:4]] == ["bus", "nan", "nan"]
    assert lines[-1] == "aAcc: 87.50  mIoU: 77.50  mAcc: 87.50"


def test_docstring_examples():
    result = doctest.testmod(confusion, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
