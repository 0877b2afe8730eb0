"""mmseg's Cityscapes and ADE20K datasets, with checks that turn bad data into
messages naming the file: the layout check (``layout.py``, sizes included) when the file
list is built, and per sample an unreadable image or label values outside the classes."""

from __future__ import annotations

import os

import cv2
import numpy as np
import torch
from mmseg.datasets import ADE20KDataset, CityscapesDataset
from mmseg.registry import DATASETS

from ..errors import UserError
from .formats import ADE20K, CITYSCAPES, DatasetFormat
from .layout import check_split


class CorruptFileError(UserError, OSError):
    """An image or label file that cannot be decoded."""


class LabelValueError(UserError, ValueError):
    """A label map with values that are neither a class nor the ignore index."""


def _readable(path: str) -> bool:
    data = np.fromfile(path, dtype=np.uint8) if os.path.isfile(path) else None
    return (
        data is not None and data.size > 0 and cv2.imdecode(data, cv2.IMREAD_UNCHANGED) is not None
    )


class CheckedDatasetMixin:
    """Adds the checks to an mmseg ``BaseSegDataset`` subclass."""

    FORMAT: DatasetFormat
    LABEL_HINT: str = ""

    def load_data_list(self):
        root = self.data_root or ""
        check_split(
            fmt=self.FORMAT,
            data_root=root,
            img_dir=os.path.relpath(self.data_prefix.get("img_path", ""), root or "."),
            seg_map_dir=os.path.relpath(self.data_prefix.get("seg_map_path", ""), root or "."),
            img_suffix=self.img_suffix,
            seg_map_suffix=self.seg_map_suffix,
            # Here, not in the tools' preflight: once per split, and still before the
            # first iteration (mmengine builds the train and val loaders first).
            sizes=True,
        )
        return super().load_data_list()

    def prepare_data(self, idx):
        try:
            results = super().prepare_data(idx)
        except Exception as exc:
            info = self.get_data_info(idx)
            for key, kind in (("img_path", "image"), ("seg_map_path", "label")):
                path = info.get(key)
                if path and not _readable(path):
                    raise CorruptFileError(
                        f"{self.FORMAT.name}: cannot read the {kind} file {path!r} (empty, "
                        f"truncated or not an image). Restore it from the original download, "
                        f"or remove it and its {'label' if kind == 'image' else 'image'}."
                    ) from exc
            raise
        if results is not None:
            self._check_label_values(results, idx)
        return results

    def _check_label_values(self, results, idx) -> None:
        sample = results.get("data_samples") if isinstance(results, dict) else None
        gt = getattr(sample, "gt_sem_seg", None)
        if gt is None:
            return
        num_classes = len(self.metainfo["classes"])
        values = torch.unique(gt.data)
        bad = values[(values >= num_classes) | (values < 0)]
        bad = bad[bad != self.ignore_index]
        if bad.numel():
            path = self.get_data_info(idx).get("seg_map_path")
            shown = ", ".join(str(v) for v in bad.tolist()[:10])
            raise LabelValueError(
                f"{self.FORMAT.name}: label file {path!r} has values [{shown}] outside the "
                f"{num_classes} classes (0..{num_classes - 1}) and the ignore index "
                f"{self.ignore_index}. {self.LABEL_HINT}"
            )


@DATASETS.register_module()
class CheckedCityscapesDataset(CheckedDatasetMixin, CityscapesDataset):
    """mmseg's ``CityscapesDataset`` (trainId labels) with the checks above."""

    FORMAT = CITYSCAPES
    LABEL_HINT = (
        "Cityscapes labels must be trainIds (*_gtFine_labelTrainIds.png made by "
        "tools/convert_cityscapes.py), not labelIds."
    )


@DATASETS.register_module()
class CheckedADE20KDataset(CheckedDatasetMixin, ADE20KDataset):
    """mmseg's ``ADE20KDataset`` (reduce_zero_label) with the checks above."""

    FORMAT = ADE20K
    LABEL_HINT = (
        "ADE20K annotations hold 0 (other, ignored) and 1..150; check that the files are "
        "the ADEChallengeData2016 annotations and reduce_zero_label=True."
    )
