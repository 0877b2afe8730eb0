"""``ConfusionMatrixMetric``: mmseg's mIoU / mAcc / aAcc, exact under any number of ranks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from mmengine.dist import all_reduce
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub, print_log
from mmseg.registry import METRICS

from .confusion import confusion_matrix, format_table, summarize

__all__ = ["ConfusionMatrixMetric"]


@METRICS.register_module()
class ConfusionMatrixMetric(BaseMetric):
    """Semantic segmentation scores from one confusion matrix, all-reduced across ranks.

    A drop-in for mmseg's ``IoUMetric`` (``iou_metrics=['mIoU']``): the same keys
    (``aAcc``, ``mIoU``, ``mAcc``, in percent, not rounded) and the same per-class
    table, but the state is a single ``(K, K + 1)`` int64 matrix on the prediction's
    device instead of a list of per-image results.

    Distributed evaluation: :meth:`evaluate` all-reduces the matrix (an exact integer
    sum) and every rank computes the same scores. ``BaseMetric.collect_results`` is not
    used: it gathers every per-image result on rank 0 (through a temporary directory
    under the working directory, which must then be shared between nodes, or through
    ``all_gather_object``) and keeps the first ``size`` of them, assuming that the
    sampler padded the last ranks with duplicates. Here nothing is dropped, so the
    val/test samplers must not duplicate samples: use
    ``sampler=dict(type='DefaultSampler', shuffle=False, round_up=False)``, where
    ranks may see different numbers of images. :meth:`evaluate` checks that the ranks
    evaluated exactly ``size`` images in total and raises otherwise.

    Args:
        ignore_index: ground-truth value of pixels that are not evaluated.
        iou_metrics: accepted for config compatibility with ``IoUMetric``; only
            ``'mIoU'`` (which also reports ``mAcc`` and ``aAcc``) is supported.
        nan_to_num: replace NaN per-class scores by this value before averaging, as
            ``IoUMetric(nan_to_num=...)`` does; by default absent classes are skipped.
        collect_device: accepted for config compatibility; the all-reduce runs on the
            process group's device whatever its value.
        prefix: prepended to the returned keys as ``'{prefix}/mIoU'``.

    After each :meth:`evaluate`, the full summary (per-class IoU and accuracy, see
    :func:`~hrnet_seg.evaluation.summarize`) is in :attr:`last_summary` and in the
    current ``MessageHub`` under ``'eval/summary'``.

    Example:
        >>> metric = ConfusionMatrixMetric(prefix="val")
        >>> metric.dataset_meta = dict(classes=("road", "car"))
        >>> sample = dict(
        ...     pred_sem_seg=dict(data=torch.tensor([[[0, 1], [1, 1]]])),
        ...     gt_sem_seg=dict(data=torch.tensor([[[0, 0], [1, 255]]])),
        ... )
        >>> metric.process({}, [sample])
        >>> metric.evaluate(1)
        {'val/aAcc': 66.66666666666666, 'val/mIoU': 50.0, 'val/mAcc': 75.0}
    """

    def __init__(
        self,
        *,
        ignore_index: int = 255,
        iou_metrics: Sequence[str] = ("mIoU",),
        nan_to_num: float | None = None,
        collect_device: str = "cpu",
        prefix: str | None = None,
    ) -> None:
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise TypeError(f"ignore_index must be an int, got {ignore_index!r}")
        metrics = [iou_metrics] if isinstance(iou_metrics, str) else list(iou_metrics)
        if metrics != ["mIoU"]:
            raise ValueError(
                f"ConfusionMatrixMetric computes iou_metrics=['mIoU'] (with mAcc and aAcc), "
                f"got {metrics!r}; use mmseg's IoUMetric for mDice / mFscore"
            )
        if nan_to_num is not None and not isinstance(nan_to_num, int | float):
            raise TypeError(f"nan_to_num must be a number or None, got {nan_to_num!r}")
        if collect_device not in ("cpu", "gpu"):
            raise ValueError(f"collect_device must be 'cpu' or 'gpu', got {collect_device!r}")
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index
        self.nan_to_num = nan_to_num
        self.last_summary: dict[str, Any] | None = None
        #: The (K, K+1) counts of the last ``compute_metrics`` (rows: ground truth, the
        #: last column: ignored pixels), on the CPU; the W&B hook logs it as a confusion
        #: matrix. None before the first evaluation.
        self.last_matrix: torch.Tensor | None = None
        self._matrix: torch.Tensor | None = None
        self._num_samples = 0

    @property
    def class_names(self) -> list[str]:
        meta = self.dataset_meta
        if not meta or "classes" not in meta:
            raise RuntimeError(
                "ConfusionMatrixMetric needs dataset_meta['classes']; the runner sets it "
                "from the dataset, a script must set `metric.dataset_meta` itself"
            )
        return list(meta["classes"])

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Add the batch's ``(gt_sem_seg, pred_sem_seg)`` pairs to the matrix."""
        num_classes = len(self.class_names)
        for sample in data_samples:
            pred = _sample_data(sample, "pred_sem_seg")
            label = _sample_data(sample, "gt_sem_seg").to(pred.device)
            image = confusion_matrix(
                pred, label, num_classes=num_classes, ignore_index=self.ignore_index
            )
            self._matrix = image if self._matrix is None else self._matrix.add_(image)
            self._num_samples += 1

    def compute_metrics(self, results: list) -> dict:  # pragma: no cover - unused
        raise NotImplementedError("ConfusionMatrixMetric computes everything in evaluate()")

    def evaluate(self, size: int) -> dict[str, float]:
        """All-reduce the matrix, score it on every rank, log the table and reset.

        Args:
            size: the number of images in the dataset; the ranks together must have
                processed exactly this many.
        """
        class_names = self.class_names
        k = len(class_names)
        matrix = self._matrix
        if matrix is None:  # this rank saw no image (more ranks than images)
            matrix = torch.zeros((k, k + 1), dtype=torch.int64)
        # One collective for the matrix and the image count together.
        packed = torch.cat([matrix.reshape(-1), matrix.new_tensor([self._num_samples])])
        all_reduce(packed, op="sum")
        matrix, num_samples = packed[:-1].view(k, k + 1), int(packed[-1])
        self._matrix, self._num_samples = None, 0
        if num_samples != size:
            raise ValueError(
                f"the ranks evaluated {num_samples} images but the dataset has {size}: "
                "the val/test sampler duplicates or skips images. Use "
                "sampler=dict(type='DefaultSampler', shuffle=False, round_up=False)"
            )

        summary = summarize(matrix, class_names=class_names, nan_to_num=self.nan_to_num)
        self.last_summary = summary
        self.last_matrix = matrix.cpu()  # (K, K+1) counts, for the W&B confusion matrix
        # Transient: the latest evaluation, not training state to resume.
        MessageHub.get_current_instance().update_info("eval/summary", summary, resumed=False)
        print_log("per class results:", logger="current")
        print_log("\n" + format_table(summary), logger="current", level=logging.INFO)

        metrics = {key: summary[key] for key in ("aAcc", "mIoU", "mAcc")}
        if self.prefix:
            metrics = {f"{self.prefix}/{key}": value for key, value in metrics.items()}
        return metrics


def _sample_data(sample: Any, key: str) -> torch.Tensor:
    # mmengine's Evaluator hands metrics dicts (SegDataSample.to_dict()); scripts may
    # pass the SegDataSample itself.
    if isinstance(sample, dict):
        return sample[key]["data"]
    return getattr(sample, key).data
