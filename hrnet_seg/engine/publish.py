"""A training checkpoint as a file to share: weights and plain metadata only.

A checkpoint saved during training also holds the optimizer, the schedulers and
mmengine's ``message_hub`` (``HistoryBuffer`` objects and numpy values). Since torch
2.6, ``torch.load`` reads with ``weights_only=True`` by default and refuses those
classes, so mmseg's own ``tools/test.py`` (mmengine's ``load_checkpoint``) cannot open
such a file, ours or mmseg's. The published file keeps ``state_dict`` (tensors) and
``meta`` reduced to plain Python values, which any ``torch.load(weights_only=True)``
reads, and gets the first 8 hex digits of its sha256 in its name, as mmseg's
``tools/model_converters/publish_model.py`` names files.
"""

from __future__ import annotations

import hashlib
import os
import os.path as osp

import torch

from ..errors import UserError
from ..utils.torch_load import load_checkpoint_file
from .checkpoint import fsync_and_replace

#: ``meta`` keys worth sharing (mmengine's CheckpointHook writes them).
KEPT_META = (
    "iter",
    "epoch",
    "seed",
    "dataset_meta",
    "cfg",
    "mmengine_version",
    "time",
    "experiment_name",
)


class PublishError(UserError, ValueError):
    """A file that is not a checkpoint with a ``state_dict``."""


def plain(value):
    """``value`` as built-in Python types (numpy scalars and arrays become numbers and
    lists); ``None`` for anything else, which is dropped."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "tolist") and not isinstance(value, torch.Tensor):  # numpy
        return value.tolist()
    if isinstance(value, list | tuple):
        items = [plain(v) for v in value]
        return items if all(i is not None for i in items) else None
    if isinstance(value, dict):
        kept = {str(k): plain(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None}
    return None


def published_checkpoint(checkpoint: dict, *, src: str) -> dict:
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not state:
        raise PublishError(
            f"{src} holds no state_dict: expected a checkpoint saved by tools/train.py "
            "(or any mmengine runner)."
        )
    weights = {k: v.detach().cpu() for k, v in state.items() if isinstance(v, torch.Tensor)}
    meta = checkpoint.get("meta") if isinstance(checkpoint.get("meta"), dict) else {}
    kept = plain({k: meta[k] for k in KEPT_META if k in meta}) or {}
    kept["published_from"] = osp.basename(src)
    return {"state_dict": weights, "meta": kept}


def publish(src: str, out: str) -> str:
    """Write the published copy of ``src``; ``out``'s name gets ``-<sha256[:8]>`` before
    ``.pth``. Returns the path written."""
    checkpoint = load_checkpoint_file(src)
    published = published_checkpoint(checkpoint, src=src)
    stem = out[:-4] if out.endswith(".pth") else out
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = f"{stem}.pth.tmp"
    torch.save(published, tmp)
    digest = hashlib.sha256()
    with open(tmp, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    final = f"{stem}-{digest.hexdigest()[:8]}.pth"
    fsync_and_replace(tmp, final)
    return final
