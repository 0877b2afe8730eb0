"""Silencing the stack's noise: warnings that every run prints and that tell the user
nothing they can act on: mmseg's loss and dataset deprecations, mmengine's FileClient and
visualizer notices, and the per-parameter init lines (NOISY_WARNINGS, NOISY_LOGGERS)."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager

#: (category, message regex) of warnings that are noise for this project's users.
NOISY_WARNINGS = [
    (UserWarning, r"``build_loss`` would be deprecated soon"),
    (UserWarning, r"Default ``avg_non_ignore`` is False"),
    (UserWarning, r"The draw is False"),
    (UserWarning, r"The prefix is not set in metric class"),
    (DeprecationWarning, r".*torch\.jit"),
    (FutureWarning, r".*`torch\.cuda\.amp\..*` is deprecated"),
    # mmseg's SegTTAModel stores each merged (H, W) prediction in a PixelData, which
    # adds the channel axis itself and says so once per test run (--tta).
    (UserWarning, r"The shape of value will convert from"),
]
#: Substrings of mmengine log records (WARNING level) that are noise.
NOISY_LOG_MESSAGES = (
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
    "The prefix is not set in metric class",
    # mmengine says this of every non-distributed run, SyncBN or not; SegRunner's own
    # fallback warns once when a model really has SyncBN to revert.
    "Distributed training is not used, all SyncBatchNorm",
)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in NOISY_LOG_MESSAGES)


_FILTER = _DropNoise()


def quiet_logger(logger: logging.Logger) -> None:
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def _one_line(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message} ({category.__name__})\n"


def quiet_stack() -> None:
    """Install the warning filters and the mmengine log filter (idempotent); warnings
    that remain print as one line, without the source line that raised them."""
    for category, message in NOISY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    warnings.formatwarning = _one_line
    from mmengine.logging import MMLogger

    quiet_logger(MMLogger.get_current_instance())
    # Loggers mmengine creates later (the Runner's) get the filter from SegRunner.


@contextmanager
def warnings_only(logger: logging.Logger | None = None):
    """Raise ``logger`` (default: mmengine's current one) to WARNING for a block:
    mmengine's ``init_weights`` logs one INFO line per parameter."""
    from mmengine.logging import MMLogger

    logger = logger or MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def init_weights_quietly(model) -> None:
    """``model.init_weights()`` without mmengine's one INFO line per parameter."""
    with warnings_only():
        model.init_weights()
