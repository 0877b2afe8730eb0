"""Reading checkpoint files with ``torch.load(weights_only=True)``.

Checkpoints from elsewhere are untrusted pickles. torch >= 2.6 refuses arbitrary
globals by default; rather than turning that off (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``,
which disables it for every file), the few plain-data types that mmengine writes into
its checkpoints' ``meta`` / ``message_hub`` are allow-listed here.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import torch

from ..errors import UserError


def mmengine_safe_globals() -> list:
    """Types found in mmengine / mmseg checkpoints that are plain data."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    # HistoryBuffer pickles its statistics methods as getattr(HistoryBuffer, 'min').
    # Allowing getattr only lets the pickle *fetch* attributes of objects that are
    # themselves allowed: the weights-only unpickler still refuses to call anything
    # that is not on this list.
    safe: list = [HistoryBuffer, np.ndarray, np.dtype, getattr]
    # Pickles name these by the module of the numpy that wrote them (numpy.core in
    # 1.x, numpy._core in 2.x): allow both spellings.
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        safe += [
            (multiarray._reconstruct, f"{module}._reconstruct"),
            (multiarray.scalar, f"{module}.scalar"),
        ]
    # numpy >= 1.25 pickles dtypes as instances of numpy.dtypes.*DType classes.
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        safe += [
            getattr(dtypes, name)
            for name in dir(dtypes)
            if name.endswith("DType") and isinstance(getattr(dtypes, name), type)
        ]
    return safe


def _reason(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "Unsupported global" in line or "WeightsUnpickler error" in line:
            return line
    return lines[0] if lines else type(exc).__name__


class CheckpointNotFoundError(UserError, FileNotFoundError):
    """A checkpoint path that does not exist."""


class CheckpointReadError(UserError, RuntimeError):
    """A checkpoint file that exists but cannot be read safely."""


def load_checkpoint_file(path: str | os.PathLike) -> Any:
    """``torch.load`` a local file on CPU with ``weights_only=True`` and mmengine's types."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointNotFoundError(f"Checkpoint file not found: {path!r}")
    try:
        with torch.serialization.safe_globals(mmengine_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointReadError(
            f"Could not load checkpoint {path!r} safely (torch.load with weights_only=True): "
            f"{_reason(exc)}. It stores Python objects other than tensors and plain "
            f"data. If you trust the file, re-save just its weights: "
            f"torch.save(torch.load(path, weights_only=False)['state_dict'], new_path)."
        ) from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise CheckpointReadError(
            f"Could not read checkpoint {path!r}: {_reason(exc)}. The file may be "
            f"truncated or not a PyTorch checkpoint; download or copy it again."
        ) from exc


def require_file(path: str, *, what: str = "checkpoint") -> str:
    """``path`` if it is a file, else a :class:`CheckpointNotFoundError` naming it."""
    if not os.path.isfile(path):
        raise CheckpointNotFoundError(
            f"{what.capitalize()} file not found: {path!r} (resolved from {os.getcwd()!r})."
        )
    return path
