"""Hooks: NaN guard, throughput and memory, evaluation progress, the run record."""

from .nan_guard import NaNGuardHook, NonFiniteLossError
from .prediction_writer import PredictionWriterHook
from .progress import EvalProgressHook
from .run_record import RunRecordHook
from .throughput import ThroughputHook
from .wandb_logger import WandbFallbackWarning, WandbLoggerHook

__all__ = [
    "EvalProgressHook",
    "NaNGuardHook",
    "NonFiniteLossError",
    "PredictionWriterHook",
    "RunRecordHook",
    "ThroughputHook",
    "WandbFallbackWarning",
    "WandbLoggerHook",
]
