"""The figures a ``benchmark.json`` (``tools/benchmark.py --json``) adds to a run.

One reader for the leaderboard's local rows and for ``WandbLoggerHook``'s summary, so a
run's GFLOPs and fps mean the same wherever they are shown. A speed figure means little
without where it was taken (issue 18: CPU fps at 128x256 beside V100 fps at 1024x2048),
so each comes with its conditions: fps with the device, the input size and bf16, GFLOPs
with the input size they were counted at.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

__all__ = [
    "BENCHMARK_FILE",
    "BenchmarkFileWarning",
    "benchmark_figures",
    "finite_number",
    "gpu_type",
    "size_text",
    "speed_conditions",
]

BENCHMARK_FILE = "benchmark.json"


class BenchmarkFileWarning(UserWarning):
    """A ``benchmark.json`` that is not a JSON object; its figures are left empty."""


def finite_number(value) -> float | None:
    """A finite float, or None: records are JSON written by other code (and W&B summaries
    may hold NaN or strings), so every figure is checked before it is shown."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def gpu_type(device_name: str | None) -> str | None:
    """``NVIDIA A100-SXM4-80GB`` -> ``A100``, ``Tesla V100-SXM2-32GB`` -> ``V100``:
    the model, not the vendor, form factor or memory."""
    if not device_name:
        return None
    noise = re.compile(r"^(NVIDIA|Tesla|GeForce|\d+GB|HBM\w*|PCIe|SXM\w*)$", re.IGNORECASE)
    tokens = [t for t in device_name.split() if not noise.match(t)]
    return " ".join(tokens).split("-")[0] or device_name


def size_text(size) -> str | None:
    """``[1024, 2048]`` -> ``"1024x2048"`` (height x width); None when not a pair."""
    if isinstance(size, list | tuple) and len(size) == 2:
        return f"{size[0]}x{size[1]}"
    return None


def speed_conditions(
    *, device: str | None, size: str | None, threads=None, bf16: bool = False
) -> str | None:
    """Where an fps figure was taken, e.g. ``"V100, 1024x2048"`` or ``"cpu 2 threads,
    128x256, bf16"``: figures compare only when this text is the same."""
    if not device or not size:
        return None
    if device == "cpu":
        where = f"cpu {threads} threads" if finite_number(threads) else "cpu"
    else:
        where = gpu_type(device)
    return f"{where}, {size}" + (", bf16" if bf16 else "")


def benchmark_figures(work_dir: str | Path) -> dict:
    """``{"params", "gflops", "gflops_at", "fps", "fps_at"}`` from
    ``WORK_DIR/benchmark.json``, each None when unknown; ``{}`` when there is no such
    file. ``gflops`` is the official unit (multiply-adds / 1024^3) at the input size
    ``gflops_at``, ``fps`` images per second of whole-image inference under
    ``fps_at`` (:func:`speed_conditions`)."""
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
    gflops = finite_number(record.get("gflops_official"))
    return {
        "params": int(params) if params is not None else None,
        "gflops": gflops,
        "gflops_at": size_text(options.get("flops_size")) if gflops is not None else None,
        "fps": fps,
        "fps_at": speed_conditions(
            device=record.get("device"),
            size=size_text(options.get("infer_size")),
            threads=record.get("threads"),
            bf16=options.get("bf16") is True,
        )
        if fps is not None
        else None,
    }
