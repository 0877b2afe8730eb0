"""The inference API: label maps for images, from a checkpoint or an exported model.

    from hrnet_seg import Segmenter
    seg = Segmenter("configs/hrnet_w48_ocr_cityscapes.py", "iter_80000.pth", device="cuda")
    labels = seg("frankfurt_000000_000294_leftImg8bit.png")   # H x W uint8, train ids
    seg = Segmenter.from_onnx("m.onnx")                          # the same, ONNX Runtime
    picture = seg.overlay(image, labels)

Predictions are ``tools/test.py``'s: a checkpoint runs through the config's own test
pipeline and mmseg's ``test_step`` (whole, slide, or multi-scale + flip), as the runner
does in evaluation. An ONNX model runs the same resize (the test pipeline stored in its
metadata), the exported whole-image graph (or its sliding windows, mmseg's rule), and
the resize of the logits back to the image with the model's ``align_corners``.

Images: a path (decoded as mmseg decodes it), an H x W x 3 uint8 array in RGB order (as
PIL / imageio give it), an N x H x W x 3 array, or a list of those.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..models.inference import slide_test_cfg
from .model import MODES, DeployError, LoadedModel, load_model

ImageLike = str | os.PathLike | np.ndarray


class Segmenter:
    """Label maps (train ids; ``official_ids=True`` for the benchmark's ids) for images.

    Args:
        config: the config the checkpoint was trained with.
        checkpoint: its weights (read with ``weights_only=True``: a checkpoint never
            runs code).
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``...
        mode: ``'whole'`` (the zoo's protocol), ``'slide'`` (windows of the training
            crop), ``'tta'`` (multi-scale 0.5-1.75 + flip, checkpoint only).
        batch_size: images of one size run together (video frames).
    """

    def __init__(
        self,
        config: str,
        checkpoint: str | None,
        *,
        device: str = "cpu",
        mode: str = "whole",
        batch_size: int = 4,
        cfg_options: dict | None = None,
    ) -> None:
        _check_batch_size(batch_size)
        self._loaded: LoadedModel | None = load_model(
            config, checkpoint, mode=mode, device=device, cfg_options=cfg_options
        )
        from .metadata import dataset_metainfo

        info = dataset_metainfo(self._loaded.cfg)
        self.classes: tuple[str, ...] = tuple(info["classes"])
        self.palette = np.array(info["palette"], dtype=np.uint8).reshape(-1, 3)
        self.dataset_type = str(self._loaded.cfg.test_dataloader.dataset.type)
        self.mode = mode
        self.batch_size = batch_size
        self._onnx = None
        pipeline = (
            self._loaded.cfg.tta_pipeline
            if mode == "tta"
            else self._loaded.cfg.test_dataloader.dataset.pipeline
        )
        self._steps = _without_annotations(pipeline)
        self._pipelines: dict = {}

    @classmethod
    def from_onnx(
        cls,
        path: str,
        *,
        mode: str = "whole",
        batch_size: int = 4,
        providers: Sequence[str] | None = None,
        config: str | None = None,
        cfg_options: dict | None = None,
    ) -> Segmenter:
        """A model exported by ``tools/export.py`` in ONNX Runtime (CPU unless
        ``providers`` says otherwise). ``config`` (with ``cfg_options``): check that the
        model was exported from it."""
        from .onnx import OnnxModel

        _check_batch_size(batch_size)
        if mode not in MODES:
            raise DeployError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
        if mode == "tta":
            raise DeployError(
                "mode 'tta' (multi-scale + flip) runs from the checkpoint: "
                "Segmenter(config, checkpoint, mode='tta') or tools/infer.py --config ... "
                "--checkpoint ... --mode tta"
            )
        onnx = OnnxModel(path, providers=providers)
        meta = onnx.meta
        if config is not None:
            from .metadata import check_matches_config
            from .model import load_config_for_inference

            cfg = load_config_for_inference(config, cfg_options=cfg_options)
            check_matches_config(meta, cfg, onnx_path=path, config_path=config)
        if mode == "slide" and meta["output"] != "logits":
            raise DeployError(
                f"{path} outputs labels (exported with --argmax): sliding windows average "
                "logits; export without --argmax for mode 'slide'"
            )
        self = cls.__new__(cls)
        self._loaded = None
        self._onnx = onnx
        self.classes = tuple(meta["classes"])
        self.palette = np.array(meta["palette"], dtype=np.uint8).reshape(-1, 3)
        self.dataset_type = meta["dataset_type"]
        self.mode = mode
        self.batch_size = batch_size
        self._steps = [dict(type="LoadImageFromFile"), *meta["test_pipeline"]]
        self._pipelines = {}
        try:  # the steps come from the file: build them now, so a bad one is named here
            self._pipelines["file"] = _compose(self._steps)
        except Exception as exc:  # the registry's KeyError, a transform's TypeError
            raise DeployError(
                f"{path}: its test pipeline {meta['test_pipeline']!r} cannot be built "
                f"({type(exc).__name__}: {exc}); export the model again with tools/export.py"
            ) from None
        return self

    # -- prediction ---------------------------------------------------------------

    def __call__(
        self, images: ImageLike | Sequence[ImageLike], *, official_ids: bool = False
    ) -> np.ndarray | list[np.ndarray]:
        """Label maps, uint8 H x W, one per image: an array for one image (or a 3-D
        array), a list for a list or a 4-D array."""
        items, single = _as_items(images)
        labels = self.predict(items)
        if official_ids:
            labels = [self.to_official_ids(label) for label in labels]
        return labels[0] if single else labels

    def predict(self, items: Sequence[ImageLike]) -> list[np.ndarray]:
        results: list[np.ndarray | None] = [None] * len(items)
        # Consecutive images of one size form a batch (mmseg stacks without padding).
        prepared = [self._prepare(item) for item in items]
        start = 0
        while start < len(prepared):
            stop = start + 1
            while (
                stop < len(prepared)
                and stop - start < self.batch_size
                and _shape_key(prepared[stop]) == _shape_key(prepared[start])
            ):
                stop += 1
            batch = prepared[start:stop]
            labels = self._run_torch(batch) if self._onnx is None else self._run_onnx(batch)
            results[start:stop] = labels
            start = stop
        return results  # type: ignore[return-value]

    def _prepare(self, item: ImageLike) -> dict:
        if isinstance(item, np.ndarray):
            image = _check_array(item)
            name = "<array>"
            # mmseg's pipelines work in BGR, as cv2 decodes.
            data, pipeline = dict(img=np.ascontiguousarray(image[..., ::-1])), "array"
        else:
            name = os.fspath(item)
            if not os.path.isfile(name):
                raise DeployError(f"Image not found: {name!r}")
            data, pipeline = dict(img_path=name), "file"
        if pipeline not in self._pipelines:
            steps = [dict(step) for step in self._steps]
            if pipeline == "array":
                steps[0] = dict(type="LoadImageFromNDArray")
            self._pipelines[pipeline] = _compose(steps)
        try:
            out = self._pipelines[pipeline](data)
        except Exception as exc:  # the decoder's own errors
            reason = " ".join(str(exc).split())  # cv2's messages run over several lines
            raise DeployError(f"Cannot read image {name!r}: {reason}") from None
        if out is None:
            raise DeployError(f"Cannot read image {name!r}: not a decodable image")
        return out

    def _run_torch(self, batch: list[dict]) -> list[np.ndarray]:
        from mmengine.dataset import pseudo_collate

        with torch.no_grad():
            samples = self._loaded.model.test_step(pseudo_collate(batch))
        return [s.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8) for s in samples]

    def _run_onnx(self, batch: list[dict]) -> list[np.ndarray]:
        meta = self._onnx.meta
        images = np.stack([d["img"][..., ::-1] for d in batch])  # BGR -> RGB
        logits = self._slide(images) if self.mode == "slide" else self._onnx.run(images)
        if meta["output"] == "labels":
            out = torch.from_numpy(logits.astype(np.int64))[:, None].float()
            resized = [
                F.interpolate(out[i : i + 1], size=d["ori_shape"], mode="nearest")[0, 0]
                for i, d in enumerate(batch)
            ]
            return [r.numpy().astype(np.uint8) for r in resized]
        logits = torch.from_numpy(logits)
        labels = []
        for i, d in enumerate(batch):
            # mmseg's postprocess_result: bilinear to the original size, then argmax.
            full = F.interpolate(
                logits[i : i + 1],
                size=d["ori_shape"],
                mode="bilinear",
                align_corners=meta["align_corners"],
            )
            labels.append(full[0].argmax(0).numpy().astype(np.uint8))
        return labels

    def _slide(self, images: np.ndarray) -> np.ndarray:
        """mmseg's ``slide_inference`` over the exported graph: windows of the training
        crop, logits averaged where they overlap."""
        meta = self._onnx.meta
        cfg = slide_test_cfg(meta["crop_size"])
        (h_crop, w_crop), (h_stride, w_stride) = cfg.crop_size, cfg.stride
        n, h_img, w_img, _ = images.shape
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        preds = np.zeros((n, meta["num_classes"], h_img, w_img), dtype=np.float32)
        count = np.zeros((1, 1, h_img, w_img), dtype=np.float32)
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y2 = min(h_idx * h_stride + h_crop, h_img)
                x2 = min(w_idx * w_stride + w_crop, w_img)
                y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
                preds[:, :, y1:y2, x1:x2] += self._onnx.run(images[:, y1:y2, x1:x2])
                count[:, :, y1:y2, x1:x2] += 1
        return preds / count

    # -- labels and pictures ------------------------------------------------------

    def to_official_ids(self, labels: np.ndarray) -> np.ndarray:
        """Train ids as the benchmark's ids: Cityscapes label ids (7 = road, ...; no class
        -> 0), ADE20K 1..150 (no class -> 0)."""
        from ..datasets.formats import format_of
        from ..evaluation.export import cityscapes_label_ids

        fmt = format_of(self.dataset_type)
        if fmt is None:
            raise DeployError(
                f"official ids are defined for Cityscapes and ADE20K, not for "
                f"{self.dataset_type!r}: use the train ids"
            )
        if fmt.key == "cityscapes":
            return cityscapes_label_ids(labels)
        return labels.astype(np.uint8) + np.uint8(1)  # 255 (no class) wraps to 0

    def overlay(
        self, image: ImageLike, labels: np.ndarray, *, alpha: float = 0.5, legend: bool = True
    ) -> np.ndarray:
        """The image (RGB) with the labels' palette colours blended in and, below it, a
        legend of the classes present. Returns an RGB uint8 array."""
        from ..evaluation.pictures import overlay as draw_overlay

        if not isinstance(image, np.ndarray):
            image = read_rgb(image)
        return draw_overlay(
            _check_array(image),
            labels,
            palette=self.palette,
            classes=self.classes,
            alpha=alpha,
            legend=legend,
        )


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """An image file as RGB uint8, decoded as mmseg decodes it (cv2)."""
    import mmcv

    path = os.fspath(path)
    image = mmcv.imread(path, flag="color", backend="cv2") if os.path.isfile(path) else None
    if image is None:
        raise DeployError(f"Cannot read image {path!r}: not found or not a decodable image")
    return np.ascontiguousarray(image[..., ::-1])


def _compose(steps: list[dict]):
    """mmseg's transforms as its dataset builds them (registry scope ``mmseg``)."""
    import mmseg.datasets  # noqa: F401  (registers the transforms)
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope

    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance("hrnet_seg_deploy", scope_name="mmseg")
    return Compose(steps)


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise DeployError(f"batch_size: expected an integer >= 1, got {batch_size!r}")


