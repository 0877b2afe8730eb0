"""Prediction PNGs in the official benchmark formats, written and read back.

- Cityscapes: one ``<city>_<seq>_<frame>_leftImg8bit.png`` per image holding *label ids*
  (7 = road, ..., 33 = bicycle), as the official evaluator and the test server expect.
  Train ids 0..18 map to the 19 evaluated label ids; 255 (no class) maps to 0
  (``unlabeled``), which the evaluator counts as a miss.
- ADE20K (SceneParsing challenge): ``<stem>.png`` holding 1..150; 0 means "other".

:func:`read_prediction` goes the other way, into the train-id space the confusion
matrix counts in (255 = not a class).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..datasets.formats import DATASETS, FORMATS
from ..errors import UserError

__all__ = [
    "UnreadableLabelMapError",
    "cityscapes_label_ids",
    "cityscapes_prediction_name",
    "read_label_png",
    "read_prediction",
    "reduce_zero_label",
    "write_ade20k_prediction",
    "write_cityscapes_prediction",
]

# cityscapesscripts.helpers.labels, trainId -> id, for when it is not installed.
_CITYSCAPES_TRAIN_ID_TO_ID = (
    7,
    8,
    11,
    12,
    13,
    17,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
    26,
    27,
    28,
    31,
    32,
    33,
)
_CITYSCAPES_NAME = re.compile(r"^([^_]+)_(\d+)_(\d+)_")


class UnreadableLabelMapError(UserError, ValueError):
    """A PNG that cannot be read as a single-channel map of class indices."""


class PredictionValueError(UserError, ValueError):
    """A prediction holding values its stated format does not have."""


@lru_cache(maxsize=1)
def _cityscapes_train_id_to_id() -> np.ndarray:
    try:
        from cityscapesscripts.helpers.labels import trainId2label
    except ImportError:
        return np.array(_CITYSCAPES_TRAIN_ID_TO_ID, dtype=np.uint8)
    return np.array([trainId2label[t].id for t in range(19)], dtype=np.uint8)


@lru_cache(maxsize=1)
def _cityscapes_id_to_train_id() -> np.ndarray:
    # Every id that is not one of the 19 evaluated classes (ignoreInEval) reads as 255.
    lut = np.full(256, 255, dtype=np.uint8)
    lut[_cityscapes_train_id_to_id()] = np.arange(19, dtype=np.uint8)
    return lut


def cityscapes_prediction_name(img_path: str | Path) -> str:
    """``.../frankfurt/frankfurt_000000_000294_leftImg8bit.png`` ->
    ``frankfurt_000000_000294_leftImg8bit.png`` (any Cityscapes file of that frame works,
    e.g. its ``_gtFine_labelTrainIds.png``)."""
    match = _CITYSCAPES_NAME.match(Path(img_path).name)
    if match is None:
        raise ValueError(
            f"{img_path} is not a Cityscapes file name: expected "
            "<city>_<seq>_<frame>_..., e.g. frankfurt_000000_000294_leftImg8bit.png"
        )
    return "{}_{}_{}_leftImg8bit.png".format(*match.groups())


def write_cityscapes_prediction(
    pred_train_ids: np.ndarray, *, img_path: str | Path, out_dir: str | Path
) -> Path:
    """Write a ``(H, W)`` train-id prediction as the official label-id PNG.

    Returns the written path, ``out_dir / cityscapes_prediction_name(img_path)``.
    """
    pred = _as_label_map(pred_train_ids, "pred_train_ids")
    valid = ((pred >= 0) & (pred < 19)) | (pred == 255)
    if not valid.all():
        raise ValueError(
            f"pred_train_ids for {img_path} holds {np.unique(pred[~valid])[:5].tolist()}: "
            "expected Cityscapes train ids 0..18 (or 255 for no class)"
        )
    return _save_png(
        cityscapes_label_ids(pred), Path(out_dir) / cityscapes_prediction_name(img_path)
    )


def cityscapes_label_ids(pred_train_ids: np.ndarray) -> np.ndarray:
    """Cityscapes train ids 0..18 as the official label ids (7 = road, ...); 255 (no
    class) as 0 (unlabeled)."""
    lut = np.zeros(256, dtype=np.uint8)  # 255 -> 0, unlabeled: scored as a miss
    lut[:19] = _cityscapes_train_id_to_id()
    return lut[pred_train_ids.astype(np.uint8)]


def write_ade20k_prediction(
    pred: np.ndarray,
    *,
    img_path: str | Path,
    out_dir: str | Path,
    reduce_zero_label: bool = True,
) -> Path:
    """Write a ``(H, W)`` prediction as ``out_dir/<stem of img_path>.png``.

    With ``reduce_zero_label`` (how mmseg trains on ADE20K: class 0 is "other"), classes
    0..149 are written as the challenge's 1..150 and 255 (no class) as 0.
    """
    pred = _as_label_map(pred, "pred")
    if pred.size and (pred.min() < 0 or pred.max() > 255):
        raise ValueError(
            f"pred for {img_path} holds values in [{pred.min()}, {pred.max()}]: expected "
            "8-bit class indices (0..149 for ADE20K, 255 for no class)"
        )
    if reduce_zero_label:
        # uint8 arithmetic: 255 + 1 wraps to 0, the challenge's "other".
        pred = pred.astype(np.uint8) + np.uint8(1)
    return _save_png(pred.astype(np.uint8), Path(out_dir) / f"{Path(img_path).stem}.png")


def read_prediction(path: str | Path, *, dataset: str, train_ids: bool = False) -> np.ndarray:
    """Read a prediction PNG into train-id space (uint8, 255 = not a class).

    Args:
        path: the PNG.
        dataset: ``'cityscapes'`` (label ids -> train ids, every id that is not
            evaluated -> 255) or ``'ade20k'`` (1..150 -> 0..149, 0 -> 255).
        train_ids: the file already holds train ids (e.g. mmseg's ``output_dir``
            images for Cityscapes); return it unchanged.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    pred = read_label_png(path, what="prediction")
    if train_ids:
        # Label ids read as train ids score as a near-empty table without any error
        # (Cityscapes road, id 7, would count as pole): refuse values no train id has.
        num_classes = FORMATS[dataset].num_classes
        outside = np.unique(pred[(pred >= num_classes) & (pred != 255)])
        if outside.size:
            native = "label ids (7..33)" if dataset == "cityscapes" else "1..150"
            raise PredictionValueError(
                f"prediction {path} holds {outside[:5].tolist()}"
                f"{' ...' if outside.size > 5 else ''}, outside {dataset}'s train ids "
                f"0..{num_classes - 1} (255 = no class) that --train-ids declares. "
                f"If the predictions hold {native}, drop --train-ids."
            )
        return pred
    if dataset == "cityscapes":
        return _cityscapes_id_to_train_id()[pred]
    return reduce_zero_label(pred)


