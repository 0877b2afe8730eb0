"""The flags and flows behind ``slurm/submit.py``, ``slurm/sweep.py``, ``slurm/status.py``
and ``slurm/collect.py`` (which only parse and call these)."""

from __future__ import annotations

import argparse
import os.path as osp
import time

from ..engine.cli import TrainOptions, ValuesAction, add_train_args
from ..errors import UserError
from .job import DEFAULT_MAX_REQUEUES
from .manifest import MANIFEST, Manifest
from .resources import (
    DEFAULT_SIGNAL_DELAY_S,
    ResourceError,
    SlurmResources,
    parse_extra,
    parse_time_min,
)
from .submit import (
    SubmitOptions,
    check_jobs,
    make_jobs,
    new_stamp,
    sbatch_script,
    submit,
    write_manifest,
)
from .sweep import RunSpec, SweepSpec


def add_resource_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("resources (sbatch)")
    g.add_argument("--nodes", type=int, default=1, help="number of nodes (default 1)")
    g.add_argument(
        "--gpus-per-node",
        type=int,
        default=0,
        help="GPUs per node, one process each; 0 (default): CPU processes over gloo",
    )
    g.add_argument(
        "--tasks-per-node",
        type=int,
        default=1,
        help="processes per node without GPUs (with GPUs: one per GPU)",
    )
    g.add_argument(
        "--cpus-per-task",
        type=int,
        default=4,
        help="CPU cores per process: data-loading workers + 1 (default 4)",
    )
    g.add_argument("--mem-gb", type=float, help="memory per node (GB); default: the partition's")
    g.add_argument(
        "--time",
        type=_time_min,
        default=60,
        dest="time_min",
        metavar="TIME",
        help="time limit in Slurm's formats: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, "
        "D-HH:MM:SS (default 60 minutes)",
    )
    for name in ("partition", "account", "qos", "constraint"):
        g.add_argument(f"--{name}", help=f"sbatch --{name}")
    g.add_argument("--job-name", default="hrnet_seg", help="Slurm job name (default hrnet_seg)")
    g.add_argument(
        "--signal-delay-s",
        type=int,
        default=DEFAULT_SIGNAL_DELAY_S,
        help="checkpoint signal this long before the time limit",
    )
    g.add_argument(
        "--sbatch",
        nargs="+",
        action=ValuesAction,
        metavar="OPT[=VALUE]",
        default=[],
        help="extra sbatch options, e.g. --sbatch exclusive mail-type=END",
    )
    g.add_argument(
        "--setup",
        action="append",
        default=[],
        metavar="LINE",
        help="shell line run before srun (module load ..., source venv)",
    )
    g = parser.add_argument_group("launching")
    g.add_argument("--work-dir-root", default="work_dirs", help="runs go to ROOT/NAME")
    g.add_argument("--dry-run", action="store_true", help="print the sbatch script and exit")
    g.add_argument(
        "--local", action="store_true", help="submitit's local executor (no Slurm needed)"
    )
    g.add_argument(
        "--in-process",
        action="store_true",
        help="run the job here without submitit or Slurm (one process: a 1-GPU check)",
    )
    g.add_argument(
        "--max-requeues",
        type=int,
        default=DEFAULT_MAX_REQUEUES,
        help="times a preempted or timed-out job may requeue itself",
    )
    g.add_argument(
        "--wait",
        action="store_true",
        help="wait for the end; print each failure's traceback and log path",
    )
    g = parser.add_argument_group("training (as tools/train.py)")
    add_train_args(g)
    g.add_argument(
        "--tags", nargs="+", action=ValuesAction, default=[], help="W&B tags of the run(s)"
    )


def _time_min(text: str) -> int:
    try:
        return parse_time_min(text)
    except ResourceError as exc:  # argparse's one-line error, exit 2
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--time ")) from None


def resources_from(args) -> SlurmResources:
    return SlurmResources(
        nodes=args.nodes,
        gpus_per_node=args.gpus_per_node,
        tasks_per_node=args.tasks_per_node,
        cpus_per_task=args.cpus_per_task,
        mem_gb=args.mem_gb,
        time_min=args.time_min,
        partition=args.partition,
        account=args.account,
        qos=args.qos,
        constraint=args.constraint,
        job_name=args.job_name,
        signal_delay_s=args.signal_delay_s,
        extra=parse_extra(args.sbatch),
        setup=tuple(args.setup),
    )


def options_from(args) -> SubmitOptions:
    if args.max_requeues < 0:
        raise UserError(f"--max-requeues must be >= 0, got {args.max_requeues}")
    return SubmitOptions(
        train=TrainOptions.from_args(args),
        max_requeues=args.max_requeues,
        wandb_tags=tuple(args.tags),
    )


