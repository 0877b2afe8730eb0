"""Submitting runs: one training job, or a sweep as one Slurm job array.

Layout of what a submission writes (ROOT = ``--work-dir-root``)::

    ROOT/NAME/                    a single run: the mmengine work dir
        manifest.json             what was submitted, job ids, states
        slurm/<stamp>/            submitit's pickles and the job's stdout/stderr
    ROOT/SWEEP/                   a sweep
        manifest.json
        slurm/<stamp>/            one folder for the whole array
        RUN_NAME/ ...             one work dir per run

``<stamp>`` is new for every submission: Slurm restarts job ids at 1 after its state
is wiped, and a folder keyed on the job id alone would return an older job's result.
"""

from __future__ import annotations

import os
import os.path as osp
import random
import shlex
import sys
import time
import uuid
from dataclasses import dataclass, field, replace

from ..engine.cli import TrainOptions
from ..errors import UserError
from .job import DEFAULT_MAX_REQUEUES, TrainJob
from .manifest import MANIFEST, Manifest, SubmittedRun
from .resources import SlurmResources
from .sweep import RunSpec


class SubmissionError(UserError, RuntimeError):
    """The scheduler refused the job; the message carries its answer."""


@dataclass(frozen=True, kw_only=True)
class SubmitOptions:
    """What every run of a submission shares besides its config and cfg-options: the
    training options (``train.seed`` None: drawn per run at submission), how often a job
    may requeue itself, and W&B tags."""

    train: TrainOptions = field(default_factory=TrainOptions)
    max_requeues: int = DEFAULT_MAX_REQUEUES
    wandb_tags: tuple[str, ...] = ()


def new_stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def make_jobs(
    runs: list[RunSpec],
    *,
    root: str,
    options: SubmitOptions,
    group: str | None,
    job_type: str,
    run_dirs: bool,
) -> list[TrainJob]:
    """One TrainJob per run. The seed is drawn here when not given, so that every
    restart of a run uses the same one; a resubmission into an earlier submission's
    folder reuses that run's seed, so that it resumes on the same data order."""
    from ..engine.config import config_reference  # mmseg::... stays a package path

    earlier = _earlier_seeds(root)
    data_root = options.train.data_root
    data_root = osp.abspath(data_root) if data_root else None  # the job may start elsewhere
    jobs = []
    for run in runs:
        work_dir = osp.join(root, run.name) if run_dirs else root
        seed = options.train.seed
        if seed is None:
            seed = earlier.get(run.name, random.randrange(2**31))
        wandb = {"name": run.name, "job_type": job_type, "tags": [*options.wandb_tags, *run.tags()]}
        if group:
            wandb["group"] = group
        jobs.append(
            TrainJob(
                config=config_reference(run.config),
                work_dir=osp.abspath(work_dir),
                cfg_options=dict(run.cfg_options),
                options=replace(options.train, seed=seed, data_root=data_root),
                max_requeues=options.max_requeues,
                wandb=wandb,
            )
        )
    return jobs


def _earlier_seeds(root: str) -> dict[str, int]:
    try:
        return {r.name: r.seed for r in Manifest.load(osp.join(root, MANIFEST)).runs}
    except UserError:
        return {}


def check_jobs(jobs: list[TrainJob]) -> list[int]:
    """Resolve every run's config before anything is queued (unknown keys, bad values
    fail here, not hours later on a node); returns each run's iteration count."""
    from ..utils.quiet import quiet_stack

    quiet_stack()
    iters = []
    for job in jobs:
        try:
            cfg = job.build_config()
        except UserError as exc:
            if len(jobs) == 1:
                raise
            name = job.wandb.get("name", job.work_dir)
            raise UserError(f"run {name} (nothing was submitted): {exc}") from None
        iters.append(int(cfg.get("train_cfg", {}).get("max_iters") or 0))
    return iters


def sbatch_script(
    *,
    resources: SlurmResources,
    folder: str,
    python: str | None = None,
    array_size: int | None = None,
    max_parallel: int | None = None,
) -> str:
    """The batch script submitit writes for these resources (``--dry-run``)."""
    from .submitit_private import sbatch_string

    python = python or shlex.quote(sys.executable)
    command = " ".join([python, "-u -m submitit.core._submit", shlex.quote(folder)])
    params = resources.slurm_parameters()
    if array_size:
        params["map_count"] = array_size
        params["array_parallelism"] = max_parallel or array_size
    return sbatch_string(command=command, folder=folder, **params)


def submit(
    jobs: list[TrainJob],
    *,
    resources: SlurmResources,
    folder: str,
    local: bool,
    max_parallel: int | None = None,
):
    """Submit ``jobs`` (several: one job array) and return submitit's Job objects."""
    import submitit

    os.makedirs(folder, exist_ok=True)
    try:
        if local:
            executor = submitit.LocalExecutor(folder=folder, max_num_timeout=jobs[0].max_requeues)
            executor.update_parameters(**resources.local_parameters())
        else:
            executor = submitit.SlurmExecutor(folder=folder, max_num_timeout=jobs[0].max_requeues)
            executor.update_parameters(**resources.slurm_parameters())
            if len(jobs) > 1:
                executor.update_parameters(array_parallelism=max_parallel or len(jobs))
    except RuntimeError as exc:  # submitit: no srun on this machine
        raise SubmissionError(
            f"{exc}. On a machine without Slurm use --local (submitit's local executor) "
            "or --dry-run to see the batch script."
        ) from None
    try:
        if len(jobs) == 1:
            return [executor.submit(jobs[0])]
        with executor.batch():
            pending = [executor.submit(job) for job in jobs]
        return pending
    except (submitit.core.utils.FailedJobError, OSError) as exc:
        raise SubmissionError(f"sbatch refused the job: {exc}") from None


def write_manifest(
    *,
    path: str,
    kind: str,
    name: str,
    jobs: list[TrainJob],
    runs: list[RunSpec],
    submitted,
    folder: str,
    resources: SlurmResources,
    local: bool,
    max_iters: list[int],
) -> Manifest:
    records = [
        SubmittedRun(
            index=i,
            name=run.name,
            job_id=str(sub.job_id),
            config=job.config,
            cfg_options=job.cfg_options,
            params=run.params,
            work_dir=job.work_dir,
            seed=job.options.seed,
            max_iters=iters,
            state="queued",
        )
        for i, (run, job, sub, iters) in enumerate(
            zip(runs, jobs, submitted, max_iters, strict=True)
        )
    ]
    manifest = Manifest(
        path=path,
        kind=kind,
        name=name,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        executor="local" if local else "slurm",
        folder=folder,
        array_job_id=str(submitted[0].job_id).split("_")[0] if len(submitted) > 1 else None,
        resources=_resources_json(resources),
        command=[sys.executable, *sys.argv],
        runs=records,
    )
    manifest.save()
    return manifest


def _resources_json(resources: SlurmResources) -> dict:
    from dataclasses import asdict

    data = asdict(resources)
    data["setup"] = list(data["setup"])
    return data