def _check_array(image: np.ndarray) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise DeployError(
            f"expected an H x W x 3 uint8 RGB image, got shape {image.shape} {image.dtype}"
        )
    return image


def _as_items(images) -> tuple[list[ImageLike], bool]:
    if isinstance(images, np.ndarray):
        if images.ndim == 4:
            return list(images), False
        return [images], True
    if isinstance(images, (str, os.PathLike)):
        return [images], True
    items = list(images)
    if not items:
        raise DeployError("no images given")
    return items, False


def _shape_key(prepared: dict):
    inputs = prepared.get("inputs")
    if isinstance(inputs, list):  # TTA: one image at a time
        return id(prepared)
    return tuple(inputs.shape) if inputs is not None else tuple(prepared["img"].shape)


def _without_annotations(pipeline) -> list[dict]:
    """The test pipeline without ``LoadAnnotations`` (an image has no label file)."""

    def strip(steps):
        kept = []
        for step in steps:
            step = dict(step)
            if step.get("type") == "LoadAnnotations":
                continue
            if step.get("type") == "TestTimeAug":
                step["transforms"] = [
                    [t for t in group if t.get("type") != "LoadAnnotations"]
                    for group in step["transforms"]
                ]
                step["transforms"] = [g for g in step["transforms"] if g]
            kept.append(step)
        return kept

    return strip(pipeline)
