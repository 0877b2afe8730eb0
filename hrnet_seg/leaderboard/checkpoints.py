"""One row per checkpoint: a training run and the ``tools/test.py`` evaluations of its
checkpoint are one model, not four tied rows (issue 18).

A test run records the checkpoint it evaluated and the iteration it was saved at; a
training run's row stands for the checkpoint of its latest validation (its work dir,
that iteration). Rows of the same checkpoint, section (real or built-in data of one
dataset) and evaluated image size merge: each inference mode fills its own column
(``mIoU`` whole, ``mIoU_slide``, ``mIoU_ms_flip``), a test run's figure before the
training run's own validation, and ``evaluations`` lists the test runs' work dirs.
Test runs of a checkpoint whose training run is not on the board still merge with
each other, under the checkpoint's path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from .rows import MODE_COLUMNS, Row

__all__ = ["by_checkpoint"]

# The columns a test run adds to the row of its checkpoint.
_SCORES = (*MODE_COLUMNS.values(), "mAcc")


def _folder(path: str) -> Path:
    # Paths as recorded (absolute, from the run) or as given (relative, from the user).
    return Path(path).expanduser().resolve()


def _key(row: Row) -> tuple | None:
    if row.is_reference or row.checkpoint_iter is None:
        return None
    if row.checkpoint:
        folder = _folder(row.checkpoint).parent
    elif row.source == "local":
        folder = _folder(row.link)  # a training run: its work dir holds its checkpoints
    else:
        return None  # a W&B run: no checkpoint to match
    return (folder, row.checkpoint_iter, row.section, row.eval_size)


def _merge(rows: list[Row]) -> Row:
    training = [r for r in rows if r.checkpoint is None]
    tests = [r for r in rows if r.checkpoint is not None]
    if training:
        merged = training[0]
    else:
        first = tests[0]
        merged = dataclasses.replace(
            first, link=first.checkpoint, **dict.fromkeys(_SCORES), evaluations=()
        )
    scores = {}
    for test in tests:
        scores.update(
            {name: getattr(test, name) for name in _SCORES if getattr(test, name) is not None}
        )
    evaluations = [e for r in rows for e in r.evaluations]
    return dataclasses.replace(
        merged,
        **scores,
        checkpoint=merged.checkpoint or (tests[0].checkpoint if tests else None),
        evaluations=tuple(sorted(evaluations, key=_mode_order)),
    )


def _mode_order(evaluation: str) -> tuple:
    mode = evaluation.split(":", 1)[0]
    modes = list(MODE_COLUMNS)
    return (modes.index(mode) if mode in modes else len(modes), evaluation)


def by_checkpoint(rows: Iterable[Row]) -> list[Row]:
    """``rows`` with the evaluations of each checkpoint merged into one row, in the
    order of each group's first row; references and rows without a checkpoint pass
    through unchanged."""
    groups: dict[tuple, list[Row]] = {}
    order: list[tuple | Row] = []
    for row in rows:
        key = _key(row)
        if key is None:
            order.append(row)
        elif key in groups:
            groups[key].append(row)
        else:
            groups[key] = [row]
            order.append(key)
    return [item if isinstance(item, Row) else _merge(groups[item]) for item in order]
