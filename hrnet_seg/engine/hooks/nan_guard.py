"""Stop training at the first non-finite loss, before anything is saved."""

from __future__ import annotations

import math

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...errors import UserError
from ..checkpoint import find_latest_checkpoint


class NonFiniteLossError(UserError, FloatingPointError):
    """The training loss became NaN or infinite."""


@HOOKS.register_module()
class NaNGuardHook(Hook):
    """Raise :class:`NonFiniteLossError` when the loss is NaN/inf.

    Runs before the CheckpointHook (higher priority), so the poisoned weights of that
    iteration are never written; the latest checkpoint on disk stays the last good
    one. All ranks agree (one all-reduce of a flag), so no rank is left waiting in a
    collective while another has stopped.
    """

    priority = "ABOVE_NORMAL"

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        losses = {k: v for k, v in (outputs or {}).items() if "loss" in k}
        values = {k: float(torch.as_tensor(v).detach()) for k, v in losses.items()}
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        flag = torch.tensor(float(bool(bad)))
        all_reduce(flag, op="max")
        if flag.item() == 0:
            return
        iteration = runner.iter + 1
        latest = find_latest_checkpoint(runner.work_dir)
        where = (
            f"The last good checkpoint is {latest}; resume from it with --resume once the "
            "cause is fixed."
            if latest
            else "No checkpoint had been saved yet."
        )
        detail = ", ".join(f"{k}={v}" for k, v in bad.items()) or "on another rank"
        raise NonFiniteLossError(
            f"Training stopped: the loss became non-finite at iteration {iteration} ({detail}). "
            f"Nothing was saved from this iteration. {where} Usual causes: a learning rate "
            "too high for the batch size, label values outside [0, num_classes) other than "
            "255, or fp16 overflow with --amp (bf16 does not overflow)."
        )
