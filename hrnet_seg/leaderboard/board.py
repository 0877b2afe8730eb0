"""The board: our runs from every source, the published references, ranked.

Sources: local work dirs (``results.json`` and offline W&B run files,
:mod:`.work_dirs`), a W&B project through the public API (:mod:`.wandb_project`), and
the references shipped with the package. ``filters`` select our runs; references are
the bar to beat and stay, narrowed by dataset only. The evaluations of one checkpoint
become one row (:mod:`.checkpoints`), and built-in-data runs are ranked in sections of
their own (:func:`~.rows.rank`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .checkpoints import by_checkpoint
from .filters import RunFilter
from .rows import NoResultsError, Row, normalise_dataset, rank, reference_rows
from .wandb_project import ProjectQuery, rows_from_wandb_project
from .work_dirs import rows_from_work_dirs

__all__ = ["leaderboard"]


def leaderboard(
    work_dirs: Iterable[str | Path] = (),
    *,
    project: ProjectQuery | None = None,
    filters: Sequence[RunFilter] = (),
    references: bool = True,
    dataset: str | None = None,
    metric: str = "mIoU",
    api=None,
) -> list[Row]:
    """Our runs under ``work_dirs`` that pass every filter, the runs ``project`` selects
    on the server (its own filters), and (``references``) the published figures, one
    row per checkpoint, ranked by :func:`~.rows.rank`. ``api`` stands in for
    ``wandb.Api()`` in tests. Raises :class:`NoResultsError` when nothing is left."""
    work_dirs = list(work_dirs)
    filters = tuple(filters)
    if not all(isinstance(f, RunFilter) for f in filters):
        raise TypeError(f"filters must be RunFilter objects, got {filters!r}")
    rank([], metric=metric, dataset=dataset)  # a bad name fails before any W&B request
    if work_dirs:
        for f in filters:
            f.check_local()  # before reading anything: a config filter cannot apply here
    rows = [r for r in rows_from_work_dirs(work_dirs) if all(f.matches(r) for f in filters)]
    if project is not None:
        rows += rows_from_wandb_project(project, api=api)
    if references:
        by_dataset = [f for f in filters if f.key == "dataset"]
        rows += [r for r in reference_rows() if all(f.matches(r) for f in by_dataset)]
    if not rows:
        sources = "the given work dirs" + (f" or W&B project {project.path}" if project else "")
        raise NoResultsError(
            f"nothing to rank: no run with an mIoU in {sources}"
            + (" passes the filters" if filters else "")
            + ("" if references else ", and references are turned off")
        )
    ranked = rank(by_checkpoint(rows), metric=metric, dataset=dataset)
    if not ranked:
        raise NoResultsError(f"no results for dataset {normalise_dataset(dataset)!r}")
    return ranked
