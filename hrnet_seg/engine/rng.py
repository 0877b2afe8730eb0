"""Random-number-generator state in checkpoints, so a resumed run continues the
sequence instead of re-seeding (mmengine only re-seeds on resume).

Every rank has its own state (different dropout masks, augmentation in the main
process); rank 0's checkpoint holds all of them, gathered where every rank calls
``save_checkpoint`` (CheckpointHook and PreemptionHook run on every rank).
"""

from __future__ import annotations

import random

import numpy as np
import torch

KEY = "rng_states"


def capture() -> dict:
    state = {
        "python": random.getstate(),
        "numpy": _numpy_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()  # the current device's generator
    return state


def restore(state: dict) -> None:
    random.setstate(_python_state(state["python"]))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(torch.as_tensor(state["torch"], dtype=torch.uint8).cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(torch.as_tensor(state["cuda"], dtype=torch.uint8).cpu())


def _numpy_state() -> tuple:
    # The key array as a tensor: checkpoints load with weights_only=True, which
    # allow-lists tensors but not every numpy dtype.
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)


def _python_state(value):
    # (version, tuple_of_625_ints, gauss_next); pickling may turn tuples into lists.
    version, internal, gauss = value
    return version, tuple(internal), gauss


def gather() -> list[dict]:
    """Every rank's state, in rank order (a collective: all ranks must call it)."""
    import torch.distributed as dist

    mine = capture()
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [mine]
    states: list = [None] * dist.get_world_size()
    dist.all_gather_object(states, mine)
    return states


class RestoreAfter:
    """Wraps the train loop's data iterator: lets ``skip`` batches through (mmengine's
    replay of the batches a resumed run has already trained on), then restores
    ``state`` before the next one, the point where the interrupted run saved it."""

    def __init__(self, iterator, *, skip: int, state: dict) -> None:
        self._iterator = iterator
        self._skip = skip
        self._state: dict | None = state

    def __iter__(self):
        return self

    def __next__(self):
        if self._state is not None and self._skip <= 0:
            restore(self._state)
            self._state = None
        self._skip -= 1
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)
