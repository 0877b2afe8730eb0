"""Leaderboard tables: terminal and GitHub Markdown (prettytable), CSV and JSON.

Terminal and Markdown show one table per section (:attr:`~.rows.Row.section`): a
dataset ranked with the published references, or a dataset's built-in data, ranked
only among our runs and said so above the table. CSV and JSON hold every row with raw
values and a ``section`` column. The plot is :mod:`.speed_plot`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from prettytable import PrettyTable, TableStyle

from ..datasets.identity import BUILTIN
from .rows import Row

# CSV / JSON column order: what a reader scans first comes first.
FIELDS = (
    "rank",
    "section",
    "model",
    "head",
    "backbone",
    "dataset",
    "data",
    "eval_size",
    "crop",
    "iterations",
    "batch",
    "gpus",
    "mIoU",
    "mIoU_slide",
    "mIoU_ms_flip",
    "mAcc",
    "params",
    "gflops",
    "gflops_at",
    "fps",
    "fps_at",
    "gpu_hours",
    "link",
    "source",
    "is_reference",
    "status",
    "checkpoint",
    "checkpoint_iter",
    "evaluations",
    "group",
    "job_type",
    "tags",
    "run_id",
)
# Lists in a CSV cell or a W&B table: tags are names, evaluations hold paths.
_JOINERS = {"tags": ",", "evaluations": "; "}


def _fixed(digits: int) -> Callable[[float | None], str]:
    return lambda v: "" if v is None else f"{v:.{digits}f}"


def iterations_text(n: int | None) -> str:
    """``80000`` -> ``80k``; ``300`` -> ``300``."""
    if n is None:
        return ""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _params(n: int | None) -> str:
    return "" if n is None else f"{n / 1e6:.2f} M"


def _status(status: str | None) -> str:
    # Only the exception is worth a glance: a run that has not finished.
    return "" if status in (None, "finished") else status


def _with_conditions(value: str, conditions: str | None) -> str:
    # A speed figure is shown with where it was taken: it compares only under the same.
    return f"{value} ({conditions})" if value and conditions else value


# (header, cell of a row, right-aligned)
_COLUMNS: tuple[tuple[str, Callable[[Row], str], bool], ...] = (
    ("#", lambda r: "-" if r.rank is None else str(r.rank), True),
    ("model", lambda r: r.model, False),
    ("head", lambda r: r.head or "", False),
    ("backbone", lambda r: r.backbone or "", False),
    ("crop", lambda r: r.crop or "", False),
    ("iters", lambda r: iterations_text(r.iterations), True),
    ("batch", lambda r: "" if r.batch is None else str(r.batch), True),
    ("gpus", lambda r: r.gpus or "", False),
    ("eval size", lambda r: r.eval_size or "", False),
    ("mIoU", lambda r: _fixed(2)(r.mIoU), True),
    ("slide", lambda r: _fixed(2)(r.mIoU_slide), True),
    ("ms+flip", lambda r: _fixed(2)(r.mIoU_ms_flip), True),
    ("mAcc", lambda r: _fixed(2)(r.mAcc), True),
    ("params", lambda r: _params(r.params), True),
    ("GFLOPs", lambda r: _with_conditions(_fixed(1)(r.gflops), r.gflops_at), True),
    ("fps", lambda r: _with_conditions(_fixed(2)(r.fps), r.fps_at), True),
    ("GPU-h", lambda r: _fixed(2)(r.gpu_hours), True),
    ("source", lambda r: r.source, False),
    ("status", lambda r: _status(r.status), False),
    ("link", lambda r: r.link, False),
)
_MODEL, _LINK = 1, len(_COLUMNS) - 1


def sections(rows: Sequence[Row]) -> list[tuple[str, list[Row]]]:
    """``rows`` split into their sections, in the order the sections first appear (a
    ranked board lists each section's rows together)."""
    split: dict[str, list[Row]] = {}
    for row in rows:
        split.setdefault(row.section, []).append(row)
    return list(split.items())


def section_note(section: str, rows: Sequence[Row]) -> str:
    """What a section's ranking means, one line."""
    if any(r.data == BUILTIN for r in rows):
        sizes = sorted({r.eval_size for r in rows if r.eval_size})
        at = f" at {', '.join(sizes)}" if sizes else ""
        return (
            f"{section}: built-in data (tools/make_demo_data.py, synthetic images{at}); "
            "ranked among these runs only, not comparable with published figures"
        )
    if any(r.is_reference for r in rows):
        return f"{section}: ranked with the published references (ref)"
    return f"{section}: our runs"


def _table(rows: Sequence[Row], cell: Callable[[Row, int, str], str]) -> PrettyTable:
    table = PrettyTable([header for header, *_ in _COLUMNS])
    for header, _, right in _COLUMNS:
        table.align[header] = "r" if right else "l"
    for row in rows:
        table.add_row([cell(row, i, fn(row)) for i, (_, fn, _) in enumerate(_COLUMNS)])
    return table


def to_terminal(rows: Sequence[Row]) -> str:
    """One aligned table per section, each under a line saying how it is ranked;
    references carry ``(ref)`` after the model name."""

    def cell(row: Row, index: int, text: str) -> str:
        return f"{text} (ref)" if index == _MODEL and row.is_reference else text

    blocks = [
        f"{section_note(name, group)}\n{_table(group, cell).get_string()}"
        for name, group in sections(rows)
    ]
    return "\n\n".join(blocks)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(rows: Sequence[Row]) -> str:
    """GitHub Markdown: a heading, a line saying how it is ranked and a table per
    section; references in italics with ``(ref)``, links clickable."""

    def cell(row: Row, index: int, text: str) -> str:
        if index == _MODEL and row.is_reference:
            return f"*{_md(text)}* (ref)"
        if index == _LINK:
            link = row.link
            return f"[{_md(row.source)}]({link})" if "://" in link else f"`{_md(link)}`"
        return _md(text)

    blocks = []
    for name, group in sections(rows):
        table = _table(group, cell)
        table.set_style(TableStyle.MARKDOWN)
        blocks.append(f"### {name}\n\n{section_note(name, group)}\n\n{table.get_string()}\n")
    return "\n".join(blocks)


def to_records(rows: Sequence[Row]) -> list[dict]:
    """One dict per row, :data:`FIELDS` in order, raw values (None for unknowns, lists
    for tags and evaluations): what CSV, JSON and the W&B table hold."""
    records = []
    for row in rows:
        values = dataclasses.asdict(row)
        values["section"] = row.section
        for name in _JOINERS:
            values[name] = list(getattr(row, name))
        records.append({name: values[name] for name in FIELDS})
    return records


def flat_records(rows: Sequence[Row]) -> list[dict]:
    """:func:`to_records` with the lists joined into text (tags by commas, evaluations
    by semicolons), for one-value cells: CSV and the W&B table."""
    records = to_records(rows)
    for record in records:
        for name, joiner in _JOINERS.items():
            record[name] = joiner.join(record[name])
    return records


def to_csv(rows: Sequence[Row], path: str | Path) -> Path:
    """All columns, raw values (params a count, empty cells for unknowns)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for record in flat_records(rows):
            writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return path


def to_json(rows: Sequence[Row], path: str | Path) -> Path:
    """A list of row objects, raw values, null for unknowns."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_records(rows), indent=2, allow_nan=False) + "\n")
    return path
