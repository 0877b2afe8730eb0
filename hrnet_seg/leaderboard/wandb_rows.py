"""Leaderboard rows from W&B runs: the summary and config that ``WandbLoggerHook`` writes.

Both W&B sources end here: a project's runs read through the public API
(:mod:`.wandb_project`) and offline ``run-*.wandb`` files read without a server
(:mod:`hrnet_seg.records.wandb_reader`), e.g. a run killed before it wrote its final
``results.json``, or a ``wandb`` dir copied off a cluster.

The hook's summary holds the flat leaderboard keys (``mIoU``, ``best_mIoU``, ``params``,
``GFLOPs``, ``fps``, ``gpu_type``, ``gpu_count``, ``gpu_hours``); the model, data and
schedule columns come from the resolved config, read by the same ``run_metadata`` that
writes ``results.json``, so a run reads the same from either source.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mmengine.config import Config

from ..records.benchmark_file import benchmark_figures, finite_number
from ..records.metadata import run_metadata
from ..records.wandb_reader import WandbFileError, WandbRun, read_run
from .rows import Row, SkippedRunWarning, gpu_type, run_columns

__all__ = [
    "OfflineRun",
    "read_offline_runs",
    "row_from_offline_run",
    "row_from_wandb_run",
    "with_offline_identity",
]


def _config_record(config: Mapping, *, gpu_count: int) -> dict:
    """``results.json``'s metadata keys from a W&B config; ``{}`` when the config is not
    one of our runs' (no ``model``) or does not read as one."""
    if not isinstance(config.get("model"), dict):
        return {}
    try:
        return run_metadata(
            Config(dict(config)),
            # The hook records GPUs only: a CPU run's process count is unknown, so its
            # batch is the per-process one.
            world_size=gpu_count or 1,
            device="cuda" if gpu_count else "cpu",
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        return {}


def _gpus(summary: Mapping, count: int) -> str | None:
    kind = summary.get("gpu_type")
    if not isinstance(kind, str) or not kind:
        return None
    if kind == "cpu" or not count:
        return "cpu"
    return f"{count}x {gpu_type(kind)}"


def row_from_wandb_run(
    *,
    name: str,
    summary: Mapping,
    config: Mapping,
    link: str,
    source: str,
    run_id: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    tags: Sequence[str] = (),
    state: str | None = None,
) -> Row | None:
    """The row of one W&B run; None, with a :class:`SkippedRunWarning` naming ``link``,
    when its summary has no mIoU (a run that never validated). Missing keys give empty
    cells."""
    if not isinstance(summary, Mapping) or not isinstance(config, Mapping):
        raise TypeError(f"{link}: summary and config must be mappings")
    miou = finite_number(summary.get("mIoU"))
    if miou is None:
        miou = finite_number(summary.get("best_mIoU"))
    if miou is None:
        warnings.warn(
            f"{link}: W&B run {name or run_id!r} has no mIoU in its summary (state "
            f"{state!r}); skipped",
            SkippedRunWarning,
            stacklevel=2,
        )
        return None
    count = int(finite_number(summary.get("gpu_count")) or 0)
    record = {
        **_config_record(config, gpu_count=count),
        "mIoU": miou,
        "mAcc": summary.get("val/mAcc"),
        # WandbLoggerHook's "data" summary key: real or built-in (older runs: unknown).
        "eval_data": {"kind": summary.get("data")},
    }
    params = finite_number(summary.get("params"))
    hours = finite_number(summary.get("gpu_hours"))
    return Row(
        model=name or run_id or link,
        source=source,
        link=link,
        gpus=_gpus(summary, count),
        params=int(params) if params is not None else None,
        gflops=finite_number(summary.get("GFLOPs")),
        fps=finite_number(summary.get("fps")),
        fps_at=summary.get("fps_at") if isinstance(summary.get("fps_at"), str) else None,
        # gpu_hours is wall time x GPU count: 0 on CPU, which is no GPU time at all.
        gpu_hours=round(hours, 3) if hours is not None and count else None,
        status=state,
        group=group or None,
        job_type=job_type or None,
        tags=tuple(tags or ()),
        run_id=run_id or None,
        **run_columns(record),
    )


# -- offline run files -----------------------------------------------------------------


@dataclass(frozen=True)
class OfflineRun:
    """One W&B run replayed from its offline file(s) (a resumed training writes one file
    per process, all with the run's id), and the work dir it ran in."""

    work_dir: Path
    run: WandbRun
    files: tuple[Path, ...]

    @property
    def state(self) -> str:
        # W&B's own words: without an exit record the run is still going or was killed
        # (W&B calls it "running" until its heartbeat stops), as results.json does.
        code = self.run.exit_code
        return "running" if code is None else "finished" if code == 0 else "failed"


def _work_dir(path: Path) -> Path:
    """``WORK_DIR/wandb/offline-run-*/run-<id>.wandb`` -> ``WORK_DIR``; a run dir copied
    out of its work dir stands for itself."""
    run_dir = path.parent
    return run_dir.parent.parent if run_dir.parent.name == "wandb" else run_dir


def _merge(runs: Sequence[WandbRun]) -> WandbRun:
    """Later segments win, as they would on the server: config and summary updated in
    order, the last exit record decides the state."""
    merged = dataclasses.replace(runs[0], config=dict(runs[0].config), summary={})
    for run in runs:
        merged.config.update(run.config)
        merged.summary.update(run.summary)
        for attr in ("name", "group", "job_type", "project"):
            setattr(merged, attr, getattr(run, attr) or getattr(merged, attr))
        merged.tags = list(run.tags) or merged.tags
        merged.exit_code = run.exit_code
    return merged


def read_offline_runs(files: Iterable[Path]) -> list[OfflineRun]:
    """The runs in ``files`` (``run-*.wandb``, oldest first), segments of one run merged;
    a file that is not a W&B run log is skipped with a :class:`SkippedRunWarning`."""
    segments: dict[tuple[Path, str], list[WandbRun]] = {}
    paths: dict[tuple[Path, str], list[Path]] = {}
    for path in files:
        try:
            run = read_run(path)
        except (OSError, WandbFileError) as exc:
            warnings.warn(
                f"{path}: unreadable W&B run file ({exc}); skipped", SkippedRunWarning, stacklevel=2
            )
            continue
        if not run.run_id:
            warnings.warn(
                f"{path}: no run record (the run stopped before W&B started); skipped",
                SkippedRunWarning,
                stacklevel=2,
            )
            continue
        key = (_work_dir(path).resolve(), run.run_id)
        segments.setdefault(key, []).append(run)
        paths.setdefault(key, []).append(path)
    return [
        # The work dir as the user named it (links read like the arguments).
        OfflineRun(work_dir=_work_dir(paths[key][0]), run=_merge(runs), files=tuple(paths[key]))
        for key, runs in segments.items()
    ]


def row_from_offline_run(offline: OfflineRun) -> Row | None:
    """The row of an offline run that has no ``results.json``; GFLOPs and fps from a
    ``benchmark.json`` beside it when its summary has none (a run killed before the
    hook's end)."""
    run = offline.run
    row = row_from_wandb_run(
        name=run.name or offline.work_dir.name,
        summary=run.summary,
        config=run.config,
        link=str(offline.work_dir),
        source="wandb-offline",
        run_id=run.run_id,
        group=run.group,
        job_type=run.job_type,
        tags=run.tags,
        state=offline.state,
    )
    if row is None:
        return None
    figures = benchmark_figures(offline.work_dir)
    return dataclasses.replace(
        row,
        params=row.params if row.params is not None else figures.get("params"),
        gflops=row.gflops if row.gflops is not None else figures.get("gflops"),
        gflops_at=row.gflops_at if row.gflops is not None else figures.get("gflops_at"),
        fps=row.fps if row.fps is not None else figures.get("fps"),
        fps_at=row.fps_at if row.fps is not None else figures.get("fps_at"),
    )


def with_offline_identity(row: Row, offline: OfflineRun) -> Row:
    """A ``results.json`` row of the same work dir, with the W&B run's id, group,
    job type and tags (``results.json`` knows nothing of W&B), and its GFLOPs / fps
    where the row has none. ``results.json``'s own figures win."""
    run, summary = offline.run, offline.run.summary
    return dataclasses.replace(
        row,
        run_id=run.run_id,
        group=run.group or row.group,
        job_type=run.job_type or row.job_type,
        tags=tuple(run.tags) or row.tags,
        gflops=row.gflops if row.gflops is not None else finite_number(summary.get("GFLOPs")),
        fps=row.fps if row.fps is not None else finite_number(summary.get("fps")),
        fps_at=row.fps_at if row.fps is not None else summary.get("fps_at"),
    )
