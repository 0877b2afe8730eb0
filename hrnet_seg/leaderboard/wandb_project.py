"""Rows from a W&B project through the public API (``--wandb ENTITY/PROJECT``).

The server selects and orders the runs (``wandb.Api().runs(path, filters=..., order=...)``
with the ``--filter`` queries of :mod:`.filters`); each run's summary and config become a
row through :mod:`.wandb_rows`, linked to the run's page. Credentials are checked before
``wandb.Api()`` is made (it would prompt for a key), and every request is bounded by
``timeout``.

Example:
    >>> query = ProjectQuery(path="my-team/hrnet_seg", filters=(RunFilter.parse("group=w48"),))
    >>> query.order, query.mongo
    ('-summary_metrics.mIoU', {'$and': [{'group': 'w48'}, {'jobType': {'$ne': 'leaderboard'}}]})
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import UserError
from ..utils.wandb_access import WandbUnreachableError, require_credentials, server_url, teardown
from .filters import RunFilter, mongo_filters
from .rows import Row
from .wandb_rows import row_from_wandb_run

__all__ = [
    "DEFAULT_ORDER",
    "DEFAULT_TIMEOUT_S",
    "BadProjectError",
    "ProjectQuery",
    "WandbQueryError",
    "connect",
    "normalise_order",
    "parse_project",
    "rows_from_wandb_project",
]

DEFAULT_ORDER = "-summary_metrics.mIoU"
DEFAULT_TIMEOUT_S = 15.0
# Run columns W&B orders by; any other bare name is a summary key (as wandb's own
# QueryGenerator.format_order_key reads it).
_ORDER_COLUMNS = ("created_at", "createdAt", "heartbeat_at", "heartbeatAt", "name")
_ORDER_SECTIONS = ("config.", "summary_metrics.")
# tools/leaderboard.py --wandb-log logs boards as runs of this job type; they are not
# results, so a project's board leaves them out unless a job_type filter asks otherwise.
LEADERBOARD_JOB_TYPE = "leaderboard"
_NAME = re.compile(r"^[\w.-]+$")


class BadProjectError(UserError, ValueError):
    """A W&B project path, order or limit that cannot be right."""


class WandbQueryError(UserError, RuntimeError):
    """The server answered the runs query with an error (no such project, bad filter)."""


def parse_project(text: str, *, entity_required: bool = True) -> tuple[str | None, str]:
    """``"my-team/hrnet_seg"`` -> ``("my-team", "hrnet_seg")``; ``"hrnet_seg"`` ->
    ``(None, "hrnet_seg")`` (W&B's default entity) when the entity is not required."""
    parts = text.split("/") if isinstance(text, str) else []
    ok = len(parts) == 2 or (len(parts) == 1 and not entity_required)
    if not ok or not all(_NAME.match(p) for p in parts):
        form = "ENTITY/PROJECT" if entity_required else "ENTITY/PROJECT or PROJECT"
        raise BadProjectError(
            f"W&B project {text!r} is not {form} (e.g. my-team/hrnet_seg: the entity is "
            "your user or team name, as in the project's URL)"
        )
    return (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def normalise_order(text: str) -> str:
    """``mIoU`` / ``-mIoU`` -> ``-summary_metrics.mIoU``, ``+fps`` ->
    ``+summary_metrics.fps``, ``config.x`` and run columns kept; descending unless ``+``."""
    if not isinstance(text, str) or not text.strip() or any(c.isspace() for c in text.strip()):
        raise BadProjectError(
            f"order {text!r} is not a W&B sort key; write e.g. -summary_metrics.mIoU, "
            "+summary_metrics.fps, mIoU (a summary key, descending) or -created_at"
        )
    text = text.strip()
    sign, key = (text[0], text[1:]) if text[0] in "+-" else ("-", text)
    if not key.startswith(_ORDER_SECTIONS) and key not in _ORDER_COLUMNS:
        key = f"summary_metrics.{key}"
    return sign + key


@dataclass(frozen=True, kw_only=True)
class ProjectQuery:
    """Which runs of a W&B project to rank.

    Args:
        path: ``ENTITY/PROJECT``.
        filters: :class:`RunFilter` s, all of which a run must pass (server side).
        order: the W&B sort key (see :func:`normalise_order`); decides which runs
            ``max_runs`` keeps. The board itself is ranked by its ``metric``.
        timeout: seconds each request to the server may take.
        max_runs: the first N runs in ``order``; None for all.
    """

    path: str
    filters: tuple[RunFilter, ...] = ()
    order: str = DEFAULT_ORDER
    timeout: float = DEFAULT_TIMEOUT_S
    max_runs: int | None = None

    def __post_init__(self) -> None:
        parse_project(self.path)
        if not all(isinstance(f, RunFilter) for f in self.filters):
            raise TypeError(f"filters must be RunFilter objects, got {self.filters!r}")
        object.__setattr__(self, "filters", tuple(self.filters))
        object.__setattr__(self, "order", normalise_order(self.order))
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, int | float):
            raise TypeError(f"timeout must be a number of seconds, got {self.timeout!r}")
        if not 0 < self.timeout < math.inf:
            raise BadProjectError(f"W&B timeout must be > 0 seconds, got {self.timeout!r}")
        if self.max_runs is not None and (
            isinstance(self.max_runs, bool) or not isinstance(self.max_runs, int)
        ):
            raise TypeError(f"max_runs must be an int or None, got {self.max_runs!r}")
        if self.max_runs is not None and self.max_runs < 1:
            raise BadProjectError(f"--max-runs must be >= 1, got {self.max_runs}")

    @property
    def mongo(self) -> dict:
        """The ``filters`` argument of ``wandb.Api().runs``."""
        asks_job_type = any(f.key == "job_type" for f in self.filters)
        extra = [] if asks_job_type else [{"jobType": {"$ne": LEADERBOARD_JOB_TYPE}}]
        return mongo_filters(self.filters, extra)


def connect(timeout: float):
    """``wandb.Api`` for the configured server, once credentials are known to exist;
    :class:`WandbUnreachableError` when it cannot sign in within ``timeout`` seconds."""
    url = server_url()
    require_credentials(url, purpose="--wandb (reading runs from a W&B project)")
    import wandb

    try:
        # Api verifies the key over the network; its timeout bounds each request.
        return wandb.Api(timeout=max(1, math.ceil(timeout)))
    except wandb.errors.Error as exc:
        # wandb's service may be stuck retrying the sign-in: stop it now, bounded,
        # rather than in wandb's exit hook, which waits for it without a limit.
        teardown(timeout_s=10)
        raise WandbUnreachableError(
            f"could not sign in to W&B at {url} within {timeout:g} s ({exc}). Check the "
            "network and WANDB_BASE_URL; if the server refused the key, run "
            "`wandb login --relogin`; without a network, rank local work dirs and offline "
            "run files instead (WORK_DIR arguments)"
        ) from exc


def _summary(run) -> Mapping:
    summary = getattr(run, "summary_metrics", None)  # a plain dict in wandb >= 0.19
    if not isinstance(summary, Mapping):
        summary = dict(run.summary.items())
    return summary


def rows_from_wandb_project(query: ProjectQuery, *, api=None) -> list[Row]:
    """The rows of the runs ``query`` selects, in the server's order; runs without mIoU
    are skipped with a warning. ``api`` is a ``wandb.Api`` (made by :func:`connect` when
    None); tests pass a stand-in."""
    if not isinstance(query, ProjectQuery):
        raise TypeError(f"query must be a ProjectQuery, got {query!r}")
    if api is None:
        api = connect(query.timeout)
    import wandb

    rows = []
    try:
        # lazy=False: config and summary come with each page, not one request per run.
        runs = api.runs(query.path, filters=query.mongo, order=query.order, lazy=False)
        for run in itertools.islice(runs, query.max_runs):
            row = row_from_wandb_run(
                name=run.name,
                summary=_summary(run),
                config=run.config or {},
                link=run.url,
                source="wandb",
                run_id=run.id,
                group=run.group,
                job_type=run.job_type,
                tags=run.tags or (),
                state=run.state,
            )
            if row is not None:
                rows.append(row)
    except (wandb.errors.Error, ValueError) as exc:
        raise WandbQueryError(
            f"W&B project {query.path}: the runs query failed ({exc}); check the project "
            f"path and the filters {query.mongo}"
        ) from exc
    return rows
