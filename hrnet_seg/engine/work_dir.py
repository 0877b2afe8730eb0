"""One training per work dir: a writable folder, a lock naming its holder, no leftovers.

Two trainings in one work dir interleave their checkpoints and logs, and one run's
results are lost (issue 10). Training therefore holds ``WORK_DIR/train.lock`` while it
runs: a small JSON file with the holder's host, PID, process start time and Slurm job.
The lock is created atomically (a hard link of a complete file), removed on exit, and
taken over when it is stale:

* same host, and that PID is gone, or belongs to a process started at another time
  (PID reuse) or in another boot;
* on another host, the same Slurm job id: a requeued job restarts on any node, and
  Slurm ended its previous start before the requeue;
* on another host, a Slurm job that ``squeue`` says has left the queue: a job whose
  node died (its lock names that node) is resubmitted as a new job.

A lock held on another host without a Slurm job, or when ``squeue`` cannot answer,
cannot be checked from here: the second run stops and says how to remove the lock if
that run is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import os.path as osp
import socket
import time
import uuid
from contextlib import contextmanager

from ..errors import UserError
from .checkpoint import remove_stale_temporaries

LOCK_NAME = "train.lock"


class WorkDirError(UserError, PermissionError):
    """A work dir that cannot be created or written."""


class WorkDirLockedError(UserError, RuntimeError):
    """Another training holds the work dir."""


def ensure_writable(work_dir: str) -> str:
    """Create ``work_dir`` if needed and check that files can be written in it."""
    try:
        os.makedirs(work_dir, exist_ok=True)
        probe = osp.join(work_dir, f".write_test.{os.getpid()}")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as exc:
        raise WorkDirError(
            f"Work dir {work_dir!r} is not writable ({exc.strerror or exc}). Choose another "
            "with --work-dir DIR, or fix the folder's permissions."
        ) from None
    return work_dir


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return None


def _process_start(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), else None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name (field 2) may hold spaces and parentheses: split after it.
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _slurm_job() -> str | None:
    # SLURM_JOB_ID stays the same when a job (or one task of an array) is requeued.
    return os.environ.get("SLURM_JOB_ID")


#: squeue's answer for a job id it no longer knows (purged after MinJobAge).
_UNKNOWN_JOB = "Invalid job id specified"


def slurm_job_ended(job_id: str) -> bool:
    """Whether Slurm says job ``job_id`` has left the queue. False when it is queued or
    running, and when squeue is missing or cannot reach the controller (no answer)."""
    import subprocess

    try:
        result = subprocess.run(
            ["squeue", "--noheader", "--jobs", str(job_id), "--format=%T"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    if result.returncode != 0:
        return _UNKNOWN_JOB in result.stderr
    return not result.stdout.strip()


def holder_record() -> dict:
    """Who takes the lock: this process."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "process_start": _process_start(os.getpid()),
        "boot_id": _boot_id(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "slurm_job_id": _slurm_job(),
    }


def is_stale(holder: dict) -> bool:
    """Whether the run that wrote ``holder`` can no longer be running."""
    if holder.get("host") != socket.gethostname():
        # Another machine: a requeue of the same Slurm job knows that its earlier start
        # ended; of another job, Slurm's queue says whether it still runs.
        job, held_by = _slurm_job(), holder.get("slurm_job_id")
        if not held_by:
            return False
        return held_by == job or slurm_job_ended(held_by)
    if holder.get("boot_id") and _boot_id() and holder["boot_id"] != _boot_id():
        return True  # the machine rebooted since
    pid = holder.get("pid")
    if not isinstance(pid, int) or not _pid_alive(pid):
        return True
    start = holder.get("process_start")
    return start is not None and _process_start(pid) not in (None, start)  # PID reused


class WorkDirLock:
    """``WORK_DIR/train.lock`` held by this process (see the module docstring)."""

    def __init__(self, *, work_dir: str) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_NAME)
        self.record = holder_record()
        self.taken_over: dict | None = None  # the stale holder this lock replaced

    def check(self) -> None:
        """Raise :class:`WorkDirLockedError` if a running training holds the lock."""
        holder = self._read()
        if holder is not None and not is_stale(holder):
            raise WorkDirLockedError(self._held_message(holder))

    def acquire(self) -> WorkDirLock:
        tmp = f"{self.path}.{uuid.uuid4().hex}"
        with open(tmp, "w") as f:
            json.dump(self.record, f)
        try:
            for _ in range(10):
                try:
                    os.link(tmp, self.path)  # fails if the lock exists: atomic
                    return self
                except FileExistsError:
                    pass
                holder = self._read()
                if holder is not None and not is_stale(holder):
                    raise WorkDirLockedError(self._held_message(holder))
                self._remove_if_unchanged(holder)
                self.taken_over = holder or {}
            raise WorkDirLockedError(f"Could not take {self.path}: it keeps changing.")
        finally:
            os.remove(tmp)

    def release(self) -> None:
        holder = self._read()
        if holder is not None and holder == self.record:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)

    def _read(self) -> dict | None:
        """The holder, or None for a missing, empty or unreadable lock file (a lock is
        only ever created complete, so such a file holds nothing)."""
        try:
            with open(self.path) as f:
                holder = json.load(f)
        except (OSError, ValueError):
            return None
        return holder if isinstance(holder, dict) else None

    def _remove_if_unchanged(self, stale: dict | None) -> None:
        """Move the stale lock aside, unless another process replaced it meanwhile
        (two runs that both found it stale): then put theirs back."""
        aside = f"{self.path}.stale.{uuid.uuid4().hex}"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        with open(aside) as f:
            text = f.read()
        try:
            moved = json.loads(text)
        except ValueError:
            moved = None
        if moved != stale:
            with contextlib.suppress(FileExistsError):
                os.link(aside, self.path)
        os.remove(aside)

    def _held_message(self, holder: dict) -> str:
        slurm = f", Slurm job {holder['slurm_job_id']}" if holder.get("slurm_job_id") else ""
        return (
            f"Work dir {self.work_dir!r} is in use by another training: host "
            f"{holder.get('host')}, PID {holder.get('pid')}{slurm}, started "
            f"{holder.get('started')}. Two runs in one work dir would mix their "
            "checkpoints and logs: wait for it, or use another --work-dir. If that run is "
            f"gone (it ran on another machine), delete {self.path}."
        )


def _rank() -> int:
    # Before the process group exists: torchrun's RANK, or srun's SLURM_PROCID.
    return int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", 0)))


@contextmanager
def training_work_dir(work_dir: str, *, rank: int | None = None):
    """Hold ``work_dir`` for a training: writable, locked (rank 0; the other ranks of a
    distributed run belong to the same training), without partial checkpoints of a
    killed or failed save. Yields the lock (None on other ranks)."""
    from mmengine.logging import print_log

    work_dir = osp.abspath(work_dir)
    if (_rank() if rank is None else rank) != 0:
        yield None
        return
    ensure_writable(work_dir)
    lock = WorkDirLock(work_dir=work_dir)
    lock.check()
    # No running training writes here now: a partial checkpoint is a leftover, and on a
    # full disk its space is what the lock file and this run's config and log need.
    stale = remove_stale_temporaries(work_dir)
    lock.acquire()
    try:
        if lock.taken_over is not None:
            print_log(f"Took over the lock of a run that ended: {lock.taken_over}",
                      logger="current")  # fmt: skip
        if stale:
            print_log(f"Removed partial checkpoint(s) of an interrupted save: {stale}",
                      logger="current")  # fmt: skip
        yield lock
    finally:
        lock.release()
