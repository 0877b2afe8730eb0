"""--show-dir pictures: image | ground truth | prediction | errors, a legend of exactly
the classes present, an error map that marks exactly the differing pixels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hrnet_seg.evaluation.pictures import GAP, NOT_SCORED, WRONG, compare, error_map

CLASSES = ("road", "sidewalk", "building", "wall", "fence")
PALETTE = ((128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153))
H, W = 48, 96


@pytest.fixture
def sample():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    gt = np.zeros((H, W), dtype=np.uint8)  # road ...
    gt[:, W // 2 :] = 2  # ... and building
    gt[:4, :8] = 255  # ignored
    pred = gt.copy()
    pred[gt == 255] = 0
    pred[10:20, 10:20] = 3  # wall where road is
    pred[30:32, 60:70] = 0  # road where building is
    return image, gt, pred


def panel(picture, index):
    _, (x0, y0, x1, y1) = picture.panels[index]
    return picture.image[y0:y1, x0:x1]


def test_four_panels_side_by_side(sample):
    image, gt, pred = sample
    picture = compare(image, pred, classes=CLASSES, palette=PALETTE, gt=gt)
    assert [name for name, _ in picture.panels] == ["image", "ground truth", "prediction", "errors"]
    assert picture.image.shape[1] == 4 * W + 3 * GAP
    for index, (_, (x0, y0, x1, y1)) in enumerate(picture.panels):
        assert (x1 - x0, y1 - y0) == (W, H) and x0 == index * (W + GAP)
    assert np.array_equal(panel(picture, 0), image)
    palette = np.array(PALETTE, dtype=np.uint8)
    expected_gt = palette[np.where(gt == 255, 0, gt)]
    expected_gt[gt == 255] = 0  # ignored: black
    assert np.array_equal(panel(picture, 1), expected_gt)
    assert np.array_equal(panel(picture, 2), palette[pred])


def test_legend_lists_exactly_the_classes_present(sample):
    image, gt, pred = sample
    picture = compare(image, pred, classes=CLASSES, palette=PALETTE, gt=gt)
    # road, building (ground truth and prediction), wall (prediction only); not the
    # ignored value, not sidewalk or fence.
    assert [e.name for e in picture.legend] == ["road", "building", "wall"]
    for entry in (*picture.legend, *picture.key):  # each swatch drawn in its colour
        x0, y0, x1, y1 = entry.swatch
        assert (picture.image[y0:y1, x0:x1] == entry.colour).all(), entry.name
        assert y0 >= H  # below the panels
    assert [e.colour for e in picture.legend] == [PALETTE[0], PALETTE[2], PALETTE[3]]
    wrong = 100 + 20  # 10x10 wall, 2x10 road
    scored = H * W - 32
    assert [e.name for e in picture.key] == [
        f"wrong: {100 * wrong / scored:.1f}% of scored pixels",
        "not scored (ignored in the ground truth)",
    ]


def test_error_map_marks_exactly_the_differing_pixels(sample):
    image, gt, pred = sample
    picture = compare(image, pred, classes=CLASSES, palette=PALETTE, gt=gt)
    errors = panel(picture, 3)
    assert np.array_equal(errors, error_map(image, gt, pred, num_classes=5, ignore_index=255))
    differ = (pred != gt) & (gt != 255)
    ignored = gt == 255
    assert np.array_equal((errors == WRONG).all(axis=2), differ)
    assert np.array_equal((errors == NOT_SCORED).all(axis=2), ignored)
    rest = errors[~differ & ~ignored]
    assert (rest[:, 0] == rest[:, 1]).all() and (rest[:, 1] == rest[:, 2]).all()  # grey


def test_without_ground_truth_image_and_prediction(sample):
    image, _, pred = sample
    picture = compare(image, pred, classes=CLASSES, palette=PALETTE)
    assert [name for name, _ in picture.panels] == ["image", "prediction"]
    assert picture.image.shape[1] == 2 * W + GAP
    assert [e.name for e in picture.legend] == ["road", "building", "wall"]
    assert picture.key == ()


def test_bad_arguments(sample):
    image, gt, pred = sample
    with pytest.raises(ValueError, match="5 classes but 2 palette"):
        compare(image, pred, classes=CLASSES, palette=PALETTE[:2])
    with pytest.raises(ValueError, match="differ in size"):
        compare(image[:10], pred, classes=CLASSES, palette=PALETTE)


def test_hook_writes_the_picture(sample, tmp_path):
    """PredictionWriterHook --show-dir: the file is the picture, read back from disk."""
    from types import SimpleNamespace

    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from hrnet_seg.engine.hooks import PredictionWriterHook

    image, gt, pred = sample
    image_path = tmp_path / "frankfurt_000000_000019_leftImg8bit.png"
    cv2.imwrite(str(image_path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    data = SegDataSample(metainfo={"img_path": str(image_path)})
    data.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
    data.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
    dataset = SimpleNamespace(metainfo={"classes": CLASSES, "palette": PALETTE}, ignore_index=255)
    runner = SimpleNamespace(test_dataloader=SimpleNamespace(dataset=dataset))
    hook = PredictionWriterHook(dataset_format="cityscapes", show_dir=str(tmp_path / "show"))
    hook.after_test_iter(runner, 0, outputs=[data])
    written = cv2.imread(str(tmp_path / "show" / f"{image_path.stem}.png"))
    expected = compare(image, pred, classes=CLASSES, palette=PALETTE, gt=gt).image
    assert np.array_equal(cv2.cvtColor(written, cv2.COLOR_BGR2RGB), expected)
