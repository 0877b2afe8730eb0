"""The figures a ``benchmark.json`` (``tools/benchmark.py --json``) adds to a run.

One reader for the leaderboard's local rows and for ``WandbLoggerHook``'s summary, so a
run's GFLOPs and fps mean the same wherever they are shown.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

__all__ = ["BENCHMARK_FILE", "BenchmarkFileWarning", "benchmark_figures", "finite_number"]

BENCHMARK_FILE = "benchmark.json"


class BenchmarkFileWarning(UserWarning):
    """A ``benchmark.json`` that is not a JSON object; its figures are left empty."""


def finite_number(value) -> float | None:
    """A finite float, or None: records are JSON written by other code (and W&B summaries
    may hold NaN or strings), so every figure is checked before it is shown."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def benchmark_figures(work_dir: str | Path) -> dict:
    """``{"params", "gflops", "fps"}`` from ``WORK_DIR/benchmark.json``, each None when
    unknown; ``{}`` when there is no such file. ``gflops`` is the official unit
    (multiply-adds / 1024^3), ``fps`` images per second of whole-image inference."""
    path = Path(work_dir) / BENCHMARK_FILE
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        record = None
    if not isinstance(record, dict):
        warnings.warn(
            f"{path}: not a JSON object; params/GFLOPs/fps left empty "
            "(rewrite it with `python tools/benchmark.py CONFIG --json PATH`)",
            BenchmarkFileWarning,
            stacklevel=2,
        )
        return {}
    fps = finite_number(record.get("fps"))
    seconds = finite_number(record.get("infer_whole_ours_s"))
    options = record.get("options") if isinstance(record.get("options"), dict) else {}
    batch = finite_number(options.get("batch"))
    # benchmark.py times whole batches and records seconds per batch, not fps.
    if fps is None and seconds and batch:
        fps = round(batch / seconds, 2)
    params = finite_number(record.get("params"))
    return {
        "params": int(params) if params is not None else None,
        "gflops": finite_number(record.get("gflops_official")),
        "fps": fps,
    }
