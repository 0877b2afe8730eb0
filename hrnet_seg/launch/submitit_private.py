"""Every call into submitit's private API, in one place, checked against one version.

submitit has no public way to (1) requeue a running job with a changed callable (our
requeue count), (2) render the sbatch script without submitting (``--dry-run``), or
(3) parse ``sacct`` output with pending array ranges. These use its internals, read in
submitit 1.5.4 (pyproject.toml pins the 1.5 series); a new submitit series means
reading these again, and ``tests/launch/test_submitit_private.py`` runs each of them.
"""

from __future__ import annotations

CHECKED_VERSION = "1.5.4"


def requeue_with(function, *, max_requeues_left: int) -> None:
    """Store ``function`` where submitit reloads the job on restart (its submitted
    pickle), then ask the scheduler to requeue (Slurm: ``scontrol requeue``; the local
    executor: a special exit code). Raises RuntimeError outside a submitit job."""
    import submitit
    from submitit.core import utils

    env = submitit.JobEnvironment()
    path = env.paths.submitted_pickle
    delayed = utils.DelayedSubmission.load(path)
    delayed.function = function
    delayed.dump(path)
    env._requeue(max_requeues_left)


def sbatch_string(*, command: str, folder: str, **params) -> str:
    """The batch script submitit's SlurmExecutor would submit with these parameters."""
    from submitit.slurm.slurm import _make_sbatch_string

    return _make_sbatch_string(command=command, folder=folder, **params)


def read_sacct(text: str) -> dict[str, dict[str, str]]:
    """``sacct --parsable2`` output by job id, pending array ranges (``123_[2-3%2]``)
    expanded to their tasks (submitit's reader)."""
    from submitit.slurm.slurm import SlurmInfoWatcher

    return SlurmInfoWatcher().read_info(text)
