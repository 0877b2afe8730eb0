"""Stop at a consistent point when Slurm says the job must go, with a checkpoint saved.

submitit's own handler checkpoints from inside the signal handler, i.e. in the middle
of whatever the training loop was doing (half an optimizer step, one rank inside an
all-reduce the others left). Here the signal only raises a flag; ``PreemptionHook``
looks at it after every train and val iteration, agrees across ranks (an all-reduce of
one number), saves ``iter_N.pth`` unless the regular checkpoint of that iteration
exists, and raises :class:`Preempted` on every rank. The job then requeues itself
(``launch/job.py``) and the next start resumes from that checkpoint: at most the
iteration in flight is repeated.

* ``SIGUSR2`` (submitit's signal: the time limit is near, or ``scancel --signal=USR2``)
  -> checkpoint and requeue.
* ``SIGTERM`` (Slurm preemption with ``PreemptMode=REQUEUE``, ``scontrol requeue``,
  ``scancel``) -> checkpoint and exit; Slurm itself decides whether the job comes back.
  Requeuing here would resurrect jobs that the user cancelled.
* ``SIGINT`` (Ctrl-C in ``tools/train.py``, :func:`interruptible`) -> checkpoint and exit
  with the command that resumes; a second Ctrl-C stops at once.

Nothing here imports submitit, so that ``tools/train.py`` can use it without a cluster.
"""

from __future__ import annotations

import os
import os.path as osp
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import NoReturn

import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import BaseLoop
from mmseg.registry import HOOKS

from ..engine.checkpoint import write_text_atomic
from ..errors import UserError

VAL_MARKER = "preempted_during_val"
REQUEUE_SIGNAL = signal.SIGUSR2
STOP_SIGNAL = signal.SIGTERM
INTERRUPT_SIGNAL = signal.SIGINT
# One number per signal, ordered by priority (requeue > stop > interrupt), so that one
# MAX all-reduce gives every rank the same answer.
_CODES = {0: 0, int(INTERRUPT_SIGNAL): 1, int(STOP_SIGNAL): 2, int(REQUEUE_SIGNAL): 3}
_SIGNALS = {code: signum for signum, code in _CODES.items()}


def add_preemption_hook(cfg) -> None:
    """Put one ``PreemptionHook`` in ``cfg.custom_hooks`` (the job and the sbatch path)."""
    hooks = [h for h in cfg.get("custom_hooks", []) if h.get("type") != "PreemptionHook"]
    cfg.custom_hooks = [*hooks, dict(type="PreemptionHook")]


class RequeueLimitError(UserError, RuntimeError):
    """Preempted more often than the job may requeue itself."""


class Preempted(Exception):
    """Raised on every rank after the preemption checkpoint is on disk."""

    def __init__(self, *, signum: int, iteration: int, checkpoint: str) -> None:
        self.signum = signum
        self.iteration = iteration
        self.checkpoint = checkpoint
        name = signal.Signals(signum).name
        super().__init__(
            f"{name} received: stopped after iteration {iteration}, saved {checkpoint}"
        )

    @property
    def requeue(self) -> bool:
        return self.signum == REQUEUE_SIGNAL


