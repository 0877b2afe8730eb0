"""The work-dir lock: one training per work dir, stale locks of ended runs taken over,
Slurm requeues let in; the writable check."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from hrnet_seg.engine.work_dir import (
    LOCK_NAME,
    WorkDirError,
    WorkDirLock,
    WorkDirLockedError,
    holder_record,
    training_work_dir,
)


def write_lock(work_dir, **fields):
    record = {**holder_record(), **fields}
    (work_dir / LOCK_NAME).write_text(json.dumps(record))
    return record


@pytest.fixture
def other_process():
    """A live process on this host that is not us."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child
    child.kill()
    child.wait()


def test_taken_and_released(tmp_path):
    with training_work_dir(str(tmp_path)) as lock:
        held = json.loads((tmp_path / LOCK_NAME).read_text())
        assert held["pid"] == os.getpid() and held["host"] == socket.gethostname()
        assert lock.taken_over is None
    assert not (tmp_path / LOCK_NAME).exists()


def test_released_when_the_training_fails(tmp_path):
    with pytest.raises(KeyboardInterrupt), training_work_dir(str(tmp_path)):
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_a_running_training_keeps_it(tmp_path, other_process):
    record = write_lock(tmp_path, pid=other_process.pid, process_start=None, slurm_job_id=None)
    with pytest.raises(WorkDirLockedError) as info, training_work_dir(str(tmp_path)):
        pass
    assert str(info.value) == (
        f"Work dir {str(tmp_path)!r} is in use by another training: host "
        f"{socket.gethostname()}, PID {other_process.pid}, started {record['started']}. Two "
        "runs in one work dir would mix their checkpoints and logs: wait for it, or use "
        f"another --work-dir. If that run is gone (it ran on another machine), delete "
        f"{tmp_path / LOCK_NAME}."
    )
    assert json.loads((tmp_path / LOCK_NAME).read_text()) == record  # left alone


def test_the_lock_of_an_ended_run_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = write_lock(tmp_path, pid=dead.pid)
    (tmp_path / "iter_4.pth.tmp").write_bytes(b"half a checkpoint")
    with training_work_dir(str(tmp_path)) as lock:
        assert lock.taken_over == stale
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
        assert not (tmp_path / "iter_4.pth.tmp").exists()  # its partial save is gone


def test_a_reused_pid_is_not_the_holder(tmp_path, other_process):
    # Same PID, another process start time: the holder ended and the PID was reused.
    write_lock(tmp_path, pid=other_process.pid, process_start=1)
    with training_work_dir(str(tmp_path)) as lock:
        assert lock.taken_over["pid"] == other_process.pid


def test_another_host(tmp_path, monkeypatch):
    write_lock(tmp_path, host="node-17", pid=1234, slurm_job_id="555")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    fake_squeue(tmp_path, monkeypatch, code=0, out="RUNNING\n")  # job 555 still runs
    with pytest.raises(WorkDirLockedError, match=r"host node-17, PID 1234, Slurm job 555, "):
        WorkDirLock(work_dir=str(tmp_path)).acquire()
    monkeypatch.setenv("SLURM_JOB_ID", "556")  # another job
    with pytest.raises(WorkDirLockedError):
        WorkDirLock(work_dir=str(tmp_path)).acquire()
    monkeypatch.setenv("SLURM_JOB_ID", "555")  # the same job, requeued onto this node
    lock = WorkDirLock(work_dir=str(tmp_path)).acquire()
    assert lock.taken_over["host"] == "node-17"
    lock.release()


def fake_squeue(tmp_path, monkeypatch, *, code: int, out: str = "", err: str = "") -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "squeue"
    script.write_text(f"#!/bin/sh\nprintf '{out}'\nprintf '{err}' >&2\nexit {code}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize(
    ("squeue", "taken"),
    [
        (dict(code=0, out="RUNNING\n"), False),
        (dict(code=0, out="PENDING\n"), False),
        (dict(code=0, out=""), True),  # left the queue: ended
        (dict(code=1, err="slurm_load_jobs error: Invalid job id specified\n"), True),
        (dict(code=1, err="slurm_load_jobs error: Unable to contact slurm controller\n"), False),
    ],
)
def test_another_host_another_job_as_squeue_says(tmp_path, monkeypatch, squeue, taken):
    """A job whose node died is resubmitted as a new job; its lock names the dead node."""
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    write_lock(work_dir, host="node-17", pid=1234, slurm_job_id="555")
    monkeypatch.setenv("SLURM_JOB_ID", "556")
    fake_squeue(tmp_path, monkeypatch, **squeue)
    if taken:
        lock = WorkDirLock(work_dir=str(work_dir)).acquire()
        assert lock.taken_over["slurm_job_id"] == "555"
        lock.release()
    else:
        with pytest.raises(WorkDirLockedError, match="Slurm job 555"):
            WorkDirLock(work_dir=str(work_dir)).acquire()


def test_other_ranks_take_no_lock(tmp_path, other_process):
    write_lock(tmp_path, pid=other_process.pid, process_start=None)
    with training_work_dir(str(tmp_path), rank=1) as lock:
        assert lock is None


def test_an_empty_lock_file_holds_nothing(tmp_path):
    (tmp_path / LOCK_NAME).write_text("")
    with training_work_dir(str(tmp_path)) as lock:
        assert lock.taken_over == {}


def test_a_work_dir_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(WorkDirError) as info, training_work_dir(str(blocker / "run")):
        pass
    assert str(info.value) == (
        f"Work dir {str(blocker / 'run')!r} is not writable (Not a directory). Choose another "
        "with --work-dir DIR, or fix the folder's permissions."
    )
