"""The training job that submitit pickles and runs on every task of a Slurm job.

A small callable class, as in dinov2/ConvNeXt's launchers: the arguments of
``tools/train.py`` as fields, ``__call__`` trains (rank and world size from Slurm),
and a preemption requeues the same job, which resumes from its work dir. It lives in
the package so that it unpickles on the nodes without ``sys.path`` tricks.
"""

from __future__ import annotations

import os
import os.path as osp
import sys
from dataclasses import dataclass, field, replace

from ..engine.cli import TrainOptions

DEFAULT_MAX_REQUEUES = 10


@dataclass(frozen=True, kw_only=True)
class TrainJob:
    """Train one config, the way ``tools/train.py`` does, inside a Slurm task.

    Args:
        config: config file (absolute, so that the job does not depend on the cwd).
        work_dir: where checkpoints, logs, results.json and the W&B run go.
        cfg_options: ``--cfg-options`` as a dict.
        options: as in ``tools/train.py``; the seed is fixed at submission, so that every
            restart draws the same data order (mmengine otherwise picks a new random seed
            at each start), and the data root is absolute.
        max_requeues: how many times the job may requeue itself after preemption or
            the time limit; then it fails, saying how to continue.
        requeues: how many times it already has (the job re-pickles itself with +1).
        wandb: ``WandbLoggerHook`` fields to set: name, group, job_type, tags.
    """

    config: str
    work_dir: str
    cfg_options: dict = field(default_factory=dict)
    options: TrainOptions = field(default_factory=lambda: TrainOptions(seed=0))
    max_requeues: int = DEFAULT_MAX_REQUEUES
    requeues: int = 0
    wandb: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        from ..engine.config import config_reference

        # config_reference: a package-scope config (mmseg::...) is found from anywhere.
        if config_reference(self.config) != self.config or not osp.isabs(self.work_dir):
            raise ValueError(
                f"config and work_dir must be absolute paths (the job may start in another "
                f"directory), got config={self.config!r}, work_dir={self.work_dir!r}"
            )
        if self.options.seed is None:
            raise ValueError("options.seed must be fixed at submission (restarts reuse it)")
        if not isinstance(self.max_requeues, int) or self.max_requeues < 0:
            raise ValueError(f"max_requeues must be an integer >= 0, got {self.max_requeues!r}")
        unknown = set(self.wandb) - {"name", "group", "job_type", "tags"}
        if unknown:
            raise ValueError(f"wandb accepts name, group, job_type, tags; got {sorted(unknown)}")

    # -- what submitit calls -------------------------------------------------------------

    def __call__(self) -> dict:
        from ..engine.runner import close_distributed
        from ..engine.work_dir import training_work_dir
        from .distributed import end_job_after_failure, export_torch_env, use_allocated_cpus
        from .preemption import FLAG, Preempted

        dist = export_torch_env()
        use_allocated_cpus()
        FLAG.install()  # replaces submitit's handlers: see launch/preemption.py
        try:
            # A requeue of this job takes the lock over (same SLURM_JOB_ID); another run in
            # the same work dir stops with its name.
            with training_work_dir(self.work_dir, rank=dist.rank):
                runner = self._build_runner(dist)
                try:
                    runner.train()
                except Preempted as stop:
                    self._after_preemption(stop, rank=dist.rank)
        except Exception as exc:
            if dist.world_size > 1:  # a lost peer, a crash: the job cannot go on
                end_job_after_failure(exc, rank=dist.rank)
            raise
        close_distributed()
        return self.result()

    def checkpoint(self, *args, **kwargs):
        """submitit's protocol, used when its own handler caught the signal (before
        ``__call__`` installed ours): run again, resuming from the work dir."""
        import submitit

        return submitit.helpers.DelayedSubmission(self.requeued())

    # -- pieces ------------------------------------------------------------------------

    def requeued(self) -> TrainJob:
        return replace(self, requeues=self.requeues + 1)

    def build_config(self, *, launcher: str = "none"):
        """The resolved config this job trains (also used by ``--dry-run``)."""
        from ..engine.config import TRAIN_KEYS, configure, load_config
        from .preemption import add_preemption_hook

        cfg = load_config(self.config, self.cfg_options or None, required=TRAIN_KEYS)
        configure(
            cfg,
            config_path=self.config,
            work_dir=self.work_dir,
            launcher=launcher,
            # Always: the first start finds no checkpoint and starts fresh; a requeued
            # or resubmitted one continues from the newest complete checkpoint.
            resume="auto",
            options=self.options,
        )
        add_preemption_hook(cfg)
        for hook in cfg.custom_hooks:
            if hook.get("type") == "WandbLoggerHook":
                hook.update({k: (list(v) if k == "tags" else v) for k, v in self.wandb.items()})
        return cfg

    def _build_runner(self, dist):
        from mmengine.logging import print_log

        from ..engine import SegRunner
        from ..engine.config import preflight_train
        from ..utils.quiet import quiet_stack

        quiet_stack()
        cfg = self.build_config(launcher=dist.launcher)
        preflight_train(cfg)
        runner = SegRunner.from_cfg(cfg)
        per_gpu = cfg.train_dataloader.batch_size
        print_log(
            f"Slurm job {os.environ.get('SLURM_JOB_ID', '-')}: {dist.world_size} process(es) "
            f"on {dist.nodes} node(s), master {dist.master}; batch {per_gpu} per process, "
            f"effective batch {per_gpu * dist.world_size}; restart {self.requeues} "
            f"(at most {self.max_requeues})",
            logger="current",
        )
        return runner

    def _after_preemption(self, stop, *, rank: int) -> None:
        """``preemption.exit_after_preemption`` with this job's count and submitit's
        requeue. Never returns."""
        from .preemption import exit_after_preemption

        def requeue() -> None:
            try:
                _requeue(self.requeued())
            except RuntimeError:  # not a submitit job (--in-process): nothing to requeue
                print(f"{stop}. Run the same command again to continue.", file=sys.stderr)

        exit_after_preemption(
            stop,
            rank=rank,
            restarts=self.requeues,
            limit=self.max_requeues,
            limit_setting=f"--max-requeues {self.max_requeues}",
            requeue=requeue,
            resubmit_hint=(
                f"Submit it again with the same --work-dir {self.work_dir} to continue "
                f"from {stop.checkpoint}."
            ),
        )

    def result(self) -> dict:
        """What ``job.result()`` returns: the run's results.json (metrics and metadata)."""
        from ..records.run_files import read_results

        return read_results(self.work_dir) or {"work_dir": self.work_dir}


def _requeue(job: TrainJob) -> None:
    """Requeue with the job's new requeue count (what submitit reloads on restart)."""
    from .submitit_private import requeue_with

    requeue_with(job, max_requeues_left=job.max_requeues - job.requeues)
