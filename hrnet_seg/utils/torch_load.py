"""Reading checkpoint files with ``torch.load(weights_only=True)``.

Checkpoints from elsewhere are untrusted pickles. torch >= 2.6 refuses arbitrary
globals by default; rather than turning that off (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``,
which disables it for every file), the few plain-data types that mmengine writes into
its checkpoints' ``meta`` / ``message_hub`` are allow-listed here.

Nothing on the allow-list may hand out arbitrary attributes or callables: with
``builtins.getattr`` allowed, a pickle made only of torch's default globals reaches
``builtins`` (``getattr(getattr, '__self__')``), fetches ``exec`` and calls it through
``torch._tensor._rebuild_from_type_v2`` (issue 10). mmengine's ``HistoryBuffer`` pickles
its statistics methods as ``getattr(HistoryBuffer, 'min')``: the name ``builtins.getattr``
is therefore mapped to :func:`history_buffer_statistic`, which returns those four
methods and refuses everything else.
"""

from __future__ import annotations

import os
import pickle
from contextlib import contextmanager
from typing import Any

import torch

from ..errors import UserError

# What mmengine 0.10's HistoryBuffer._set_default_statistics registers, and so all a
# checkpoint written by a Runner contains (custom statistics are module-level functions,
# pickled by name, and refused like any other unknown global).
HISTORY_BUFFER_STATISTICS = ("min", "max", "current", "mean")


def history_buffer_statistic(owner: Any, name: Any):
    """The stand-in for ``builtins.getattr`` while a checkpoint is unpickled:
    ``HistoryBuffer.<statistic>`` and nothing else."""
    from mmengine.logging import HistoryBuffer

    # Identity and type checks only: no attribute of an unknown object is touched.
    if owner is HistoryBuffer and type(name) is str and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    what = f"{name!r}" if type(name) is str else f"a {type(name).__name__}"
    raise pickle.UnpicklingError(
        f"refused getattr({type(owner).__name__} object, {what}): a checkpoint may only "
        f"name the HistoryBuffer statistics {', '.join(HISTORY_BUFFER_STATISTICS)} this way"
    )


def mmengine_safe_globals() -> list:
    """Types found in mmengine / mmseg checkpoints that are plain data."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    safe: list = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        # Protocol-2 pickles write __builtin__.getattr; torch maps it to builtins.getattr.
        (history_buffer_statistic, "builtins.getattr"),
    ]
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


@contextmanager
def _history_buffer_statistics_kept():
    """HistoryBuffer.__setstate__ updates a dict shared by the class: a file must not
    change, for the rest of the process, what ``statistics('mean')`` calls."""
    from mmengine.logging import HistoryBuffer

    methods = HistoryBuffer._statistics_methods
    before = dict(methods)
    try:
        yield
    finally:
        methods.clear()
        methods.update(before)
        # Loaded buffers call __setstate__, not __init__: keep the defaults they rely on.
        for name in HISTORY_BUFFER_STATISTICS:
            methods.setdefault(name, getattr(HistoryBuffer, name))


# torch's wrapping around the unpickler's own reason (advice to turn the check off).
_TORCH_WORDING = (
    "Weights only load failed",
    "In PyTorch 2.6",
    "(1) In PyTorch",
    "(2) Alternatively",
    "Check the documentation of torch.load",
)


def _reason(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        line = line.rpartition("WeightsUnpickler error:")[2].strip()
        line = line.partition(" Please use `torch.serialization")[0]
        if line and not line.startswith(_TORCH_WORDING):
            return line
    return lines[0] if lines else type(exc).__name__


class CheckpointNotFoundError(UserError, FileNotFoundError):
    """A checkpoint path that does not exist."""


class CheckpointReadError(UserError, RuntimeError):
    """A checkpoint file that exists but cannot be read (truncated, not a checkpoint)."""


class UnsafeCheckpointError(CheckpointReadError):
    """A checkpoint that asks the unpickler for code or objects beyond plain data."""


def load_checkpoint_file(path: str | os.PathLike) -> Any:
    """``torch.load`` a local file on CPU with ``weights_only=True`` and mmengine's types."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointNotFoundError(f"Checkpoint file not found: {path!r}")
    try:
        with (
            torch.serialization.safe_globals(mmengine_safe_globals()),
            _history_buffer_statistics_kept(),
        ):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeCheckpointError(
            f"Refused to load checkpoint {path!r} (torch.load with weights_only=True): "
            f"{_reason(exc)}. It stores Python objects other than tensors and plain "
            f"data, and loading it could run code. Only if you made the file yourself or "
            f"trust its source, re-save just its weights: "
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