def launch(
    *,
    kind: str,
    name: str,
    runs: list[RunSpec],
    args,
    group: str | None,
    max_parallel: int | None = None,
) -> int:
    """Shared by submit (one run) and sweep (a job array)."""
    resources = resources_from(args)
    root = osp.abspath(osp.join(args.work_dir_root, name))
    folder = osp.join(root, "slurm", new_stamp())
    jobs = make_jobs(
        runs,
        root=root,
        options=options_from(args),
        group=group,
        job_type="sweep" if kind == "sweep" else "train",
        run_dirs=kind == "sweep",
    )
    max_iters = check_jobs(jobs)
    if args.dry_run:
        print(
            sbatch_script(
                resources=resources,
                folder=folder,
                array_size=len(jobs) if len(jobs) > 1 else None,
                max_parallel=max_parallel,
            )
        )
        for job, run in zip(jobs, runs, strict=True):
            print(f"# run {run.name}: {job.config} -> {job.work_dir}")
        print(
            f"# world size {resources.world_size} ({resources.nodes} node(s) x "
            f"{resources.ntasks_per_node} task(s)); nothing submitted (--dry-run)"
        )
        return 0
    if args.in_process:
        return run_in_process(jobs)
    submitted = submit(
        jobs, resources=resources, folder=folder, local=args.local, max_parallel=max_parallel
    )
    manifest = write_manifest(
        path=osp.join(root, MANIFEST),
        kind=kind,
        name=name,
        jobs=jobs,
        runs=runs,
        submitted=submitted,
        folder=folder,
        resources=resources,
        local=args.local,
        max_iters=max_iters,
    )
    executor = "local executor" if args.local else "Slurm"
    ids = manifest.array_job_id or manifest.runs[0].job_id
    print(f"Submitted {kind} {name!r} to {executor}: job {ids} ({len(jobs)} run(s))")
    for run in manifest.runs:
        out, err = manifest.log_paths(run)
        print(f"  {run.name}: job {run.job_id}")
        print(f"    work dir {run.work_dir}\n    logs {out}\n         {err}")
    print(f"Manifest: {manifest.path}")
    print(f"Status:   python slurm/status.py {manifest.path}")
    if args.wait:
        return wait(manifest)
    return 0


def run_in_process(jobs) -> int:
    """The same TrainJob, called here: one process, no scheduler."""
    if len(jobs) != 1:
        raise UserError(f"--in-process runs one job, this submission has {len(jobs)}")
    results = jobs[0]()
    keys = ("mIoU", "mAcc", "aAcc", "final_iter", "wall_time_s")
    figures = "  ".join(
        f"{k}={results[k]:.2f}" if isinstance(results.get(k), float) else f"{k}={results.get(k)}"
        for k in keys
    )
    print(f"Finished in process: {jobs[0].work_dir}  {figures}")
    return 0


def wait(manifest: Manifest, *, poll_s: float = 5.0, timeout_s: float | None = None) -> int:
    """Poll until every run is done or failed; 0 only when all are done."""
    start = time.time()
    last = None
    while True:
        manifest.refresh()
        counts = manifest.counts()
        if counts != last:
            print(
                time.strftime("%H:%M:%S"),
                " ".join(f"{k}={v}" for k, v in sorted(counts.items())),
                flush=True,
            )
            last = counts
        if manifest.finished():
            break
        if timeout_s is not None and time.time() - start > timeout_s:
            print(manifest.table())
            raise UserError(f"timed out after {timeout_s:.0f} s waiting for {manifest.path}")
        time.sleep(poll_s)
    print(manifest.table())
    failures = manifest.failures()
    if failures:
        print(failures)
        return 1
    return 0


def status(path: str, *, watch: bool = False, poll_s: float = 30.0) -> int:
    manifest = Manifest.load(path)
    if watch:
        return wait(manifest, poll_s=poll_s)
    manifest.refresh()
    print(f"{manifest.kind} {manifest.name!r} ({manifest.executor}), manifest {manifest.path}")
    print(manifest.table())
    failures = manifest.failures()
    if failures:
        print(failures)
    return 0


def collect(path: str) -> int:
    manifest = Manifest.load(path).refresh()
    collected = manifest.collect()
    root = osp.dirname(manifest.path)
    if not collected:
        print(f"No finished run yet in {manifest.path}")
        print(manifest.table())
        return 1
    for c in collected:
        r = c["results"]
        params = " ".join(f"{k}={v}" for k, v in c["params"].items()) or "-"
        print(f"{r.get('mIoU', float('nan')):6.2f} mIoU  {c['name']}  {params}")
    missing = len(manifest.runs) - len(collected)
    print(
        f"{len(collected)} finished run(s) collected in {osp.join(root, 'collected.json')}"
        + (f"; {missing} not finished" if missing else "")
    )
    print(f"Leaderboard: python tools/leaderboard.py {root}")
    return 0


def sweep_from_args(args) -> SweepSpec:
    from .sweep import SweepSpecError, load_sweep_file, parse_grid

    # `--grid K=V configs/x.py`: argparse's nargs="+" takes the config into --grid; a
    # word without "=" is no grid entry, so it goes back to the configs.
    items = args.grid or []
    args.configs = [*args.configs, *(w for w in items if "=" not in w)]
    args.grid = [w for w in items if "=" in w]
    if args.sweep_file:
        spec = load_sweep_file(args.sweep_file)
        grid = {**spec.grid, **parse_grid(args.grid)}
        configs = tuple(args.configs) or spec.configs
        return SweepSpec(
            name=args.name or spec.name,
            configs=configs,
            grid=grid,
            cfg_options={**spec.cfg_options, **(args.cfg_options or {})},
            max_parallel=args.max_parallel or spec.max_parallel,
            tags=spec.tags,
        )
    if not args.configs:
        raise SweepSpecError("give a sweep file (--file SWEEP.yaml) or configs and --grid")
    return SweepSpec(
        name=args.name or time.strftime("sweep-%Y%m%d-%H%M%S"),
        configs=tuple(args.configs),
        grid=parse_grid(args.grid),
        cfg_options=dict(args.cfg_options or {}),
        max_parallel=args.max_parallel,
    )
