"""Our runs under the ``WORK_DIR`` arguments: ``results.json`` records and offline W&B
run files, one row per run.

A work dir that has both describes one run: its ``results.json`` row (the record the run
wrote for itself), with the W&B run's id, group, job type and tags added. An offline run
without a ``results.json`` beside it (a run killed before its first validation record,
or a ``wandb`` dir copied off a cluster) is a row of its own, once per W&B run id.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

from ..records.run_files import RESULTS_FILE
from ..records.wandb_reader import find_run_files
from .rows import Row, SkippedRunWarning, WorkDirNotFoundError, row_from_work_dir
from .wandb_rows import (
    OfflineRun,
    read_offline_runs,
    row_from_offline_run,
    with_offline_identity,
)

__all__ = ["rows_from_work_dirs"]


def _found(root: Path) -> tuple[list[Path], list[Path]]:
    """``results.json`` files and ``run-*.wandb`` files that ``root`` names or holds."""
    if root.is_dir():
        return sorted(root.rglob(RESULTS_FILE)), find_run_files(root, recursive=True)
    if root.suffix == ".wandb":
        return [], [root]
    return [root], []  # a results.json given by path


def _unique(paths: Iterable[Path], seen: set[Path]) -> list[Path]:
    # Overlapping arguments (work_dirs/ and work_dirs/run1) must not count a run twice.
    out = []
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def rows_from_work_dirs(paths: Iterable[str | Path]) -> list[Row]:
    """Rows of every run under ``paths``: each a work dir, a folder searched recursively
    for ``results.json`` and ``run-*.wandb`` files, a ``results.json`` or a ``.wandb``
    file itself. Unfinished runs are kept (their ``status`` says so); unreadable records,
    or runs without mIoU, are skipped with a :class:`SkippedRunWarning`."""
    if isinstance(paths, str | Path):
        raise TypeError("paths must be a list of work dirs, not one path")
    results: list[Path] = []
    run_files: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise WorkDirNotFoundError(f"{root}: no such work dir or folder")
        found_results, found_runs = _found(root)
        if not found_results and not found_runs:
            warnings.warn(
                f"{root}: no results.json or W&B run file (run-*.wandb) found",
                SkippedRunWarning,
                stacklevel=2,
            )
        results += _unique(found_results, seen)
        run_files += _unique(found_runs, seen)

    offline = read_offline_runs(sorted(run_files, key=lambda p: (p.parent.name, str(p))))
    # A work dir restarted from scratch holds several W&B runs; its results.json
    # describes the latest (offline run dirs are named by their start time).
    latest: dict[Path, OfflineRun] = {}
    for run in offline:
        latest[run.work_dir.resolve()] = run
    rows, covered = [], set()
    for path in results:
        row = row_from_work_dir(path.parent)
        if row is None:
            continue
        work_dir = path.parent.resolve()
        if work_dir in latest:
            row = with_offline_identity(row, latest[work_dir])
        covered.add(work_dir)
        rows.append(row)
    # One row per W&B run: a copy of a run dir given beside its work dir is the same run.
    seen_ids = {row.run_id for row in rows if row.run_id}
    for run in offline:
        if run.work_dir.resolve() in covered or run.run.run_id in seen_ids:
            continue
        row = row_from_offline_run(run)
        if row is not None:
            seen_ids.add(run.run.run_id)
            rows.append(row)
    return rows