class PreemptionFlag:
    """The signal that arrived, if any. Handlers only store it (async-signal-safe)."""

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, object] = {}

    def install(self, signals=(REQUEUE_SIGNAL, STOP_SIGNAL)) -> PreemptionFlag:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("signal handlers can only be installed from the main thread")
        for signum in signals:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def uninstall(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        if signum == INTERRUPT_SIGNAL and self.signum == INTERRUPT_SIGNAL:
            raise KeyboardInterrupt  # a second Ctrl-C: the user will not wait
        if _CODES.get(int(signum), 0) > _CODES.get(int(self.signum), 0):
            self.signum = signum  # a requeue request wins over a stop, a stop over Ctrl-C


# The flag of this process; the hook reads it, the job installs it.
FLAG = PreemptionFlag()


def agreed_signal(local: int) -> int:
    """The same answer on every rank, so that all stop at the same iteration: requeue
    if any rank got SIGUSR2, else stop if any got SIGTERM, else SIGINT, else 0."""
    import torch.distributed as dist

    code = _CODES.get(int(local), _CODES[int(STOP_SIGNAL)])
    _, world_size = get_dist_info()
    if world_size > 1 and dist.is_available() and dist.is_initialized():
        device = "cuda" if dist.get_backend() == "nccl" else "cpu"
        value = torch.tensor([code], dtype=torch.int32, device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        code = int(value.item())
    return int(_SIGNALS[code])


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Save a checkpoint and stop, on every rank at the same iteration, once a
    preemption signal has arrived (see the module docstring).

    Runs after ``CheckpointHook`` (priority LOWEST), so an iteration whose regular
    checkpoint was just written is not saved twice.
    """

    priority = "LOWEST"

    def __init__(self, *, flag: PreemptionFlag | None = None) -> None:
        self.flag = flag or FLAG

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        # runner.iter counts from 0 and is incremented after these hooks.
        self._maybe_stop(runner, done=runner.iter + 1)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        # Validating a large split takes minutes: do not wait for its end. The model is
        # the one after train iteration runner.iter; the restart validates it again.
        if isinstance(getattr(runner, "_train_loop", None), BaseLoop):
            self._maybe_stop(runner, done=runner.iter, in_val=True)

    def before_train(self, runner) -> None:
        """Redo the validation a preemption interrupted (else a run stopped during its
        final validation would end without final metrics)."""
        marker = osp.join(runner.work_dir, VAL_MARKER)
        if not osp.exists(marker):
            return
        with open(marker) as f:
            interrupted = int(f.read().strip() or -1)
        if interrupted == runner.iter and runner.val_loop is not None:
            print_log(f"Validating iteration {interrupted} again (interrupted by preemption)",
                      logger="current")  # fmt: skip
            runner.val_loop.run()
        if runner.rank == 0 and osp.exists(marker):
            os.remove(marker)

    def _maybe_stop(self, runner, *, done: int, in_val: bool = False) -> None:
        signum = agreed_signal(self.flag.signum)
        if not signum:
            return
        if in_val and runner.rank == 0:
            write_text_atomic(osp.join(runner.work_dir, VAL_MARKER), f"{done}\n")
        path = osp.join(runner.work_dir, f"iter_{done}.pth")
        # Every rank takes the same branch (save_checkpoint is collective: RNG states).
        if getattr(runner, "last_saved_iter", None) != done:
            runner.save_checkpoint(
                runner.work_dir,
                osp.basename(path),
                meta={"iter": done},
                by_epoch=False,
                save_optimizer=True,
                save_param_scheduler=True,
            )
        print_log(
            f"{signal.Signals(signum).name}: checkpoint {path} after iteration {done}; stopping",
            logger="current",
        )
        self.flag.signum = 0  # handled (matters only to a process that trains again)
        _finish_wandb(runner)
        raise Preempted(signum=signum, iteration=done, checkpoint=path)


def _finish_wandb(runner) -> None:
    """Flush and close the W&B run before the process goes, on every exit path (submitit,
    sbatch, Ctrl-C); the restart continues it (same run id, kept in the work dir)."""
    from ..engine.hooks import WandbLoggerHook

    for hook in getattr(runner, "hooks", ()):
        if isinstance(hook, WandbLoggerHook):
            hook.after_run(runner)


def exit_after_preemption(
    stop: Preempted,
    *,
    rank: int,
    restarts: int,
    limit: int,
    limit_setting: str,
    requeue: Callable[[], None],
    resubmit_hint: str,
) -> NoReturn:
    """The one decision after :class:`Preempted`, for the submitit job and the sbatch
    path alike: SIGUSR2 -> rank 0 calls ``requeue`` (unless ``restarts`` reached
    ``limit``), SIGTERM -> just exit (Slurm requeues preempted jobs itself, and a
    cancelled job must stay cancelled). The callers differ only in how they count
    restarts and how they requeue; ``limit_setting`` names where the limit was set.
    Never returns."""
    from ..engine.runner import close_distributed

    close_distributed()
    if not stop.requeue:
        sys.exit(1)
    if restarts >= limit:
        raise RequeueLimitError(
            f"{stop}; the job was restarted {restarts} time(s), the limit "
            f"({limit_setting}). {resubmit_hint}"
        ) from None
    if rank == 0:
        requeue()
    sys.exit(1)  # the other tasks: Slurm ends them with the requeue anyway


@contextmanager
def interruptible(cfg, *, resume_command: str):
    """Ctrl-C during ``tools/train.py``: the PreemptionHook finishes the iteration in
    flight, saves ``iter_N.pth`` and stops; one line says how to resume. A second Ctrl-C
    stops at once (the newest complete checkpoint stays)."""
    add_preemption_hook(cfg)
    FLAG.install(signals=(INTERRUPT_SIGNAL,))
    try:
        yield
    except Preempted as stop:
        print(f"{stop}. Resume with: {resume_command}", file=sys.stderr)
        raise SystemExit(128 + int(INTERRUPT_SIGNAL)) from None
    except KeyboardInterrupt:
        print(
            f"Interrupted (second Ctrl-C): stopped at once; complete checkpoints in "
            f"{cfg.work_dir} are kept. Resume with: {resume_command}",
            file=sys.stderr,
        )
        raise SystemExit(128 + int(INTERRUPT_SIGNAL)) from None
    finally:
        FLAG.uninstall()
        FLAG.signum = 0
