"""Images per second and memory in the iteration log line."""

from __future__ import annotations

import resource
import sys

import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


@HOOKS.register_module()
class ThroughputHook(Hook):
    """Adds ``img_per_s`` (all ranks together) and, on CPU, ``rss_mb`` to the train log.

    mmengine's own line has ETA, iteration time, data time and CUDA memory; runs on
    CPU get the process's peak RSS instead.
    """

    # NORMAL, registered after the default hooks: after IterTimerHook has recorded this
    # iteration's time, before LoggerHook (BELOW_NORMAL) prints it.
    priority = "NORMAL"

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        hub = runner.message_hub
        if "train/time" not in hub.log_scalars or not data_batch:
            return
        # The log line's ``time`` is the mean over the log processor's window (mmengine
        # averages keys matching its mean_pattern); img/s must describe the same
        # iterations, else a slow first step or one stall shows up in one figure only.
        window = getattr(runner.log_processor, "window_size", 10)
        window = window if isinstance(window, int) else 10
        iter_time = hub.get_scalar("train/time").mean(window)
        images = len(data_batch["inputs"]) * get_world_size()
        if iter_time > 0:
            hub.update_scalar("train/img_per_s", images / iter_time)
        if not torch.cuda.is_available():
            hub.update_scalar("train/rss_mb", peak_rss_mb())
