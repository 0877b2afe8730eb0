"""Writing test predictions: official benchmark PNGs (``--out``) and colour overlays
(``--show-dir``)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...evaluation.export import write_ade20k_prediction, write_cityscapes_prediction

FORMATS = ("cityscapes", "ade20k")


@HOOKS.register_module()
class PredictionWriterHook(Hook):
    """After each test batch, write every prediction.

    Args:
        out_dir: official-format PNGs: Cityscapes labelIds named
            ``<city>_<seq>_<frame>_leftImg8bit.png``, or ADE20K ``<stem>.png`` in 1..150.
        show_dir: ``<stem>.png`` overlays of the prediction's class colours on the image.
        dataset_format: ``'cityscapes'`` or ``'ade20k'``.
        alpha: overlay opacity.
    """

    priority = "LOW"

    def __init__(
        self,
        *,
        dataset_format: str,
        out_dir: str | None = None,
        show_dir: str | None = None,
        alpha: float = 0.5,
    ) -> None:
        if dataset_format not in FORMATS:
            raise ValueError(f"dataset_format: expected one of {FORMATS}, got {dataset_format!r}")
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha: expected 0..1, got {alpha}")
        self.dataset_format = dataset_format
        self.out_dir = out_dir
        self.show_dir = show_dir
        self.alpha = alpha
        for folder in (out_dir, show_dir):
            if folder:
                os.makedirs(folder, exist_ok=True)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        palette = np.array(runner.test_dataloader.dataset.metainfo["palette"], dtype=np.uint8)
        for sample in outputs or []:
            pred = sample.pred_sem_seg.data.squeeze(0).cpu().numpy().astype(np.uint8)
            img_path = sample.metainfo["img_path"]
            if self.out_dir:
                if self.dataset_format == "cityscapes":
                    write_cityscapes_prediction(pred, img_path=img_path, out_dir=self.out_dir)
                else:
                    write_ade20k_prediction(
                        pred,
                        img_path=img_path,
                        out_dir=self.out_dir,
                        reduce_zero_label=sample.metainfo.get("reduce_zero_label", True),
                    )
            if self.show_dir:
                self._overlay(img_path, pred, palette)

    def _overlay(self, img_path: str, pred: np.ndarray, palette: np.ndarray) -> None:
        image = cv2.imread(img_path, cv2.IMREAD_COLOR)  # BGR
        colours = np.zeros((*pred.shape, 3), dtype=np.uint8)
        valid = pred < len(palette)
        colours[valid] = palette[pred[valid]][:, ::-1]  # palette is RGB
        if image is None or image.shape[:2] != pred.shape:
            blended = colours
        else:
            blended = cv2.addWeighted(image, 1 - self.alpha, colours, self.alpha, 0)
        cv2.imwrite(str(Path(self.show_dir) / f"{Path(img_path).stem}.png"), blended)
