"""Which data a dataset root holds: a real dataset, or the built-in generator's.

A score on the built-in data (``tools/make_demo_data.py``: synthetic street scenes in the
Cityscapes layout) says nothing about Cityscapes, yet the layouts are identical. So the
generator leaves a marker, :data:`BUILTIN_MARKER`, in the root it writes: a small JSON
manifest (generator, dataset, splits, image size, seed). The rule, applied when a run
records its results:

- a root that holds the marker file is **built-in**, whatever the file says: a damaged
  or edited manifest never turns synthetic data into "real";
- a root without it is **real**;
- the marker covers the whole root: generating a split into a folder that also holds
  real data marks all of it built-in (never the reverse). Remove the file only after
  replacing every generated split with real data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["BUILTIN", "BUILTIN_MARKER", "REAL", "builtin_manifest", "data_kind", "write_marker"]

BUILTIN_MARKER = "hrnet_seg_builtin_data.json"
BUILTIN, REAL = "built-in", "real"
GENERATOR = "hrnet_seg.datasets.synthetic"


def write_marker(
    root: str | os.PathLike,
    *,
    dataset: str,
    splits: Mapping[str, int],
    size: Sequence[int],
    seed: int,
) -> Path:
    """Write (or extend) the marker of a generated ``root``; returns its path. Splits
    written earlier into the same root stay listed."""
    path = Path(root) / BUILTIN_MARKER
    earlier = builtin_manifest(root) or {}
    listed = earlier.get("splits") if isinstance(earlier.get("splits"), dict) else {}
    manifest = {
        "generator": GENERATOR,
        "dataset": dataset,
        "splits": {**listed, **dict(splits)},
        "size": list(size),
        "seed": seed,
        "note": "synthetic images drawn by tools/make_demo_data.py: scores on them are "
        "not comparable with scores on the real dataset",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def builtin_manifest(root: str | os.PathLike | None) -> dict | None:
    """The marker's manifest when ``root`` holds one; ``{}`` when the marker is there
    but unreadable (still built-in); None for a real root (or no root)."""
    if not root:
        return None
    path = Path(root) / BUILTIN_MARKER
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def data_kind(root: str | os.PathLike | None) -> str | None:
    """:data:`BUILTIN` or :data:`REAL` for a dataset root (see the module's rule); None
    when no root is known."""
    if not root:
        return None
    return BUILTIN if builtin_manifest(root) is not None else REAL
