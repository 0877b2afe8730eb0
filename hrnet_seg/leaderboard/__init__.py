"""Leaderboard: our runs' results next to the published HRNet figures.

:mod:`.rows` reads work dirs and the shipped references into ranked :class:`Row` s;
:mod:`.render` writes them as a terminal table, Markdown, CSV, JSON and a speed plot.
"""

from .render import plot, to_csv, to_json, to_markdown, to_terminal
from .rows import (
    DATASETS,
    METRICS,
    NoResultsError,
    Row,
    SkippedRunWarning,
    UnknownDatasetError,
    UnknownMetricError,
    WorkDirNotFoundError,
    leaderboard,
    normalise_dataset,
    rank,
    reference_rows,
    row_from_work_dir,
    rows_from_work_dirs,
)

__all__ = [
    "DATASETS",
    "METRICS",
    "NoResultsError",
    "Row",
    "SkippedRunWarning",
    "UnknownDatasetError",
    "UnknownMetricError",
    "WorkDirNotFoundError",
    "leaderboard",
    "normalise_dataset",
    "plot",
    "rank",
    "reference_rows",
    "row_from_work_dir",
    "rows_from_work_dirs",
    "to_csv",
    "to_json",
    "to_markdown",
    "to_terminal",
]
