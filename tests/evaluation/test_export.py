"""Official-format prediction PNGs: names, id mappings, round trips, unreadable files."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
from PIL import Image

from hrnet_seg.evaluation import export
from hrnet_seg.evaluation.export import (
    PredictionValueError,
    UnreadableLabelMapError,
    cityscapes_prediction_name,
    read_prediction,
    write_ade20k_prediction,
    write_cityscapes_prediction,
)

CITYSCAPES_IMG = "data/cityscapes/leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png"


@pytest.mark.parametrize(
    "path",
    [
        CITYSCAPES_IMG,
        "frankfurt_000000_000294_leftImg8bit.png",
        "gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelTrainIds.png",
    ],
)
def test_cityscapes_prediction_name(path):
    assert cityscapes_prediction_name(path) == "frankfurt_000000_000294_leftImg8bit.png"


def test_cityscapes_prediction_name_rejects_other_names():
    with pytest.raises(ValueError, match="not a Cityscapes file name: expected <city>_<seq>_"):
        cityscapes_prediction_name("ADE_val_00000001.jpg")


def test_train_id_table_is_cityscapesscripts_and_the_fallback(monkeypatch):
    from cityscapesscripts.helpers.labels import labels

    official = [
        next(label.id for label in labels if label.trainId == t and not label.ignoreInEval)
        for t in range(19)
    ]
    export._cityscapes_train_id_to_id.cache_clear()
    assert export._cityscapes_train_id_to_id().tolist() == official

    real_import = builtins.__import__

    def no_cityscapesscripts(name, *args, **kwargs):
        if name.startswith("cityscapesscripts"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cityscapesscripts)
    export._cityscapes_train_id_to_id.cache_clear()
    try:
        assert export._cityscapes_train_id_to_id().tolist() == official
    finally:
        export._cityscapes_train_id_to_id.cache_clear()


def test_cityscapes_round_trip(tmp_path):
    from cityscapesscripts.helpers.labels import id2label

    pred = np.tile(np.array([*range(19), 255], dtype=np.int64), (3, 2))
    path = write_cityscapes_prediction(pred, img_path=CITYSCAPES_IMG, out_dir=tmp_path / "out")
    assert path == tmp_path / "out" / "frankfurt_000000_000294_leftImg8bit.png"

    with Image.open(path) as image:
        assert image.mode == "L"
        label_ids = np.asarray(image)
    # Label ids whose trainId is the prediction; 255 became 0 (unlabeled).
    assert [id2label[i].trainId for i in label_ids[0, :19]] == list(range(19))
    assert label_ids[0, 19] == 0

    assert read_prediction(path, dataset="cityscapes").tolist() == pred.tolist()


def test_train_ids_refuses_values_no_train_id_has(tmp_path):
    """Label ids read as train ids gave an all-zero table without a word (issue 18)."""
    train_ids = tmp_path / "train_ids.png"
    Image.fromarray(np.array([[0, 18, 255]], dtype=np.uint8)).save(train_ids)
    assert read_prediction(train_ids, dataset="cityscapes", train_ids=True).tolist() == [
        [0, 18, 255]
    ]
    label_ids = tmp_path / "label_ids.png"
    Image.fromarray(np.array([[7, 19, 26, 33, 255]], dtype=np.uint8)).save(label_ids)
    with pytest.raises(PredictionValueError, match=r"holds \[19, 26, 33\], outside cityscapes"):
        read_prediction(label_ids, dataset="cityscapes", train_ids=True)
    ade = tmp_path / "ade.png"
    Image.fromarray(np.array([[0, 149, 150]], dtype=np.uint8)).save(ade)
    with pytest.raises(PredictionValueError, match=r"\[150\].*drop --train-ids"):
        read_prediction(ade, dataset="ade20k", train_ids=True)


def test_cityscapes_ids_that_are_not_evaluated_read_as_255(tmp_path):
    path = tmp_path / "frankfurt_000000_000294_leftImg8bit.png"
    Image.fromarray(np.array([[0, 1, 6, 7, 9, 33, 34, 250]], dtype=np.uint8)).save(path)
    assert read_prediction(path, dataset="cityscapes").tolist() == [
        [255, 255, 255, 0, 255, 18, 255, 255]
    ]


def test_ade20k_round_trip(tmp_path):
    pred = np.array([[0, 1, 149, 255]], dtype=np.int32)
    path = write_ade20k_prediction(
        pred, img_path="images/validation/ADE_val_00000001.jpg", out_dir=tmp_path
    )
    assert path == tmp_path / "ADE_val_00000001.png"
    assert np.asarray(Image.open(path)).tolist() == [[1, 2, 150, 0]]
    assert read_prediction(path, dataset="ade20k").tolist() == pred.tolist()

    raw = write_ade20k_prediction(
        pred, img_path="ADE_val_00000002.jpg", out_dir=tmp_path, reduce_zero_label=False
    )
    assert np.asarray(Image.open(raw)).tolist() == pred.tolist()
    assert read_prediction(raw, dataset="ade20k", train_ids=True).tolist() == pred.tolist()


def test_writers_validate_predictions(tmp_path):
    with pytest.raises(ValueError, match=r"holds \[19, 254\]: expected Cityscapes train ids"):
        write_cityscapes_prediction(
            np.array([[0, 19, 254]]), img_path=CITYSCAPES_IMG, out_dir=tmp_path
        )
    with pytest.raises(ValueError, match=r"must be a \(H, W\) map"):
        write_cityscapes_prediction(
            np.zeros((1, 2, 2), int), img_path=CITYSCAPES_IMG, out_dir=tmp_path
        )
    with pytest.raises(TypeError, match="integer class indices, got dtype float64"):
        write_ade20k_prediction(np.zeros((2, 2)), img_path="a.jpg", out_dir=tmp_path)
    with pytest.raises(ValueError, match=r"values in \[-1, 3\]: expected 8-bit"):
        write_ade20k_prediction(np.array([[-1, 3]]), img_path="a.jpg", out_dir=tmp_path)


def test_unreadable_and_colour_pngs(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(
        UnreadableLabelMapError, match=f"cannot read prediction {broken}: .*8-bit PNG"
    ):
        read_prediction(broken, dataset="ade20k")
    with pytest.raises(UnreadableLabelMapError, match="cannot read prediction"):
        read_prediction(tmp_path / "missing.png", dataset="ade20k")

    colour = tmp_path / "colour.png"
    Image.fromarray(np.zeros((2, 3, 3), dtype=np.uint8)).save(colour)
    with pytest.raises(
        UnreadableLabelMapError, match=r"shape \(2, 3, 3\): expected a single-channel"
    ):
        read_prediction(colour, dataset="cityscapes")

    with pytest.raises(ValueError, match="dataset must be one of"):
        read_prediction(colour, dataset="voc")


def test_reduce_zero_label_is_mmseg_s(tmp_path):
    """Every raw value, through mmseg's own LoadAnnotations and through ours: 0 ("other")
    and 255 (no class) read as 255, v as v - 1."""
    from mmseg.datasets.transforms import LoadAnnotations

    raw = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(raw).save(tmp_path / "label.png")
    results = LoadAnnotations(reduce_zero_label=True).transform(
        dict(seg_map_path=str(tmp_path / "label.png"), reduce_zero_label=True, seg_fields=[])
    )
    assert results["gt_seg_map"][15, 15] == 255  # raw 255
    np.testing.assert_array_equal(export.reduce_zero_label(raw), results["gt_seg_map"])
