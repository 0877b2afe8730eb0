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


class PretrainedNotFoundError(UserError, FileNotFoundError):
    """A configured pretrained checkpoint does not exist locally."""


def require_pretrained_file(path: str, *, key: str = "model.backbone.pretrained") -> str:
    """Return ``path`` if it is a file, else raise a :class:`PretrainedNotFoundError`
    that says where to get the file and how to train from scratch instead."""
    if os.path.isfile(path):
        return path
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
            parts.append(f"dropped {len(self.dropped)} classification-head keys")
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
        return _strip(state, "backbone."), "mmseg", []
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
    preset = next((k for k, v in HRNET_ARCHS.items() if v == arch), "custom spec")
    return f"{name}(arch={preset!r})"


def load_backbone_weights(model: nn.Module, path: str, *, strict: bool = True) -> LoadReport:
    """Load an HRNet backbone checkpoint of any supported layout into ``model``.

    Raises:
        CheckpointMismatchError: when shapes differ, or (``strict``) when backbone
            keys are missing or unexpected. The message lists the first mismatches.
    """
    state, layout, dropped = extract_backbone_state_dict(load_checkpoint_file(path))
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


def check_pretrained_in_config(model_cfg: Mapping) -> None:
    """Fail fast, before datasets and runners are built, when the config names a
    pretrained backbone file that is not there."""
    backbone = model_cfg.get("backbone") or {}
    path = backbone.get("pretrained")
    init_cfg = backbone.get("init_cfg")
    key = "model.backbone.pretrained"
    if not path and isinstance(init_cfg, Mapping) and init_cfg.get("type") == "Pretrained":
        path, key = init_cfg.get("checkpoint"), "model.backbone.init_cfg.checkpoint"
    if path:
        require_pretrained_file(path, key=key)
