"""Selecting runs with ``--filter KEY=VALUE``: one filter, two readings.

For a W&B project it becomes a MongoDB-style query for ``wandb.Api().runs(filters=...)``,
so the server does the selecting; for rows read from work dirs and offline run files it
is a test on the :class:`~.rows.Row`. Sweeps set ``group``, ``job_type`` and ``tags``,
which is what a leaderboard of one sweep selects on.

Example:
    >>> RunFilter.parse("tags=w48,ocr").to_mongo()
    {'tags': {'$in': ['w48', 'ocr']}}
    >>> mongo_filters([RunFilter.parse("group=sweep1"), RunFilter.parse("state=finished")])
    {'$and': [{'group': 'sweep1'}, {'state': 'finished'}]}
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UserError
from .rows import Row, normalise_dataset

__all__ = ["FILTER_KEYS", "BadFilterError", "RunFilter", "WandbOnlyFilterError", "mongo_filters"]

# --filter key -> the W&B run field it queries. tags and dataset get their own queries.
_RUN_FIELDS = {"state": "state", "group": "group", "job_type": "jobType"}
FILTER_KEYS = ("dataset", "group", "job_type", "tags", "state")
# Any config or summary key can be queried on the server; local rows keep no config.
_WANDB_PREFIXES = ("config.", "summary_metrics.")
# Where WandbLoggerHook's config names the dataset class (CheckedCityscapesDataset, ...).
DATASET_CONFIG_KEY = "config.train_dataloader.dataset.type"


class BadFilterError(UserError, ValueError):
    """A ``--filter`` that is not ``KEY=VALUE`` with a known key."""


class WandbOnlyFilterError(UserError, ValueError):
    """A config / summary filter asked of rows that have no W&B config to test."""


def _any_case(text: str) -> str:
    # W&B's $regex takes no flags: spell case-insensitivity out, [cC][iI]...
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


def _scalar(text: str):
    """``80000`` -> 80000, ``true`` -> True, anything else the string itself: config and
    summary values are typed, and ``"80000"`` would match no run."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return value if isinstance(value, int | float | bool) or value is None else text


@dataclass(frozen=True, kw_only=True)
class RunFilter:
    """``key`` = ``value``: one of :data:`FILTER_KEYS` (``tags`` takes a comma-separated
    list and matches runs with any of them), or ``config.<dotted.key>`` /
    ``summary_metrics.<key>`` for W&B projects only."""

    key: str
    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not isinstance(self.value, str):
            raise TypeError(f"key and value must be strings, got {self.key!r}={self.value!r}")
        known = self.key in FILTER_KEYS or (
            self.key.startswith(_WANDB_PREFIXES) and self.key not in _WANDB_PREFIXES
        )
        if not known:
            raise BadFilterError(
                f"unknown filter key {self.key!r}; use one of {', '.join(FILTER_KEYS)}, or "
                "config.<key> / summary_metrics.<key> for a W&B project "
                "(e.g. --filter config.train_cfg.max_iters=80000)"
            )
        if not self.value.strip():
            raise BadFilterError(f"filter {self.key}= has no value; write {self.key}=VALUE")

    @classmethod
    def parse(cls, text: str) -> RunFilter:
        """``"group=sweep1"`` -> ``RunFilter(key="group", value="sweep1")``."""
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise BadFilterError(
                f"filter {text!r} is not KEY=VALUE (e.g. --filter dataset=cityscapes, "
                "--filter group=sweep1, --filter tags=w48,ocr, --filter state=finished)"
            )
        return cls(key=key.strip(), value=value.strip())

    @property
    def wandb_only(self) -> bool:
        """Whether only a W&B server can answer it (config and summary keys)."""
        return self.key.startswith(_WANDB_PREFIXES)

    @property
    def tags(self) -> list[str]:
        return [t.strip() for t in self.value.split(",") if t.strip()]

    def to_mongo(self) -> dict:
        """The query for ``wandb.Api().runs(filters=...)``."""
        if self.key == "tags":
            return {"tags": {"$in": self.tags}}
        if self.key == "dataset":
            # The config holds the dataset class; cityscapes matches both
            # CityscapesDataset and our CheckedCityscapesDataset.
            name = normalise_dataset(self.value) or self.value
            return {DATASET_CONFIG_KEY: {"$regex": _any_case(name)}}
        if self.key == "state":
            return {"state": self.value.lower()}
        if self.key in _RUN_FIELDS:
            return {_RUN_FIELDS[self.key]: self.value}
        return {self.key: _scalar(self.value)}

    def check_local(self) -> None:
        """:class:`WandbOnlyFilterError` for config and summary keys: local rows keep
        no config to test."""
        if self.wandb_only:
            raise WandbOnlyFilterError(
                f"filter {self.key}={self.value} needs a W&B project's config or summary: "
                "it applies to --wandb runs only; leave out the WORK_DIR arguments or the "
                "filter, or filter local runs by dataset, group, job_type, tags or state"
            )

    def matches(self, row: Row) -> bool:
        """Whether a local row passes (see :meth:`check_local`)."""
        self.check_local()
        if self.key == "tags":
            return bool(set(self.tags) & set(row.tags))
        if self.key == "dataset":
            return row.dataset == normalise_dataset(self.value)
        if self.key == "state":
            return (row.status or "").lower() == self.value.lower()
        return getattr(row, self.key) == self.value


def mongo_filters(filters: Sequence[RunFilter], extra: Sequence[dict] = ()) -> dict:
    """All ``filters`` (and ``extra`` raw queries) as one W&B query, the ``$and`` of
    each; ``{}`` selects every run."""
    queries = [f.to_mongo() for f in filters] + list(extra)
    if not queries:
        return {}
    return queries[0] if len(queries) == 1 else {"$and": queries}
