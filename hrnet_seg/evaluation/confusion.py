"""The confusion matrix and the scores read from it: IoU, class accuracy, pixel accuracy.

One matrix is the whole state of a semantic segmentation evaluation: it is summed over
images, over batches and over ranks (an all-reduce of integers is exact), and every
score is computed once at the end. This is how torchvision's segmentation reference
and the official Cityscapes evaluator work; averaging per-image or per-rank scores
would not give the dataset's IoU.

Conventions (those of mmseg's ``IoUMetric`` and of ``cityscapesscripts``):

- rows are ground-truth classes, columns predicted classes;
- ground-truth pixels equal to ``ignore_index`` (or outside ``[0, K)``) are not counted;
- a prediction that is not a valid class (255, negative, ``>= K``) on a labelled pixel
  is a false negative of its ground-truth class. It lands in the extra column ``K``,
  so it lowers that class's IoU and accuracy without being a false positive of any
  class;
- a class with a zero denominator (never in the ground truth and never predicted on a
  labelled pixel) has NaN scores and is left out of the means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from prettytable import PrettyTable

from ..records.run_files import nan_to_none  # re-exported: summaries go to JSON

__all__ = ["confusion_matrix", "format_table", "nan_to_none", "summarize"]


def confusion_matrix(
    pred: torch.Tensor,
    label: torch.Tensor,
    *,
    num_classes: int,
    ignore_index: int = 255,
) -> torch.Tensor:
    """Count (ground truth, prediction) pairs of one image or a batch of images.

    Args:
        pred: predicted class indices, any integer dtype, e.g. ``(H, W)`` or ``(N, H, W)``.
        label: ground-truth class indices, the same shape and device as ``pred``.
        num_classes: ``K``, the number of evaluated classes.
        ignore_index: ground-truth value of pixels that are not evaluated.

    Returns:
        An int64 tensor of shape ``(K, K + 1)`` on the inputs' device: entry ``[g, p]``
        counts the labelled pixels of class ``g`` predicted as ``p``, column ``K`` those
        predicted as anything that is not a class.

    Example:
        >>> pred = torch.tensor([[0, 1], [255, 1]])
        >>> label = torch.tensor([[0, 0], [1, 255]])
        >>> confusion_matrix(pred, label, num_classes=2)
        tensor([[1, 1, 0],
                [0, 0, 1]])
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    for name, tensor in (("pred", pred), ("label", label)):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
        if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
            raise TypeError(
                f"{name} must hold integer class indices, got dtype {tensor.dtype}; "
                "take the argmax of the logits first"
            )
    if pred.shape != label.shape:
        raise ValueError(
            f"pred and label must have the same shape, got {tuple(pred.shape)} and "
            f"{tuple(label.shape)}; resize the prediction to the ground truth first"
        )
    if pred.device != label.device:
        raise ValueError(f"pred is on {pred.device} but label is on {label.device}")

    k = num_classes
    # int64 first: uint8 labels would overflow in `label * (k + 1)`.
    pred = pred.long()
    label = label.long()
    labelled = (label != ignore_index) & (label >= 0) & (label < k)
    pred_column = torch.where((pred >= 0) & (pred < k), pred, k)
    # Unlabelled pixels go to one extra bin that is cut off below, rather than being
    # removed by boolean indexing, whose output size needs a device-to-host copy.
    # (On CUDA, bincount itself still reads the input's min and max on the host: one
    # small sync per image. Without weights it is exact and allowed under
    # torch.use_deterministic_algorithms, unlike atomic float scatters.)
    discard = k * (k + 1)
    index = torch.where(labelled, label * (k + 1) + pred_column, discard)
    counts = torch.bincount(index.reshape(-1), minlength=discard + 1)
    return counts[:discard].view(k, k + 1)


def summarize(
    cm: torch.Tensor | np.ndarray,
    *,
    class_names: Sequence[str],
    nan_to_num: float | None = None,
) -> dict[str, Any]:
    """Scores of a confusion matrix, in percent.

    ``IoU_c = TP / (row_c + col_c - TP)``, where ``col_c`` sums column ``c`` over the
    ground-truth rows (predictions on ignored pixels never count), ``Acc_c = TP / row_c``,
    ``aAcc = trace / labelled pixels``; ``mIoU`` and ``mAcc`` are NaN-skipping means.

    Args:
        cm: a ``(K, K + 1)`` matrix from :func:`confusion_matrix` (any device).
        class_names: the ``K`` class names, in class-index order.
        nan_to_num: like mmseg's ``IoUMetric(nan_to_num=...)``: replace NaN scores by
            this value *before* averaging, so that absent classes count in the means.

    Returns:
        ``{"aAcc": float, "mIoU": float, "mAcc": float,
        "per_class": {name: {"IoU": float, "Acc": float}}}``; NaN marks a class that
        was neither in the ground truth nor predicted (see :func:`nan_to_none` for JSON).
    """
    matrix = cm.detach().cpu().numpy() if isinstance(cm, torch.Tensor) else np.asarray(cm)
    names = list(class_names)
    k = len(names)
    if matrix.ndim != 2 or matrix.shape != (k, k + 1):
        raise ValueError(
            f"expected a confusion matrix of shape ({k}, {k + 1}) for {k} class names, "
            f"got {matrix.shape}"
        )
    if np.issubdtype(matrix.dtype, np.floating) or (matrix < 0).any():
        raise ValueError("the confusion matrix must hold non-negative integer counts")
    matrix = matrix.astype(np.int64)

    tp = np.diagonal(matrix[:, :k])
    gt_pixels = matrix.sum(axis=1)
    predicted = matrix[:, :k].sum(axis=0)
    # Integer numerators and denominators, divided once in float64.
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = tp / (gt_pixels + predicted - tp)
        acc = tp / gt_pixels
        a_acc = np.float64(tp.sum()) / gt_pixels.sum()
    if nan_to_num is not None:
        iou, acc, a_acc = (np.nan_to_num(x, nan=nan_to_num) for x in (iou, acc, a_acc))

    return {
        "aAcc": float(a_acc) * 100,
        "mIoU": _nanmean(iou) * 100,
        "mAcc": _nanmean(acc) * 100,
        "per_class": {
            name: {"IoU": float(i) * 100, "Acc": float(a) * 100}
            for name, i, a in zip(names, iou, acc)
        },
    }


def _nanmean(values: np.ndarray) -> float:
    valid = values[~np.isnan(values)]
    # np.nanmean warns on an all-NaN input; an empty evaluation is simply NaN.
    return float(valid.mean()) if valid.size else math.nan


def format_table(summary: dict[str, Any]) -> str:
    """The per-class table as mmseg prints it, then the summary line.

    Example:
        >>> cm = torch.tensor([[3, 1, 0], [0, 4, 0]])
        >>> print(format_table(summarize(cm, class_names=["road", "car"])))
        +-------+-------+--------+
        | Class |  IoU  |  Acc   |
        +-------+-------+--------+
        |  road | 75.00 | 75.00  |
        |  car  | 80.00 | 100.00 |
        +-------+-------+--------+
        aAcc: 87.50  mIoU: 77.50  mAcc: 87.50
    """
    table = PrettyTable()
    table.field_names = ["Class", "IoU", "Acc"]
    for name, scores in summary["per_class"].items():
        table.add_row([name, f"{scores['IoU']:.2f}", f"{scores['Acc']:.2f}"])
    means = "  ".join(f"{key}: {summary[key]:.2f}" for key in ("aAcc", "mIoU", "mAcc"))
    return f"{table.get_string()}\n{means}"
