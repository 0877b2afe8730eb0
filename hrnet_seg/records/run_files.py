"""What a run leaves next to its checkpoints, so its numbers can be reproduced:
``env.json`` (git revision, package versions, machine) and ``results.json``
(metrics with the run's metadata). mmengine already writes the resolved config."""

from __future__ import annotations

import json
import math
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from ..utils.atomic import write_text_atomic

PACKAGES = (
    "torch", "mmengine", "mmcv", "mmcv-lite", "mmsegmentation", "numpy", "opencv-python",
    "wandb", "submitit", "hrnet_seg",
)  # fmt: skip
REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = "results.json"
ENV_FILE = "env.json"


def git_revision(root: Path = REPO_ROOT) -> dict:
    """Commit and dirty flag of the checkout the package runs from (None outside git)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def package_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def environment_info() -> dict:
    import torch

    cuda = torch.cuda.is_available()
    return {
        "git": git_revision(),
        "packages": package_versions(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "command": [sys.executable, *sys.argv],
        "torch_cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu",
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }


def nan_to_none(value: Any) -> Any:
    """JSON has no NaN or infinity: such floats become None (null), in nested dicts,
    lists and tuples too (a class absent from both ground truth and prediction has no
    IoU)."""
    if isinstance(value, dict):
        return {key: nan_to_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [nan_to_none(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def gpu_hours(*, wall_time_s: float, gpus: int) -> float:
    """GPU-hours of a run: its wall time over all starts times the GPUs it held (0 on
    CPU), to the 1/1000 hour; one definition for the W&B summary and the leaderboard."""
    return round(wall_time_s * gpus / 3600, 3)


def write_json(path: str | os.PathLike, data: dict) -> None:
    text = json.dumps(nan_to_none(data), indent=2, sort_keys=False, allow_nan=False)
    write_text_atomic(os.fspath(path), text + "\n")


def read_json(path: str | os.PathLike) -> dict | None:
    """A JSON object from ``path``, or None when it is missing, being written, not JSON
    or not an object: records are written by other runs and other versions."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_results(work_dir: str | os.PathLike) -> dict | None:
    """A work dir's ``results.json``, or None when it is missing or being written."""
    return read_json(os.path.join(work_dir, RESULTS_FILE))


def previous_record(work_dir: str, *, upto_iter: int) -> dict:
    """What an earlier start of this run recorded (its ``results.json``), for a resumed
    start to carry on: ``best`` (when reached by ``upto_iter``, the checkpoint it resumes
    from) and ``wall_time_s`` (all earlier starts together). Empty without a record."""
    record = read_results(work_dir)
    if record is None:
        return {}
    best = record.get("best") or {}
    return {
        "best": best if best.get("iter") is not None and best["iter"] <= upto_iter else {},
        "wall_time_s": record.get("wall_time_s") or 0.0,
    }
