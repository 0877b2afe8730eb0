"""What an exported model says about itself (ONNX ``metadata_props``): enough to use it
without its config (classes, palette, normalisation, the test pipeline's resize) and to
tell which config and checkpoint it came from.

Every value is a string (ONNX's rule); lists and dicts are JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from mmengine.config import Config

from .graph import INPUT_LAYOUT, INPUT_NAME, LABELS_NAME, LOGITS_NAME
from .model import DeployError

FORMAT_VERSION = "1"
PREFIX = "hrnet_seg."
# The pipeline steps that read files or pack tensors; the rest (resizes) is what
# happens to an image between decoding and the model.
# The steps a model file may ask for, by exact name. mmengine's registry imports any
# dotted type ("os.system") it is given: a step named in a file from a stranger must be
# one of these resizes, or loading the model would run the file's choice of code.
SAFE_STEPS = ("Resize", "ResizeToMultiple", "ResizeShortestEdge")
_IO_STEPS = ("LoadImageFromFile", "LoadImageFromNDArray", "LoadAnnotations", "PackSegInputs")


def config_sha256(cfg: Config) -> str:
    """A hash of the resolved config (bases merged, ``--cfg-options`` applied): the same
    for the same settings whatever the file's formatting."""
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_metainfo(cfg: Config) -> dict:
    """Class names and palette (RGB) of the config's test dataset class."""
    from mmseg.registry import DATASETS

    dataset = cfg.test_dataloader.dataset
    cls = DATASETS.get(dataset.type) if isinstance(dataset.type, str) else dataset.type
    info = dict(getattr(cls, "METAINFO", {}) or {})
    info.update(dataset.get("metainfo") or {})
    classes = [str(c) for c in info.get("classes", ())]
    palette = [list(map(int, c)) for c in info.get("palette", ())]
    if not classes:
        raise DeployError(
            f"test_dataloader.dataset.type={dataset.type!r} names no classes (METAINFO "
            "'classes'): set test_dataloader.dataset.metainfo=dict(classes=..., palette=...)"
        )
    return dict(classes=classes, palette=palette)


def preprocessing(cfg: Config) -> dict:
    """The data preprocessor's mean and std in RGB order, and the test pipeline's steps
    between decoding and the model."""
    pre = cfg.model.get("module", cfg.model).data_preprocessor
    mean, std = list(map(float, pre.mean)), list(map(float, pre.std))
    if not pre.get("bgr_to_rgb", False):
        # mmseg reads images as BGR; a config without bgr_to_rgb normalises BGR pixels.
        mean, std = mean[::-1], std[::-1]
    steps = [dict(step) for step in cfg.test_dataloader.dataset.pipeline]
    resize = [s for s in steps if s.get("type") not in _IO_STEPS]
    unsafe = [s.get("type") for s in resize if s.get("type") not in SAFE_STEPS]
    if unsafe:
        raise DeployError(
            f"test_dataloader.dataset.pipeline: {unsafe} cannot go into an exported model, "
            f"which may ask only for {', '.join(SAFE_STEPS)} before the model (a model file "
            "must not name code to run); use those in the config's test pipeline"
        )
    # Sliding windows are the training crop, by engine.config.configure_test's rule.
    crop = list(pre.get("size") or (512, 1024))
    return dict(mean=mean, std=std, test_pipeline=resize, crop_size=crop)


def build_metadata(
    cfg: Config,
    *,
    config_path: str,
    checkpoint_path: str | None,
    align_corners: bool,
    num_classes: int,
    argmax: bool,
    static_size: tuple[int, int] | None,
    opset: int,
    exporter: str,
) -> dict[str, str]:
    info = dataset_metainfo(cfg)
    pre = preprocessing(cfg)
    values = {
        "format_version": FORMAT_VERSION,
        "input": INPUT_NAME,
        "input_layout": INPUT_LAYOUT,
        "output": LABELS_NAME if argmax else LOGITS_NAME,
        "shape": "static {}x{}".format(*static_size) if static_size else "dynamic N,H,W",
        "num_classes": str(num_classes),
        "classes": json.dumps(info["classes"]),
        "palette": json.dumps(info["palette"]),
        "mean": json.dumps(pre["mean"]),
        "std": json.dumps(pre["std"]),
        "align_corners": json.dumps(bool(align_corners)),
        "test_pipeline": json.dumps(pre["test_pipeline"]),
        "crop_size": json.dumps(pre["crop_size"]),
        "dataset_type": str(cfg.test_dataloader.dataset.type),
        "config": config_path,
        "config_sha256": config_sha256(cfg),
        "checkpoint_sha256": file_sha256(checkpoint_path) if checkpoint_path else "none",
        "opset": str(opset),
        "exporter": exporter,
    }
    return {PREFIX + k: v for k, v in values.items()}


