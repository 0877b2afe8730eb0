"""Writing test predictions: official benchmark PNGs (``--out``) and pictures for a
person to look at (``--show-dir``: image | ground truth | prediction | errors, with a
legend; :mod:`hrnet_seg.evaluation.pictures`)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...datasets.formats import CITYSCAPES, DATASETS
from ...evaluation.export import write_ade20k_prediction, write_cityscapes_prediction
from ...evaluation.pictures import compare


@HOOKS.register_module()
class PredictionWriterHook(Hook):
    """After each test batch, write every prediction.

    Args:
        out_dir: official-format PNGs: Cityscapes labelIds named
            ``<city>_<seq>_<frame>_leftImg8bit.png``, or ADE20K ``<stem>.png`` in 1..150.
        show_dir: ``<stem>.png`` pictures: the image, its ground truth, the prediction
            and where they differ, with a legend of the classes present (image |
            prediction when the split has no labels).
        dataset_format: the format of ``out_dir``, ``'cityscapes'`` or ``'ade20k'``
            (:data:`~hrnet_seg.datasets.formats.DATASETS`); pictures need none.
    """

    priority = "LOW"

    def __init__(
        self,
        *,
        dataset_format: str | None = None,
        out_dir: str | None = None,
        show_dir: str | None = None,
    ) -> None:
        if dataset_format not in (*DATASETS, None) or (out_dir and dataset_format is None):
            raise ValueError(
                f"dataset_format: expected one of {DATASETS}"
                f"{'' if out_dir else ' or None'}, got {dataset_format!r}"
            )
        self.dataset_format = dataset_format
        self.out_dir = out_dir
        self.show_dir = show_dir
        for folder in (out_dir, show_dir):
            if folder:
                os.makedirs(folder, exist_ok=True)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        dataset = runner.test_dataloader.dataset
        for sample in outputs or []:
            pred = sample.pred_sem_seg.data.squeeze(0).cpu().numpy().astype(np.uint8)
            img_path = sample.metainfo["img_path"]
            if self.out_dir:
                if self.dataset_format == CITYSCAPES.key:
                    write_cityscapes_prediction(pred, img_path=img_path, out_dir=self.out_dir)
                else:  # ade20k
                    write_ade20k_prediction(
                        pred,
                        img_path=img_path,
                        out_dir=self.out_dir,
                        reduce_zero_label=sample.metainfo.get("reduce_zero_label", True),
                    )
            if self.show_dir:
                gt = sample.get("gt_sem_seg")
                gt = None if gt is None else gt.data.squeeze(0).cpu().numpy()
                self._picture(img_path, pred, gt, dataset)

    def _picture(self, img_path: str, pred: np.ndarray, gt, dataset) -> None:
        image = cv2.imread(img_path, cv2.IMREAD_COLOR)
        if image is None or image.shape[:2] != pred.shape:
            image = np.full((*pred.shape, 3), 128, dtype=np.uint8)  # unreadable: grey
        else:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        picture = compare(
            image,
            pred,
            classes=dataset.metainfo["classes"],
            palette=dataset.metainfo["palette"],
            gt=gt,
            ignore_index=getattr(dataset, "ignore_index", 255),
        )
        path = Path(self.show_dir) / f"{Path(img_path).stem}.png"
        cv2.imwrite(str(path), cv2.cvtColor(picture.image, cv2.COLOR_RGB2BGR))
