"""Where a submitted run stands: queued, running, done or failed, with its progress.

Three sources, most certain first:

1. submitit's result file (``<job>_0_result.pkl``): written when the job function
   returned ("success") or raised ("error", with the remote traceback);
2. the scheduler: ``sacct`` where accounting runs (as on real clusters: it also knows jobs
   that slurmctld forgot after ``MinJobAge``), else ``squeue`` while the job is queued or
   running and ``scontrol show job`` until ``MinJobAge`` passes. Clusters without
   accounting make ``sacct`` fail, and those commands answer instead (submitit's own
   watcher asks only sacct, and then reports every job as UNKNOWN forever);
3. the work dir: ``results.json`` (status, metrics) and mmengine's ``scalars.json``
   (last logged iteration, latest validation mIoU).

A failed run's allocation is checked against the nodes' health (``sinfo``), so a run
that died with a node says which node.
"""

from __future__ import annotations

import glob
import json
import os
import os.path as osp
import re
import subprocess
from dataclasses import dataclass

from ..records.run_files import read_results

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
    nodes: str | None = None  # the job's allocation, as Slurm writes it: node[1-2]


@dataclass(frozen=True)
class SlurmJob:
    """What the scheduler says about one job."""

    state: str  # RUNNING, COMPLETED, "CANCELLED by 0", ...
    nodes: str | None  # its allocation (node[1-2]); None while it has none
    source: str  # "sacct" (accounting), "squeue" or "scontrol" (the controller)


def slurm_jobs(job_ids: list[str], *, timeout: float = 30) -> dict[str, SlurmJob]:
    """The jobs the scheduler knows, from accounting where it answers, else from the
    controller; array tasks as ``ARRAY_TASK``."""
    if not job_ids:
        return {}
    jobs = _from_sacct(job_ids, timeout)
    missing = [j for j in job_ids if j not in jobs]
    if missing:
        # No accounting, or not recorded yet (slurmdbd lags the controller by a moment).
        jobs.update(_from_controller(missing, timeout))
    return jobs


def _from_sacct(job_ids: list[str], timeout: float) -> dict[str, SlurmJob]:
    from .submitit_private import read_sacct

    cmd = ["sacct", "-X", "--parsable2", "-o", "JobID,State,NodeList", "-j"]
    out = _run([*cmd, ",".join(_base_ids(job_ids))], timeout)
    if not out:
        return {}
    info = read_sacct(out)
    return {
        job: SlurmJob(info[job]["State"], _nodes(info[job].get("NodeList")), "sacct")
        for job in job_ids
        if info.get(job, {}).get("State")
    }


def _from_controller(job_ids: list[str], timeout: float) -> dict[str, SlurmJob]:
    jobs: dict[str, SlurmJob] = {}
    out = _run(
        ["squeue", "-h", "-r", "-o", "%i|%T|%N", "-j", ",".join(_base_ids(job_ids))], timeout
    )
    for line in (out or "").splitlines():
        job, _, rest = line.strip().partition("|")
        state, _, nodes = rest.partition("|")
        if job in job_ids and state:
            jobs[job] = SlurmJob(state, _nodes(nodes), "squeue")
    for job in job_ids:
        if job in jobs:
            continue
        out = _run(["scontrol", "show", "job", "-o", job], timeout) or ""
        state = _scontrol_value(out, "JobState")
        if state:
            jobs[job] = SlurmJob(state, _nodes(_scontrol_value(out, "NodeList")), "scontrol")
    return jobs


def _nodes(text: str | None) -> str | None:
    text = (text or "").strip()
    return None if not text or text in ("None assigned", "(null)") else text


# sinfo states of a node that cannot run anything (a trailing * means "not responding").
_BAD_NODE_STATES = {"down", "drain", "drained", "draining", "fail", "failing", "unknown", "inval"}


def node_trouble(nodes: str, *, timeout: float = 30) -> str | None:
    """The nodes of an allocation (``node[1-2]``) that are down, drained or not
    responding now, with sinfo's state and reason; None when all are healthy."""
    out = _run(["sinfo", "-h", "-N", "-n", nodes, "-o", "%N|%T|%E"], timeout)
    troubles = []
    for line in sorted(set((out or "").splitlines())):
        name, _, rest = line.strip().partition("|")
        state, _, reason = rest.partition("|")
        base = state.rstrip("*~#!%$@^-+")
        if state.endswith("*") or base in _BAD_NODE_STATES:
            said = " not responding," if state.endswith("*") else ""
            why = f" ({reason})" if reason and reason != "none" else ""
            troubles.append(f"node {name}{said} state {base}{why}")
    return "; ".join(troubles) or None


def _base_ids(job_ids):
    return sorted({j.split("_")[0] for j in job_ids})


def _scontrol_value(text: str, name: str) -> str | None:
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
    """``("success", result)`` / ``("error", traceback)`` once the job has ended: task 0's
    result, else the error of another task (rank 0 may have been the one that was lost)."""
    from submitit.core.utils import JobPaths, pickle_load

    path = JobPaths(folder, job_id=job_id, task_id=0).result_pickle
    task = re.compile(re.escape(job_id) + r"_\d+_result\.pkl")
    others = sorted(p for p in path.parent.glob("*_result.pkl") if task.fullmatch(p.name))
    for candidate in [path, *(p for p in others if p != path)]:
        if not candidate.exists():
            continue
        try:
            outcome = pickle_load(candidate)
        except Exception as exc:  # a result file being written, or of another Python
            return ("error", f"unreadable result file {candidate}: {exc}")
        if candidate == path or outcome[0] == "error":
            return outcome
    return None


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
    *,
    job_id: str,
    folder: str,
    work_dir: str,
    executor: str,
    slurm_state: str | None,
    nodes: str | None = None,
) -> RunState:
    last_iter, miou, results = progress(work_dir)
    finished = bool(results) and results.get("status") == "finished"
    outcome = submitit_outcome(folder, job_id)
    state = RunState(UNKNOWN, slurm_state, last_iter, None, miou, nodes=nodes)
    if results:
        state.max_iters = results.get("max_iters") or results.get("iterations")
    name = slurm_state.split()[0].rstrip("+") if slurm_state else None
    mapped = _SLURM_STATES.get(name, UNKNOWN) if name else None
    # COMPLETING: the job's processes are ending. With a result, that result is its end
    # (the controller waits for a lost node's cleanup until the node is declared down).
    ending = name == "COMPLETING" and outcome is not None
    if mapped in (QUEUED, RUNNING) and not ending:
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
