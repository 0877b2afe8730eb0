"""Leaderboard: our runs' results next to the published HRNet figures.

:mod:`.rows` is what a row is (and reads ``results.json`` and the shipped references);
:mod:`.work_dirs` finds runs in work dirs, offline W&B run files included
(:mod:`.wandb_rows`); :mod:`.wandb_project` reads a W&B project through the public API,
selected by :mod:`.filters`; :mod:`.checkpoints` merges the evaluations of one
checkpoint; :mod:`.board` puts the sources together and ranks them, built-in-data runs
apart from the published figures; :mod:`.render` writes terminal and Markdown tables
(prettytable), CSV and JSON, :mod:`.speed_plot` the accuracy / speed plot (labels placed by
:mod:`.label_layout`), and :mod:`.wandb_log` logs the board to a W&B run.
"""

from ..records.benchmark_file import benchmark_figures
from ..utils.wandb_access import WandbCredentialsError, WandbUnreachableError
from .board import leaderboard
from .checkpoints import by_checkpoint
from .filters import BadFilterError, RunFilter, WandbOnlyFilterError, mongo_filters
from .render import to_csv, to_json, to_markdown, to_records, to_terminal
from .rows import (
    DATASETS,
    METRICS,
    NoResultsError,
    Row,
    SkippedRunWarning,
    UnknownDatasetError,
    UnknownMetricError,
    WorkDirNotFoundError,
    normalise_dataset,
    rank,
    reference_rows,
    row_from_work_dir,
)
from .speed_plot import figure, plot
from .wandb_log import LoggedBoard, log_leaderboard
from .wandb_project import (
    DEFAULT_ORDER,
    BadProjectError,
    ProjectQuery,
    WandbQueryError,
    rows_from_wandb_project,
)
from .wandb_rows import row_from_wandb_run
from .work_dirs import rows_from_work_dirs

__all__ = [
    "DATASETS",
    "DEFAULT_ORDER",
    "METRICS",
    "BadFilterError",
    "BadProjectError",
    "LoggedBoard",
    "NoResultsError",
    "ProjectQuery",
    "Row",
    "RunFilter",
    "SkippedRunWarning",
    "UnknownDatasetError",
    "UnknownMetricError",
    "WandbCredentialsError",
    "WandbOnlyFilterError",
    "WandbQueryError",
    "WandbUnreachableError",
    "WorkDirNotFoundError",
    "benchmark_figures",
    "by_checkpoint",
    "figure",
    "leaderboard",
    "log_leaderboard",
    "mongo_filters",
    "normalise_dataset",
    "plot",
    "rank",
    "reference_rows",
    "row_from_wandb_run",
    "row_from_work_dir",
    "rows_from_wandb_project",
    "rows_from_work_dirs",
    "to_csv",
    "to_json",
    "to_markdown",
    "to_records",
    "to_terminal",
]