def reduce_zero_label(label: np.ndarray) -> np.ndarray:
    """mmseg's ``reduce_zero_label`` (``LoadAnnotations``): 0 ("other") -> 255,
    v -> v - 1, and 255 (no class) stays 255."""
    # uint8 arithmetic: 0 - 1 wraps to 255.
    reduced = label.astype(np.uint8) - np.uint8(1)
    reduced[reduced == 254] = 255  # a raw 255
    return reduced


def read_label_png(path: str | Path, *, what: str = "label map") -> np.ndarray:
    """A single-channel PNG of class indices as a uint8 ``(H, W)`` array."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            array = np.array(image)  # a writable copy (torch.from_numpy warns otherwise)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnreadableLabelMapError(
            f"cannot read {what} {path}: {reason}; expected a single-channel 8-bit PNG"
        ) from exc
    if array.ndim != 2:
        raise UnreadableLabelMapError(
            f"{what} {path} has shape {array.shape}: expected a single-channel (H, W) PNG of "
            "class indices, not a colour image"
        )
    if array.dtype != np.uint8:
        if array.size and (array.min() < 0 or array.max() > 255):
            raise UnreadableLabelMapError(
                f"{what} {path} holds values up to {array.max()}: expected 8-bit class indices"
            )
        array = array.astype(np.uint8)
    return array


def _as_label_map(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a (H, W) map of class indices, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class indices, got dtype {array.dtype}")
    return array


def _save_png(array: np.ndarray, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)  # uint8 (H, W): mode L
    return path
