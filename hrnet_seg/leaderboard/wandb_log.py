"""The board as a W&B run (``--wandb-log ENTITY/PROJECT``): a ``wandb.Table`` of every
row and the accuracy/speed plot, in a run of job type ``leaderboard``.

Online when credentials exist and the server answers within a few seconds, as
``WandbLoggerHook`` decides; otherwise an offline run (with one warning saying why and
the ``wandb sync`` command), so logging the board never waits on a network.
``WANDB_MODE=offline`` asks for the offline run, ``WANDB_MODE=disabled`` for none.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..utils.wandb_access import (
    PROBE_TIMEOUT_S,
    WandbFallbackWarning,
    has_credentials,
    reachable,
    server_url,
)
from ..utils.wandb_access import teardown as wandb_teardown
from .render import FIELDS, flat_records
from .rows import Row
from .wandb_project import LEADERBOARD_JOB_TYPE, parse_project

__all__ = ["LoggedBoard", "board_table", "log_leaderboard"]

TABLE_KEY = "leaderboard"
PLOT_KEY = "leaderboard_plot"


@dataclass(frozen=True)
class LoggedBoard:
    """Where the board went: the run's id and mode, its page (online) or its directory
    (offline, for ``wandb sync``)."""

    run_id: str
    mode: str
    run_dir: str
    url: str | None = None


def board_table(rows: Sequence[Row]):
    """A ``wandb.Table`` with the CSV columns (lists joined, as in the CSV)."""
    import wandb

    data = [[record[name] for name in FIELDS] for record in flat_records(rows)]
    # Columns mix ints and floats (and None) across sources; W&B would reject the row
    # whose type differs from the first one's.
    return wandb.Table(columns=list(FIELDS), data=data, allow_mixed_types=True)


def _mode() -> tuple[str, str | None]:
    """The mode to log in and, when it is offline against the user's wish, why."""
    env = os.environ.get("WANDB_MODE", "").lower()
    if env == "disabled":
        return "disabled", None
    if env in ("offline", "dryrun"):
        return "offline", None
    url = server_url()
    if not has_credentials(url):
        return "offline", f"no W&B API key for {url} (WANDB_API_KEY or `wandb login`)"
    if not reachable(url, PROBE_TIMEOUT_S):
        return "offline", f"{url} is not reachable within {PROBE_TIMEOUT_S:.0f} s"
    return "online", None


@contextlib.contextmanager
def _staging_dirs(root: Path) -> Iterator[None]:
    # A Table is an artifact, staged under ~/.local/share/wandb unless WANDB_DATA_DIR
    # says otherwise: keep it beside the run, and the user's own settings untouched.
    saved = {}
    for var, sub in (("WANDB_DATA_DIR", "data"), ("WANDB_CACHE_DIR", "cache")):
        if not os.environ.get(var):
            saved[var] = os.environ.get(var)
            os.environ[var] = str(root / "wandb" / sub)
            os.makedirs(os.environ[var], exist_ok=True)
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def log_leaderboard(
    rows: Sequence[Row],
    *,
    project: str,
    plot: str | Path | None = None,
    out: str | Path | None = None,
    config: Mapping | None = None,
    name: str = "leaderboard",
    init_timeout: float = 10,
) -> LoggedBoard | None:
    """Log ``rows`` (and the ``plot`` PNG) to a new run of ``project``
    (``ENTITY/PROJECT`` or ``PROJECT``). The run's files go to ``WANDB_DIR``, else
    ``out``, else the working directory. None when ``WANDB_MODE=disabled``."""
    entity, project_name = parse_project(project, entity_required=False)
    if plot is not None and not Path(plot).is_file():
        raise FileNotFoundError(f"plot {plot}: no such file")
    mode, why = _mode()
    if mode == "disabled":
        return None
    import wandb

    root = Path(os.environ.get("WANDB_DIR") or out or ".")
    root.mkdir(parents=True, exist_ok=True)
    kwargs = dict(
        project=project_name,
        entity=entity,
        job_type=LEADERBOARD_JOB_TYPE,
        name=name,
        dir=str(root),
        config=dict(config or {}),
        settings=wandb.Settings(init_timeout=init_timeout),
    )
    with _staging_dirs(root):
        run = None
        if mode == "online":
            try:
                run = wandb.init(mode="online", **kwargs)
            except Exception as exc:  # CommError, UsageError, timeouts: log offline instead
                mode, why = "offline", f"online init failed ({type(exc).__name__}: {exc})"
        if run is None:
            run = wandb.init(mode="offline", **kwargs)
        try:
            payload = {TABLE_KEY: board_table(rows)}
            if plot is not None:
                payload[PLOT_KEY] = wandb.Image(str(plot), caption="mIoU against speed")
            run.log(payload)
            run.summary["rows"] = len(rows)
            logged = LoggedBoard(
                run_id=run.id,
                mode=mode,
                run_dir=os.path.dirname(run.dir),
                url=run.url if mode == "online" else None,
            )
        finally:
            run.finish()
            wandb_teardown()  # flushes the offline .wandb file; bounded
    if why:
        warnings.warn(
            f"W&B logged the leaderboard offline to {logged.run_dir}: {why}. Upload it "
            f"with `wandb sync {logged.run_dir}`",
            WandbFallbackWarning,
            stacklevel=2,
        )
    return logged
