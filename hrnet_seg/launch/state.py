"""Where a submitted run stands: queued, running, done or failed, with its progress.

Three sources, most certain first:

1. submitit's result file (``<job>_0_result.pkl``): written when the job function
   returned ("success") or raised ("error", with the remote traceback);
2. the scheduler: ``squeue`` while the job is known to it, ``scontrol show job`` until
   ``MinJobAge`` passes, ``sacct`` where accounting runs. Clusters without accounting
   make ``sacct`` fail, and submitit then reports every job as UNKNOWN forever
   (../shared/stack-notes.md), so submitit's own watcher is not used;
3. the work dir: ``results.json`` (status, metrics) and mmengine's ``scalars.json``
   (last logged iteration, latest validation mIoU).
"""

from __future__ import annotations

import glob
import json
import os
import os.path as osp
import subprocess
from dataclasses import dataclass

from ..engine.record import read_results

QUEUED, RUNNING, DONE, FAILED, UNKNOWN = "queued", "running", "done", "failed", "unknown"

_SLURM_STATES = {
    **dict.fromkeys(
        (
            "PENDING",
            "REQUEUED",
            "REQUEUE_HOLD",
            "REQUEUE_FED",
            "CONFIGURING",
            "SUSPENDED",
            "RESV_DEL_HOLD",
            "SPECIAL_EXIT",
        ),
        QUEUED,
    ),
    **dict.fromkeys(
        ("RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING", "STOPPED"), RUNNING
    ),
    "COMPLETED": DONE,
    **dict.fromkeys(
        (
            "FAILED",
            "CANCELLED",
            "TIMEOUT",
            "NODE_FAIL",
            "OUT_OF_MEMORY",
            "BOOT_FAIL",
            "DEADLINE",
            "PREEMPTED",
            "REVOKED",
        ),
        FAILED,
    ),
}


@dataclass
class RunState:
    state: str
    slurm_state: str | None = None
    last_iter: int | None = None
    max_iters: int | None = None
    miou: float | None = None
    error: str | None = None  # the remote traceback of a failed job


def slurm_states(job_ids: list[str], *, timeout: float = 30) -> dict[str, str]:
    """Scheduler state names (``RUNNING``, ``PENDING``, ``COMPLETED``, ...) of the jobs
    the scheduler still knows; array tasks as ``ARRAY_TASK``."""
    states: dict[str, str] = {}
    if not job_ids:
        return states
    out = _run(["squeue", "-h", "-r", "-o", "%i|%T", "-j", ",".join(_base_ids(job_ids))], timeout)
    for line in (out or "").splitlines():
        job, _, state = line.strip().partition("|")
        states[job] = state
    for job in job_ids:
        if job in states:
            continue
        out = _run(["scontrol", "show", "job", "-o", job], timeout)
        state = _field(out or "", "JobState")
        if state is None:
            out = _run(["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", job], timeout)
            for line in (out or "").splitlines():
                jid, _, sacct_state = line.partition("|")
                if jid == job:
                    state = sacct_state.split()[0] if sacct_state else None
        if state:
            states[job] = state
    return states


def _base_ids(job_ids):
    return sorted({j.split("_")[0] for j in job_ids})


def _field(text: str, name: str) -> str | None:
    for token in text.split():
        key, sep, value = token.partition("=")
        if sep and key == name:
            return value
    return None


def _run(cmd: list[str], timeout: float) -> str | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def submitit_outcome(folder: str, job_id: str) -> tuple[str, object] | None:
    """``("success", result)`` / ``("error", traceback)`` once the job has ended."""
    from submitit.core.utils import JobPaths, pickle_load

    path = JobPaths(folder, job_id=job_id, task_id=0).result_pickle
    if not path.exists():
        return None
    try:
        return pickle_load(path)
    except Exception as exc:  # a result file being written, or of another Python
        return ("error", f"unreadable result file {path}: {exc}")


def log_paths(folder: str, job_id: str) -> tuple[str, str]:
    from submitit.core.utils import JobPaths

    paths = JobPaths(folder, job_id=job_id, task_id=0)
    return str(paths.stdout), str(paths.stderr)


# The end of a scalars.json holds hundreds of train rows: enough for the last iteration.
_TAIL_BYTES = 64 * 1024


def progress(work_dir: str) -> tuple[int | None, float | None, dict | None]:
    """(last logged iteration, latest val mIoU, results.json) of a work dir.

    ``results.json`` is rewritten at every validation (latest mIoU, kept across
    restarts); the last iteration is in the tail of the newest start's
    ``<timestamp>/vis_data/scalars.json``. ``status`` polls this for every run of a
    sweep, so it reads tails, not whole logs (80k iterations are megabytes).
    """
    results = read_results(work_dir)
    miou = results.get("mIoU") if results else None
    last_iter = None
    starts = glob.glob(osp.join(glob.escape(work_dir), "*", "vis_data", "scalars.json"))
    for scalars in sorted(starts, reverse=True):  # newest start first
        last_iter = _last_iter(scalars)
        if last_iter is not None:
            break
    if results and results.get("final_iter"):
        last_iter = max(last_iter or 0, int(results["final_iter"]))
    return last_iter, (float(miou) if miou is not None else None), results


def _last_iter(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - _TAIL_BYTES))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line being written, or cut by the seek
        if "iter" in row:
            return int(row["iter"])
    return None


def run_state(
    *, job_id: str, folder: str, work_dir: str, executor: str, slurm_state: str | None
) -> RunState:
    last_iter, miou, results = progress(work_dir)
    finished = bool(results) and results.get("status") == "finished"
    outcome = submitit_outcome(folder, job_id)
    state = RunState(UNKNOWN, slurm_state, last_iter, None, miou)
    if results:
        state.max_iters = results.get("max_iters") or results.get("iterations")
    mapped = _SLURM_STATES.get(slurm_state.split()[0].rstrip("+"), UNKNOWN) if slurm_state else None
    if mapped in (QUEUED, RUNNING):
        # Alive again: a requeued job's earlier result file (if any) is stale.
        state.state = mapped
        return state
    if outcome is not None:
        kind, value = outcome
        if kind == "success":
            state.state = DONE
        else:
            state.state, state.error = FAILED, str(value)
        return state
    if mapped is not None:
        # COMPLETED without submitit's result: the process ended without returning
        # (killed, or exited after a requeue that did not happen).
        state.state = mapped if not (mapped == DONE and not finished) else FAILED
        if state.state == FAILED and state.error is None:
            state.error = f"Slurm state {slurm_state}, no result from the job"
        return state
    if executor == "local":
        state.state = RUNNING if _local_alive(job_id) else (DONE if finished else FAILED)
        return state
    state.state = DONE if finished else UNKNOWN
    return state


def _local_alive(job_id: str) -> bool:
    try:
        os.kill(int(job_id), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
