"""Tests against a real single-node Slurm cluster (`make test-slurm`, slurm/local_cluster.sh).

Every test under tests/slurm/ gets the `slurm` marker, so `make test` (``-m "not slurm"``)
leaves them out and `make test-slurm` (``-m slurm``) runs them. When they run and no cluster
answers, they fail (a skip would let CI pass without testing anything).

Helpers for the tests here (import them from ``tests.slurm.conftest``):
``sbatch(*args)`` submits and returns the job id, ``job_info(job_id)`` reads ``scontrol show
job``, ``wait_for_state(job_id, states)`` waits for e.g. RUNNING, and ``wait_for_job(job_id)``
waits until the job has left the queue and returns its final state. There is no accounting
(no sacct): states come from slurmctld, which keeps finished jobs for MinJobAge=3600 s.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NO_CLUSTER = "no Slurm cluster: run `make test-slurm` (or bash slurm/local_cluster.sh start)"
UP_STATES = {"idle", "mixed", "allocated", "completing"}
# Job states after which a job never runs again (REQUEUED / REQUEUE_HOLD are not among them).
TERMINAL_STATES = {
    "BOOT_FAIL",
    "CANCELLED",
    "COMPLETED",
    "DEADLINE",
    "FAILED",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "TIMEOUT",
}
# Client commands never wait longer than this for slurmctld.
COMMAND_TIMEOUT = 30


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: the marker must be there before `-m` deselects items.
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.slurm)


class SlurmError(RuntimeError):
    pass


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)


def sbatch(*args: str, cwd: str | Path | None = None) -> str:
    """Submit a batch job (``sbatch --parsable ARGS``) and return its id."""
    res = subprocess.run(
        ["sbatch", "--parsable", *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        cwd=cwd,
        check=False,
    )
    if res.returncode != 0:
        raise SlurmError(f"sbatch {' '.join(args)} failed ({res.returncode}): {res.stderr.strip()}")
    return res.stdout.strip().split(";")[0]


def job_info(job_id: str | int) -> dict[str, str] | None:
    """``scontrol show job`` as a dict (JobState, Reason, Restarts, StdOut, StdErr, ExitCode,
    ...), or None when slurmctld does not know the job (never existed, or purged)."""
    res = _run("scontrol", "-o", "show", "job", str(job_id))
    if res.returncode != 0 or not res.stdout.strip():
        return None
    info: dict[str, str] = {}
    # One line of KEY=VALUE pairs; only values with spaces (Command, Comment) come out cut.
    for token in res.stdout.strip().splitlines()[0].split():
        key, sep, value = token.partition("=")
        if sep:
            info[key] = value
    return info


def _in_queue(job_id: str | int) -> str:
    """The state squeue shows (PENDING, RUNNING, COMPLETING, ...), or "" once the job left."""
    res = _run("squeue", "-h", "-j", str(job_id), "-o", "%T")
    return res.stdout.strip() if res.returncode == 0 else ""


def _tail(path: str | None, lines: int = 20) -> str:
    if not path or path == "(null)":
        return ""
    try:
        text = Path(path).read_text(errors="replace").splitlines()[-lines:]
    except OSError as exc:
        return f"  ({exc.strerror})"
    return "\n".join("  | " + line for line in text)


def _explain(job_id: str | int, info: dict[str, str] | None, what: str) -> str:
    if info is None:
        return f"job {job_id}: {what}; slurmctld does not know the job"
    out, err = info.get("StdOut"), info.get("StdErr")
    msg = (
        f"job {job_id}: {what}; JobState={info.get('JobState')} Reason={info.get('Reason')} "
        f"Restarts={info.get('Restarts')} ExitCode={info.get('ExitCode')}\n"
        f"stdout: {out}\n{_tail(out)}"
    )
    if err != out:
        msg += f"\nstderr: {err}\n{_tail(err)}"
    return msg


def wait_for_state(
    job_id: str | int, states: Iterable[str], timeout: float = 60, poll: float = 0.25
) -> str:
    """Wait until the job's JobState is one of `states` (e.g. {"RUNNING"}) and return it.
    Raises SlurmError on timeout, or when the job ends in a state not asked for."""
    wanted = set(states)
    deadline = time.monotonic() + timeout
    info = None
    while True:
        info = job_info(job_id)
        state = info.get("JobState", "") if info else ""
        if state in wanted:
            return state
        if state in TERMINAL_STATES and not wanted & TERMINAL_STATES:
            raise SlurmError(_explain(job_id, info, f"ended before reaching {sorted(wanted)}"))
        if time.monotonic() > deadline:
            raise SlurmError(_explain(job_id, info, f"not {sorted(wanted)} after {timeout} s"))
        time.sleep(poll)


def wait_for_job(job_id: str | int, timeout: float = 120, poll: float = 0.25) -> str:
    """Wait until the job has left the queue in a terminal state (its processes gone too) and
    return that state: COMPLETED, FAILED, CANCELLED, TIMEOUT, ... A requeued job is waited
    for through its next run. Raises SlurmError, with the job's output, on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        info = job_info(job_id)
        state = info.get("JobState", "") if info else ""
        queued = _in_queue(job_id)
        if state in TERMINAL_STATES and not queued:
            return state
        if info is None and not queued:
            raise SlurmError(_explain(job_id, None, "left the queue without a known end state"))
        if time.monotonic() > deadline:
            raise SlurmError(_explain(job_id, info, f"still not finished after {timeout} s"))
        time.sleep(poll)


@dataclass(frozen=True)
class SlurmCluster:
    node: str
    partition: str
    node_state: str

    sbatch = staticmethod(sbatch)
    job_info = staticmethod(job_info)
    wait_for_state = staticmethod(wait_for_state)
    wait_for_job = staticmethod(wait_for_job)


def _cluster_or_reason() -> SlurmCluster | str:
    try:
        res = _run("sinfo", "-h", "-N", "-o", "%N %P %T")
    except FileNotFoundError:
        return "sinfo not found (Slurm is not installed)"
    except subprocess.TimeoutExpired:
        return f"sinfo did not answer within {COMMAND_TIMEOUT} s"
    if res.returncode != 0:
        return f"sinfo failed ({res.returncode}): {res.stderr.strip()}"
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in UP_STATES:
            return SlurmCluster(node=parts[0], partition=parts[1].rstrip("*"), node_state=parts[2])
    return f"no usable node; sinfo says: {res.stdout.strip() or '(nothing)'}"


@pytest.fixture(scope="session")
def slurm_cluster() -> SlurmCluster:
    """The local cluster, checked once per session; fails (never skips) when it is not up."""
    found = _cluster_or_reason()
    if isinstance(found, str):
        pytest.fail(f"{NO_CLUSTER}\n({found})", pytrace=False)
    return found


@pytest.fixture(autouse=True)
def _require_slurm_cluster(slurm_cluster: SlurmCluster) -> None:
    """Every test here needs the cluster, whether it asks for `slurm_cluster` or not."""
