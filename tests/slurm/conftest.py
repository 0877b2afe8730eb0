"""Tests against a real Slurm cluster on this machine (`make test-slurm`, which starts
slurm/local_cluster.sh --nodes 2: nodes node1 and node2, each in its own network
namespace, with slurmdbd accounting).

Every test under tests/slurm/ gets the `slurm` marker, so `make test` (``-m "not slurm"``)
leaves them out and `make test-slurm` (``-m slurm``) runs them. When they run and no cluster
answers, they fail (a skip would let CI pass without testing anything). Tests of several
nodes fail the same way on a single-node cluster.

Helpers for the tests here (import them from ``tests.slurm.conftest``):
``sbatch(*args)`` submits and returns the job id, ``job_info(job_id)`` reads ``scontrol show
job``, ``wait_for_state(job_id, states)`` waits for e.g. RUNNING, ``wait_for_job(job_id)``
waits until the job has left the queue and returns its final state, ``cluster_script(...)``
runs slurm/local_cluster.sh, and ``without_accounting(tmp_path)`` gives an environment whose
client commands see a cluster without accounting (sacct fails as it does there).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from hrnet_seg.datasets.synthetic import make_cityscapes
from tests.conftest import run_python
from tests.integration.conftest import tiny_options

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
    nodes: tuple[str, ...]
    partition: str

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
    nodes, partition = [], ""
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in UP_STATES:
            nodes.append(parts[0])
            partition = parts[1].rstrip("*")
    if not nodes:
        return f"no usable node; sinfo says: {res.stdout.strip() or '(nothing)'}"
    return SlurmCluster(nodes=tuple(nodes), partition=partition)


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


@pytest.fixture(scope="session")
def two_nodes(slurm_cluster: SlurmCluster) -> tuple[str, str]:
    """The nodes of a `--nodes 2` cluster (what `make test-slurm` starts)."""
    if len(slurm_cluster.nodes) < 2:
        pytest.fail(
            f"this test needs 2 nodes, the cluster has {list(slurm_cluster.nodes)}: run "
            "`make test-slurm` (or bash slurm/local_cluster.sh restart --nodes 2)",
            pytrace=False,
        )
    return slurm_cluster.nodes[0], slurm_cluster.nodes[1]


CLUSTER_SCRIPT = HERE.parents[1] / "slurm" / "local_cluster.sh"


def cluster_script(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``bash slurm/local_cluster.sh ARGS`` (as root, like `make test-slurm`)."""
    return subprocess.run(["bash", str(CLUSTER_SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


def without_accounting(tmp_path: Path) -> dict[str, str]:
    """Environment for client commands that see this cluster as one without accounting:
    a copy of its slurm.conf with ``AccountingStorageType=accounting_storage/none``, so
    ``sacct`` fails as it does there and only the controller (squeue, scontrol) answers."""
    conf = Path(os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))
    lines = [x for x in conf.read_text().splitlines() if not x.startswith("AccountingStorage")]
    copy = tmp_path / "slurm-no-accounting.conf"
    copy.write_text("\n".join([*lines, "AccountingStorageType=accounting_storage/none", ""]))
    return {"SLURM_CONF": str(copy)}


# -- training runs through the launching layer -------------------------------------------


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    """Built-in Cityscapes-format data on the filesystem every node shares."""
    root = tmp_path_factory.mktemp("slurm_data") / "cityscapes"
    return make_cityscapes(root, splits={"train": 8, "val": 4}, size=(64, 128), seed=1)


def tiny(iters: int, checkpoint_every: int) -> list[str]:
    """The demo config shortened, as --cfg-options arguments."""
    options = tiny_options(iters, checkpoint_every=checkpoint_every)
    return [f"{k}={str(v)}" for k, v in options.items()]


def submit(*args, timeout=120):
    """Run slurm/submit.py or slurm/sweep.py; returns its stdout and the manifest path."""
    res = run_python(*args, timeout=timeout)
    assert res.returncode == 0, res.stdout + res.stderr
    manifest = re.search(r"^Manifest: (\S+)$", res.stdout, re.M).group(1)
    return res.stdout, Path(manifest)


def wait_manifest(manifest: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """`slurm/status.py --watch` until every run has ended."""
    return run_python("slurm/status.py", str(manifest), "--watch", "--interval", "1",
                      timeout=timeout)  # fmt: skip


def read(path):
    return json.loads(Path(path).read_text())


def scalars_by_start(work_dir: Path) -> list[list[int]]:
    """The iterations each start of the run logged, in order of the starts."""
    starts = []
    for path in sorted(work_dir.glob("*/vis_data/scalars.json")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        starts.append([r["iter"] for r in rows if "iter" in r])
    return starts


def wait_for_iteration(work_dir: Path, at_least: int, *, start: int = 0,
                       timeout: float = 300) -> int:  # fmt: skip
    """Wait until the run's start number `start` (0: the first) has logged iteration
    `at_least`; returns the last iteration it logged."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        starts = scalars_by_start(work_dir)
        if len(starts) > start and starts[start] and starts[start][-1] >= at_least:
            return starts[start][-1]
        time.sleep(0.1)
    spans = [(s[0], s[-1]) if s else () for s in scalars_by_start(work_dir)]
    what = f"start {start} did not reach iteration {at_least} in {timeout} s"
    raise AssertionError(f"{work_dir}: {what} (first and last iteration of each start: {spans})")


def sbatch_template(tmp_path: Path, data_root, *sbatch_args: str, iters: int = 6,
                    checkpoint_every: int = 3) -> str:  # fmt: skip
    """Submit the demo config through slurm/train.sbatch with these sbatch options (work dir
    tmp_path/plain, output tmp_path/JOBID.out); returns the job id."""
    from tests.conftest import REPO
    from tests.integration.conftest import DEMO

    return sbatch(
        *sbatch_args, "--cpus-per-task=1", f"--output={tmp_path}/%j.out",
        "slurm/train.sbatch", DEMO, "--work-dir", str(tmp_path / "plain"),
        "--data-root", str(data_root), "--cfg-options", *tiny(iters, checkpoint_every),
        cwd=REPO,
    )  # fmt: skip


def finished_sbatch_template(tmp_path: Path, job_id: str, *, iters: int = 6) -> tuple[str, dict]:
    """Wait for a job of :func:`sbatch_template`; returns its output and results.json."""
    state = wait_for_job(job_id, timeout=300)
    out = (tmp_path / f"{job_id}.out").read_text()
    assert state == "COMPLETED", out[-3000:]
    results = read(tmp_path / "plain" / "results.json")
    assert results["final_iter"] == iters
    return out, results


def train_with_sbatch_template(tmp_path: Path, data_root, *sbatch_args: str) -> tuple[str, dict]:
    """6 iterations of the demo config through slurm/train.sbatch with these sbatch options;
    returns the job's output and the run's results.json (work dir tmp_path/plain)."""
    job_id = sbatch_template(tmp_path, data_root, *sbatch_args)
    return finished_sbatch_template(tmp_path, job_id)
