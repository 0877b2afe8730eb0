"""Leaderboard output: terminal table, GitHub Markdown, CSV, JSON and an accuracy/speed plot."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import UserError
from .rows import DATASETS, Row

PLOT_X = {"fps": "inference fps (images/s)", "gflops": "GFLOPs (official: mult-adds / 1024^3)"}

# CSV / JSON column order: what a reader scans first comes first.
FIELDS = (
    "rank",
    "model",
    "head",
    "backbone",
    "dataset",
    "crop",
    "iterations",
    "batch",
    "gpus",
    "mIoU",
    "mIoU_ms_flip",
    "mAcc",
    "params",
    "gflops",
    "fps",
    "gpu_hours",
    "link",
    "source",
    "is_reference",
    "status",
    "group",
    "job_type",
    "tags",
    "run_id",
)


class UnknownPlotAxisError(UserError, ValueError):
    """A plot x axis other than fps or gflops."""


def _fixed(digits: int) -> Callable[[float | None], str]:
    return lambda v: "" if v is None else f"{v:.{digits}f}"


def _iterations(n: int | None) -> str:
    if n is None:
        return ""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _params(n: int | None) -> str:
    return "" if n is None else f"{n / 1e6:.2f} M"


def _status(status: str | None) -> str:
    # Only the exception is worth a glance: a run that has not finished.
    return "" if status in (None, "finished") else status


# (header, Row field, formatter, right-aligned)
_COLUMNS: tuple[tuple[str, str, Callable, bool], ...] = (
    ("#", "rank", lambda v: "-" if v is None else str(v), True),
    ("model", "model", str, False),
    ("head", "head", lambda v: v or "", False),
    ("backbone", "backbone", lambda v: v or "", False),
    ("dataset", "dataset", lambda v: v or "", False),
    ("crop", "crop", lambda v: v or "", False),
    ("iters", "iterations", _iterations, True),
    ("batch", "batch", lambda v: "" if v is None else str(v), True),
    ("gpus", "gpus", lambda v: v or "", False),
    ("mIoU", "mIoU", _fixed(2), True),
    ("ms+flip", "mIoU_ms_flip", _fixed(2), True),
    ("mAcc", "mAcc", _fixed(2), True),
    ("params", "params", _params, True),
    ("GFLOPs", "gflops", _fixed(1), True),
    ("fps", "fps", _fixed(2), True),
    ("GPU-h", "gpu_hours", _fixed(2), True),
    ("source", "source", str, False),
    ("status", "status", _status, False),
    ("link", "link", str, False),
)


def _cells(row: Row) -> list[str]:
    return [fmt(getattr(row, field)) for _, field, fmt, _ in _COLUMNS]


def to_terminal(rows: Sequence[Row]) -> str:
    """An aligned plain-text table; references carry ``(ref)`` after the model name."""
    table = [[h for h, *_ in _COLUMNS]]
    for row in rows:
        cells = _cells(row)
        if row.is_reference:
            cells[1] += " (ref)"
        table.append(cells)
    widths = [max(len(r[i]) for r in table) for i in range(len(_COLUMNS))]
    lines = []
    for n, cells in enumerate(table):
        parts = [
            c.rjust(w) if right else c.ljust(w)
            for c, w, (*_, right) in zip(cells, widths, _COLUMNS)
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(rows: Sequence[Row]) -> str:
    """A GitHub table: references in italics with ``(ref)``, links clickable."""
    headers = [h for h, *_ in _COLUMNS]
    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join("---:" if right else "---" for *_, right in _COLUMNS) + " |",
    ]
    for row in rows:
        cells = [_md(c) for c in _cells(row)]
        if row.is_reference:
            cells[1] = f"*{cells[1]}* (ref)"
        link = row.link
        cells[-1] = f"[{_md(row.source)}]({link})" if "://" in link else f"`{_md(link)}`"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_records(rows: Sequence[Row]) -> list[dict]:
    """One dict per row, :data:`FIELDS` in order, raw values (None for unknowns, tags a
    list): what CSV, JSON and the W&B table hold."""
    records = []
    for row in rows:
        values = dataclasses.asdict(row)
        values["tags"] = list(row.tags)
        records.append({name: values[name] for name in FIELDS})
    return records


def to_csv(rows: Sequence[Row], path: str | Path) -> Path:
    """All columns, raw values (params a count, empty cells for unknowns, tags joined by
    commas)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for record in to_records(rows):
            record["tags"] = ",".join(record["tags"])
            writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return path


def to_json(rows: Sequence[Row], path: str | Path) -> Path:
    """A list of row objects, raw values, null for unknowns."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_records(rows), indent=2, allow_nan=False) + "\n")
    return path


def _label(row: Row) -> str:
    if not row.is_reference:
        return row.model
    source = {"mmsegmentation-1.2.2": "mmseg", "hrnet-official": "official"}.get(
        row.source, row.source
    )
    return f"{source} {row.model} {_iterations(row.iterations)}"


def plot(rows: Sequence[Row], path: str | Path, *, x: str = "fps") -> Path:
    """A PNG scatter of mIoU against ``x`` (``fps`` or ``gflops``), one panel per dataset:
    references as grey squares, our runs as coloured circles, every point labelled.
    Rows without ``x`` or mIoU are left out, and a footnote says how many and which."""
    if x not in PLOT_X:
        raise UnknownPlotAxisError(f"unknown plot axis {x!r}; choose one of {', '.join(PLOT_X)}")
    # The object API with an explicit Agg canvas: no pyplot, no global backend switch,
    # so plotting works headless and leaves a caller's matplotlib state alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def plottable(row: Row) -> bool:
        return getattr(row, x) is not None and row.mIoU is not None

    shown = [r for r in rows if plottable(r)]
    left_out = [r for r in rows if not plottable(r)]
    datasets = sorted(
        {r.dataset for r in shown},
        key=lambda d: (DATASETS.index(d) if d in DATASETS else len(DATASETS), d or ""),
    )
    panels = max(len(datasets), 1)
    fig = Figure(figsize=(7 * panels, 6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    for ax, dataset in zip(axes, datasets):
        for reference, style in (
            (True, dict(marker="s", color="0.55", label="published")),
            (False, dict(marker="o", color="tab:red", label="ours")),
        ):
            group = [r for r in shown if r.dataset == dataset and r.is_reference == reference]
            if not group:
                continue
            ax.scatter([getattr(r, x) for r in group], [r.mIoU for r in group], s=36, **style)
            for r in group:
                ax.annotate(
                    _label(r),
                    (getattr(r, x), r.mIoU),
                    xytext=(4, 3),
                    textcoords="offset points",
                    fontsize=6 if reference else 7,
                    color="0.35" if reference else "tab:red",
                )
        ax.set_title(dataset or "unknown dataset")
        ax.set_xlabel(PLOT_X[x])
        ax.set_ylabel("mIoU (%)")
        ax.grid(alpha=0.3)
        ax.margins(x=0.2, y=0.08)  # room for the labels right of the rightmost points
        ax.legend(loc="best", fontsize=8)
    if not datasets:
        axes[0].set_axis_off()
        axes[0].text(0.5, 0.5, f"no row has both mIoU and {x}", ha="center", va="center")
    if left_out:
        names = ", ".join(_label(r) for r in left_out[:6])
        more = f" and {len(left_out) - 6} more" if len(left_out) > 6 else ""
        fig.text(
            0.01,
            0.0,
            f"Not shown, no {x} or no mIoU: {len(left_out)} row(s): {names}{more}.",
            fontsize=7,
            va="bottom",
            wrap=True,
        )
        fig.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
