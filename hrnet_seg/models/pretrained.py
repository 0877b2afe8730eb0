"""Loading HRNet backbone weights from the checkpoint layouts found in the wild.

* Official HRNet ImageNet checkpoints (HRNet-Image-Classification) and timm
  ``hrnet_w*`` state dicts: bare backbone keys plus the classification head
  (``incre_modules``, ``downsamp_modules``, ``final_layer``, ``classifier``), which is
  dropped. timm uses the official parameter names.
* mmseg segmentor checkpoints: ``{'state_dict': {'backbone.*': ...}, 'meta': ...}``.
* Official HRNet-Semantic-Segmentation checkpoints: ``model.*`` keys (backbone part).

Files are read with ``weights_only=True`` and never downloaded.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..errors import UserError
from ..utils.state_dict import CheckpointMismatchError, StateDictDiff, first
from ..utils.torch_load import load_checkpoint_file
from .arch import HRNET_ARCHS

#: Keys of the ImageNet classification head; they have no counterpart in a segmentation backbone.
CLASSIFICATION_HEAD_PREFIXES = (
    "incre_modules.",
    "downsamp_modules.",
    "final_layer.",
    "classifier.",
)
#: Top-level keys of the HRNet backbone in every layout.
BACKBONE_PREFIXES = ("conv1.", "bn1.", "conv2.", "bn2.", "layer1.", "transition", "stage")

README_PRETRAINED = "README section 'Pretrained weights'"
#: What :attr:`LoadReport.dropped` holds, by layout.
DROPPED_KEYS = {
    "hrnet-official-imagenet/timm": "ImageNet classification-head keys",
    # seg_hrnet's `last_layer` (FCN head) or seg_hrnet_ocr's heads: the whole model
    # converts with tools/convert_checkpoint.py.
    "hrnet-official-seg": "segmentation-head keys (official FCN `last_layer` / OCR heads)",
}


class FusionMismatchWarning(UserWarning):
    """A checkpoint trained with one fusion upsampling loaded into the other."""


class PretrainedNotFoundError(UserError, FileNotFoundError):
    """A configured pretrained checkpoint does not exist locally."""


def require_pretrained_file(path: str, *, key: str = "model.backbone.pretrained") -> str:
    """Return ``path`` if it is a file, else raise a :class:`PretrainedNotFoundError`
    that says where to get the file and how to train from scratch instead."""
    if os.path.isfile(path):
        return path
    if "://" in path:  # mmseg's configs name download URLs (open-mmlab://, https://)
        raise PretrainedNotFoundError(
            f"Pretrained checkpoint {path!r} ({key}) is a URL, and nothing is downloaded: "
            f"fetch the file yourself and set `--cfg-options {key}=LOCAL_FILE`, or train "
            "from scratch with `--no-pretrained`."
        )
    raise PretrainedNotFoundError(
        f"Pretrained checkpoint not found: {path!r} ({key}, resolved from {os.getcwd()!r}). "
        f"Nothing is downloaded: get the official HRNet ImageNet weights ({README_PRETRAINED}) "
        f"and put the file at that path, or train from scratch with `--no-pretrained` "
        f"(or `--cfg-options {key}=None`)."
    )


@dataclass
class LoadReport:
    """What a checkpoint load did."""

    path: str
    layout: str
    loaded: int
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"Loaded {self.loaded} backbone tensors from {self.path} (layout: {self.layout})"]
        if self.dropped:
            parts.append(f"dropped {len(self.dropped)} {DROPPED_KEYS[self.layout]}")
        if self.missing:
            parts.append(f"missing {len(self.missing)}: {first(self.missing)}")
        if self.unexpected:
            parts.append(f"unexpected {len(self.unexpected)}: {first(self.unexpected)}")
        return "; ".join(parts)


def _strip(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def extract_backbone_state_dict(checkpoint) -> tuple[dict[str, torch.Tensor], str, list[str]]:
    """Find the backbone weights in a loaded checkpoint.

    Returns ``(state_dict, layout, dropped_keys)`` where ``state_dict`` uses the bare
    backbone names (``conv1.weight``, ``stage2.0.branches...``).
    """
    state = checkpoint
    if isinstance(state, Mapping):
        for key in ("state_dict", "model", "state_dict_ema"):
            inner = state.get(key)
            if isinstance(inner, Mapping) and inner and not isinstance(inner, torch.Tensor):
                state = inner
                break
    if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
        raise CheckpointMismatchError(
            "Checkpoint holds no state dict: expected a dict of tensors, or a dict with "
            "'state_dict' / 'model'"
        )
    state = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if any(k.startswith("module.") for k in state):
        state = _strip(state, "module.")  # saved from a DistributedDataParallel wrapper

    if any(k.startswith("backbone.") for k in state):
        # The official Lite-HRNet checkpoints are mmpose pose models: backbone.* too.
        mmpose = any(k.startswith("keypoint_head.") for k in state)
        return _strip(state, "backbone."), "mmpose" if mmpose else "mmseg", []
    if any(k.startswith("model.") for k in state):
        # Official segmentation checkpoint (FullModel: `model.*` + `loss.*`).
        inner = _strip(state, "model.")
        backbone = {k: v for k, v in inner.items() if k.startswith(BACKBONE_PREFIXES)}
        dropped = sorted(set(inner) - set(backbone))
        return backbone, "hrnet-official-seg", dropped
    dropped = sorted(k for k in state if k.startswith(CLASSIFICATION_HEAD_PREFIXES))
    backbone = {k: v for k, v in state.items() if k not in dropped}
    return backbone, "hrnet-official-imagenet/timm", dropped


def _describe(model: nn.Module) -> str:
    arch = getattr(model, "arch", None)
    name = type(model).__name__
    if arch is None:
        return name
    preset = getattr(model, "arch_name", None) or next(
        (k for k, v in HRNET_ARCHS.items() if v == arch), "custom spec"
    )
    return f"{name}(arch={preset!r})"


def load_backbone_weights(model: nn.Module, path: str, *, strict: bool = True) -> LoadReport:
    """Load an HRNet backbone checkpoint of any supported layout into ``model``.

    Raises:
        CheckpointMismatchError: when shapes differ, or (``strict``) when backbone
            keys are missing or unexpected. The message lists the first mismatches.
    """
    checkpoint = load_checkpoint_file(path)
    state, layout, dropped = extract_backbone_state_dict(checkpoint)
    warn_if_fusion_differs(model, checkpoint, layout=layout, path=path)
    diff = StateDictDiff.compare(model.state_dict(), state)
    if not diff.fits(strict=strict):
        raise diff.error(
            f"Checkpoint {path!r} (layout: {layout}) does not match {_describe(model)}:",
            "Set the backbone's arch to the checkpoint's (e.g. W48 weights need arch='W48'),"
            " or pass pretrained_strict=False to load only what matches.",
        )
    model.load_state_dict(diff.matched, strict=False)
    return LoadReport(
        path=path,
        layout=layout,
        loaded=len(diff.matched),
        missing=diff.missing,
        unexpected=diff.unexpected,
        dropped=dropped,
    )


def trained_upsample(checkpoint, *, layout: str) -> str | None:
    """The fusion upsampling (``'mmseg'`` / ``'official'``) of the model that wrote
    ``checkpoint``, where it is known: from the meta of a converted checkpoint or the
    config mmengine saves with every checkpoint, else from the layout (mmseg's
    ``backbone.*``, the official ``model.*``). ImageNet weights have no fusion of the
    segmentation kind (HRNet-Image-Classification upsamples by nearest): None."""
    meta = checkpoint.get("meta") if isinstance(checkpoint, Mapping) else None
    meta = meta if isinstance(meta, Mapping) else {}
    if meta.get("upsample") in ("mmseg", "official"):
        return meta["upsample"]
    text = meta.get("cfg")
    if isinstance(text, str):
        if re.search(r"type\s*=\s*['\"]HRNet['\"]", text):
            return "mmseg"  # mmseg's own backbone
        found = re.search(r"upsample\s*=\s*['\"](mmseg|official)['\"]", text)
        return found.group(1) if found else None
    return {"mmseg": "mmseg", "hrnet-official-seg": "official"}.get(layout)


def warn_if_fusion_differs(model: nn.Module, checkpoint, *, layout: str, path: str) -> None:
    """One warning when ``checkpoint`` was trained with the other fusion upsampling than
    ``model``'s (an HRNet backbone, or a segmentor with one)."""
    backbone = getattr(model, "backbone", model)
    mode = getattr(backbone, "upsample", None)
    trained = trained_upsample(checkpoint, layout=layout)
    if mode is None or trained is None or trained == mode:
        return
    who = {"mmseg": "mmseg's", "official": "the official code's"}[trained]
    warnings.warn(
        f"{path} was trained with {who} fusion upsampling and this backbone has "
        f"upsample={mode!r}: outputs differ wherever an input side is not a multiple of "
        f"32. To reproduce the checkpoint's model, set the config's reproduce={trained!r} "
        f"(the backbone's upsample={trained!r}; README 'Fidelity: mmseg or official').",
        FusionMismatchWarning,
        stacklevel=2,
    )


def check_pretrained_in_config(model_cfg: Mapping) -> None:
    """Fail fast, before datasets and runners are built, when the config names a
    pretrained backbone file that is not there."""
    backbone = model_cfg.get("backbone") or {}
    path = backbone.get("pretrained")
    init_cfg = backbone.get("init_cfg")
    key = "model.backbone.pretrained"
    if not path and isinstance(init_cfg, Mapping) and init_cfg.get("type") == "Pretrained":
        path, key = init_cfg.get("checkpoint"), "model.backbone.init_cfg.checkpoint"
    if not path and model_cfg.get("pretrained"):  # mmseg's ResNet configs (DeepLabV3+)
        path, key = model_cfg["pretrained"], "model.pretrained"
    if path:
        require_pretrained_file(path, key=key)
