"""Scoring a folder of prediction PNGs against a dataset split (``tools/evaluate.py``).

Predictions are in the official formats of :mod:`~hrnet_seg.evaluation.export`; the
ground truth is read in mmseg's train-id space, so the scores are those of the
confusion matrix the training-time metric uses:

- Cityscapes: ``ROOT/gtFine/<split>/<city>/*_gtFine_labelTrainIds.png`` (written by
  ``cityscapesscripts``' ``createTrainIdLabelImgs`` or mmseg's converter), prediction
  ``PRED_DIR/<city>_<seq>_<frame>_leftImg8bit.png``. Equal to the official
  evaluator's class IoU: the ids it ignores are 255 here.
- ADE20K: ``ROOT/annotations/<validation|training>/<stem>.png`` with mmseg's
  ``reduce_zero_label`` (0 = other is ignored), prediction ``PRED_DIR/<stem>.png``.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..datasets.formats import DATASETS
from ..errors import UserError
from ..utils.progress import Progress
from .confusion import confusion_matrix, summarize
from .export import (
    cityscapes_prediction_name,
    read_label_png,
    read_prediction,
    reduce_zero_label,
)

__all__ = [
    "InvalidInputError",
    "MissingFileError",
    "SizeMismatchError",
    "class_names",
    "evaluate_folder",
    "find_pairs",
]

_ADE20K_SPLITS = {
    "val": "validation",
    "validation": "validation",
    "train": "training",
    "training": "training",
}


class MissingFileError(UserError, FileNotFoundError):
    """A split, ground-truth folder or prediction that is not where it should be."""


class InvalidInputError(UserError, ValueError):
    """An argument or a file that is there but is not what the evaluation expects."""


class SizeMismatchError(InvalidInputError):
    """A prediction whose size differs from its ground truth."""


def class_names(dataset: str) -> tuple[str, ...]:
    """mmseg's class names of ``'cityscapes'`` (19) or ``'ade20k'`` (150)."""
    from mmseg.datasets import ADE20KDataset, CityscapesDataset

    _check_dataset(dataset)
    meta = CityscapesDataset.METAINFO if dataset == "cityscapes" else ADE20KDataset.METAINFO
    return tuple(meta["classes"])


def find_pairs(
    *, dataset: str, data_root: str | Path, split: str, pred_dir: str | Path
) -> list[tuple[Path, Path]]:
    """The split's ``(ground truth, prediction)`` paths, sorted; checks both exist."""
    _check_dataset(dataset)
    data_root, pred_dir = Path(data_root), Path(pred_dir)
    if dataset == "cityscapes":
        gt_dir = data_root / "gtFine" / split
        pattern = "*/*_gtFine_labelTrainIds.png"
    else:
        if split not in _ADE20K_SPLITS:
            raise InvalidInputError(
                f"unknown ADE20K split {split!r}: expected one of {sorted(_ADE20K_SPLITS)}"
            )
        gt_dir = data_root / "annotations" / _ADE20K_SPLITS[split]
        pattern = "*.png"
    gt_files = sorted(gt_dir.glob(pattern))
    if not gt_files:
        raise MissingFileError(
            f"no ground truth in {gt_dir}: expected {gt_dir / pattern} "
            f"(the {dataset} layout under --data-root {data_root})"
        )
    if not pred_dir.is_dir():
        raise MissingFileError(f"prediction folder {pred_dir} does not exist")

    def prediction_name(gt: Path) -> str:
        if dataset != "cityscapes":
            return gt.name
        try:
            return cityscapes_prediction_name(gt)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from exc

    pairs = [(gt, pred_dir / prediction_name(gt)) for gt in gt_files]
    # Before any image is read: a run over 2000 images should not fail at the end.
    missing = [(gt, pred) for gt, pred in pairs if not pred.is_file()]
    if missing:
        gt, pred = missing[0]
        more = f" ({len(missing) - 1} more predictions missing)" if len(missing) > 1 else ""
        raise MissingFileError(f"no prediction for ground truth {gt}: expected {pred}{more}")
    return pairs


def evaluate_folder(
    *,
    dataset: str,
    data_root: str | Path,
    split: str,
    pred_dir: str | Path,
    train_ids: bool = False,
    nproc: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Score every prediction of a split; the same numbers as the training-time metric.

    Args:
        dataset: ``'cityscapes'`` or ``'ade20k'``.
        data_root: the dataset root (``data/cityscapes``, ``data/ade/ADEChallengeData2016``).
        split: ``'val'``, ``'train'``, ... (ADE20K also accepts ``'validation'``,
            ``'training'``).
        pred_dir: the folder of prediction PNGs (official format, see module docstring).
        train_ids: the Cityscapes predictions hold train ids instead of label ids
            (ADE20K: 0..149 instead of 1..150).
        nproc: worker processes reading the PNGs.
        progress: show a progress bar on stderr.

    Returns:
        :func:`~hrnet_seg.evaluation.summarize`'s summary (percent) plus ``dataset``,
        ``split``, ``num_images`` and ``pred_dir``.
    """
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise InvalidInputError(f"nproc must be a positive int, got {nproc!r}")
    names = class_names(dataset)
    pairs = find_pairs(dataset=dataset, data_root=data_root, split=split, pred_dir=pred_dir)
    tasks = [(gt, pred, dataset, train_ids, len(names)) for gt, pred in pairs]

    matrix = np.zeros((len(names), len(names) + 1), dtype=np.int64)
    if nproc == 1:
        matrices = map(_image_confusion, tasks)
        matrix = _accumulate(matrix, matrices, len(tasks), progress)
    else:
        # Summed as they arrive: a list of 2000 ADE20K matrices would be 360 MB.
        with multiprocessing.Pool(nproc, initializer=torch.set_num_threads, initargs=(1,)) as pool:
            matrices = pool.imap_unordered(_image_confusion, tasks, chunksize=4)
            matrix = _accumulate(matrix, matrices, len(tasks), progress)

    summary = summarize(matrix, class_names=names)
    return {
        **summary,
        "dataset": dataset,
        "split": split,
        "num_images": len(pairs),
        "pred_dir": str(pred_dir),
    }


def _accumulate(matrix: np.ndarray, matrices, total: int, progress: bool) -> np.ndarray:
    bar = Progress(total, what="images", file=sys.stderr) if progress else None
    try:
        for image in matrices:
            matrix += image
            if bar is not None:
                bar.update()
    finally:  # also on an error: end the bar's line, so that the message starts a line
        if bar is not None:
            bar.close()
    return matrix


def _image_confusion(task: tuple[Path, Path, str, bool, int]) -> np.ndarray:
    gt_path, pred_path, dataset, train_ids, num_classes = task
    gt = read_label_png(gt_path, what="ground truth")
    if dataset == "ade20k":
        gt = reduce_zero_label(gt)
    pred = read_prediction(pred_path, dataset=dataset, train_ids=train_ids)
    if pred.shape != gt.shape:
        raise SizeMismatchError(
            f"prediction {pred_path} is {pred.shape[1]}x{pred.shape[0]} (WxH) but its ground "
            f"truth {gt_path} is {gt.shape[1]}x{gt.shape[0]}: expected a prediction at the "
            "ground truth's full resolution"
        )
    image = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(gt), num_classes=num_classes)
    return image.numpy()


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise InvalidInputError(f"dataset must be one of {DATASETS}, got {dataset!r}")