_JSON_KEYS = ("classes", "palette", "mean", "std", "align_corners", "test_pipeline", "crop_size")


def read_metadata(props: Mapping[str, str], *, path: str) -> dict:
    """The values of :func:`build_metadata`, parsed; a model exported otherwise is named
    with what is missing."""
    values = {k[len(PREFIX) :]: v for k, v in props.items() if k.startswith(PREFIX)}
    if not values:
        raise DeployError(
            f"{path}: no hrnet_seg metadata (metadata_props '{PREFIX}*'): it was not "
            "exported by tools/export.py. Export the model with it, or pass --config and "
            "--checkpoint instead of --onnx."
        )
    if values.get("format_version") != FORMAT_VERSION:
        raise DeployError(
            f"{path}: metadata format {values.get('format_version')!r}, this version reads "
            f"{FORMAT_VERSION!r}: export the model again with this version's tools/export.py."
        )
    try:
        parsed = dict(values)
        for key in _JSON_KEYS:
            parsed[key] = json.loads(values[key])
        parsed["num_classes"] = int(values["num_classes"])
        _check_types(parsed)
        parsed["test_pipeline"] = [_tuples(step) for step in parsed["test_pipeline"]]
    except KeyError as exc:
        raise DeployError(f"{path}: metadata '{PREFIX}{exc.args[0]}' is missing") from None
    except ValueError as exc:
        raise DeployError(f"{path}: metadata unreadable: {exc}") from None
    return parsed


def _check_types(meta: dict) -> None:
    """A model file is input like any other: metadata of the wrong shape is named here,
    not met as a traceback where it is used (ValueError -> :class:`DeployError`)."""

    def numbers(value, n):
        return (
            isinstance(value, list)
            and len(value) == n
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        )

    checks = {
        "classes": isinstance(meta["classes"], list)
        and all(isinstance(c, str) for c in meta["classes"])
        and len(meta["classes"]) == meta["num_classes"] > 0,
        "palette": isinstance(meta["palette"], list)
        and len(meta["palette"]) == meta["num_classes"]
        and all(numbers(c, 3) and all(0 <= v <= 255 for v in c) for c in meta["palette"]),
        "mean": numbers(meta["mean"], 3),
        "std": numbers(meta["std"], 3) and all(v > 0 for v in meta["std"]),
        "align_corners": isinstance(meta["align_corners"], bool),
        "crop_size": numbers(meta["crop_size"], 2) and all(v >= 1 for v in meta["crop_size"]),
        "test_pipeline": isinstance(meta["test_pipeline"], list)
        and all(isinstance(t, dict) and t.get("type") in SAFE_STEPS for t in meta["test_pipeline"]),
        "output": meta["output"] in (LOGITS_NAME, LABELS_NAME),
    }
    for key, ok in checks.items():
        if not ok:
            raise ValueError(f"'{PREFIX}{key}' = {meta[key]!r} is not what tools/export.py writes")


def _tuples(value):
    """JSON has no tuples; mmcv's transforms want them (``Resize(scale=(2048, 1024))``)."""
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_tuples(v) for v in value]
        return tuple(items) if all(isinstance(v, (int, float)) for v in items) else items
    return value


def check_matches_config(meta: Mapping, cfg: Config, *, onnx_path: str, config_path: str):
    """A model used with a config must be of that config: same classes and normalisation
    (the settings that change every prediction), else a :class:`DeployError` naming the
    first difference. A differing config hash alone is fine (a renamed work dir)."""
    info = dataset_metainfo(cfg)
    pre = preprocessing(cfg)
    checks = (
        ("classes", meta["classes"], info["classes"]),
        ("mean", meta["mean"], pre["mean"]),
        ("std", meta["std"], pre["std"]),
        (
            "test_pipeline",
            meta["test_pipeline"],
            [_tuples(json.loads(json.dumps(step))) for step in pre["test_pipeline"]],
        ),
    )
    for key, ours, theirs in checks:
        if ours != theirs:
            raise DeployError(
                f"{onnx_path} does not match {config_path}: its {key} is {ours!r}, the "
                f"config's {theirs!r}. Use the config the model was exported from "
                f"({meta.get('config')}), or export the model again from this config."
            )
