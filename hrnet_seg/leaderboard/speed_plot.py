"""The accuracy / speed plot: mIoU against fps (or GFLOPs), every row placed.

One band per section (a dataset, or a dataset's built-in data, as in the tables). A
speed figure compares only with one taken under the same conditions (issue 18: CPU fps
at 128x256 beside V100 fps at 1024x2048 said nothing), so each band has one panel per
set of conditions (``Row.fps_at``: device, input size, bf16; ``Row.gflops_at``: input
size), named on its x axis, and a strip at the end for the rows without the figure,
sharing the band's mIoU axis. Labels are placed by :mod:`.label_layout` after the
layout is fixed: none overlaps another label or a marker, and all stay in their panel.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from ..datasets.identity import BUILTIN
from ..errors import UserError
from .label_layout import Box, place_labels
from .render import iterations_text, sections
from .rows import Row

__all__ = [
    "PLOT_X",
    "PlotLabelWarning",
    "UnknownPlotAxisError",
    "family",
    "family_colours",
    "figure",
    "plot",
]

PLOT_X = {"fps": "inference fps (images/s)", "gflops": "GFLOPs (official: mult-adds / 1024^3)"}
LABEL_GID = "point-label"  # every point's label carries it (the tests find them by it)
LEADER_GID = "leader-line"
_DPI = 120
_MARKER_PX = 4.0  # half the marker's width, in pixels at _DPI
# Tries at growing figure heights when labels do not fit (many rows in one panel).
_HEIGHT_SCALES = (1.0, 1.5, 2.25, 3.4)
_SCORES = (("mIoU", ""), ("mIoU_slide", " [slide]"), ("mIoU_ms_flip", " [ms+flip]"))


class UnknownPlotAxisError(UserError, ValueError):
    """A plot x axis other than fps or gflops."""


class PlotLabelWarning(UserWarning):
    """Some labels found no free spot: their points are plotted without them."""


# One colour per model family (HRNet: ours and the published HRNet rows alike); the
# marker says published (square) or ours (circle).
HRNET_FAMILY = "HRNet"
_FAMILY_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange",
                   "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "0.45")  # fmt: skip


def family(row: Row) -> str:
    """The row's model family: HRNet for every HRNet backbone (ours, Lite-HRNet, mmseg's,
    the official code's), else the peer's name from its head (PIDNet, DDRNet, SegFormer,
    DeepLabV3+), else its backbone."""
    if "HRNet" in (row.backbone or ""):
        return HRNET_FAMILY
    return row.head or row.backbone or "other"


def family_colours(rows: Sequence[Row]) -> dict[str, str]:
    """Family -> colour, HRNet first (red, as ours always were), the rest by name."""
    names = sorted({family(r) for r in rows}, key=lambda f: (f != HRNET_FAMILY, f))
    return {name: _FAMILY_COLOURS[i % len(_FAMILY_COLOURS)] for i, name in enumerate(names)}


def _score(row: Row) -> tuple[float | None, str]:
    """The row's y: its single-scale mIoU, else the mode it was evaluated in (said in
    its label)."""
    for name, suffix in _SCORES:
        value = getattr(row, name)
        if value is not None:
            return value, suffix
    return None, ""


def _label(row: Row) -> str:
    suffix = _score(row)[1]
    if not row.is_reference:
        return f"{row.model} {iterations_text(row.iterations)}".strip() + suffix
    source = {"mmsegmentation-1.2.2": "mmseg", "hrnet-official": "official"}.get(
        row.source, row.source
    )
    return f"{source} {row.model} {iterations_text(row.iterations)}{suffix}"


def _band_title(section: str, rows: Sequence[Row]) -> str:
    if any(r.data == BUILTIN for r in rows):
        return f"{section}\nbuilt-in (synthetic) data: not comparable with published figures"
    if any(r.is_reference for r in rows):
        return f"{section}\nours beside the published references"
    return section


def _panels(rows: Sequence[Row], x: str) -> list[tuple[str | None, list[Row]]]:
    """(conditions, rows) per panel: one per set of conditions (the references' first),
    then ``None`` for the strip of rows without ``x``."""
    with_x: dict[str, list[Row]] = {}
    without = []
    for row in rows:
        if getattr(row, x) is None:
            without.append(row)
        else:
            conditions = getattr(row, f"{x}_at") or "conditions not recorded"
            with_x.setdefault(conditions, []).append(row)
    order = sorted(with_x, key=lambda c: (not any(r.is_reference for r in with_x[c]), c))
    panels: list[tuple[str | None, list[Row]]] = [(c, with_x[c]) for c in order]
    if without:
        panels.append((None, without))
    return panels


def _build(rows: Sequence[Row], x: str, height_scale: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    shown = [r for r in rows if _score(r)[0] is not None]
    colours = family_colours(shown)
    bands = [(name, group, _panels(group, x)) for name, group in sections(shown)]
    # Wide enough for the band titles; tall enough to stack a crowded panel's labels.
    width = max([sum(6.0 if c else 3.6 for c, _ in panels) for *_, panels in bands] + [7.5])
    heights = [max(3.6, 0.28 * max(len(g) for _, g in panels)) for *_, panels in bands]
    fig = Figure(
        figsize=(width, sum(heights or [3.0]) * height_scale + 0.4),
        dpi=_DPI,
        layout="constrained",
    )
    FigureCanvasAgg(fig)
    labelled = []  # (axes, [(row, x value, y value)])
    if not bands:
        fig.text(0.5, 0.5, "no row with an mIoU to plot", ha="center", va="center")
    subfigs = (
        fig.subfigures(len(bands), 1, height_ratios=heights, squeeze=False)[:, 0] if bands else []
    )
    for subfig, (name, group, panels) in zip(subfigs, bands):
        ratios = [6.0 if conditions else 3.6 for conditions, _ in panels]
        axes = subfig.subplots(1, len(panels), sharey=True, width_ratios=ratios, squeeze=False)[0]
        subfig.suptitle(_band_title(name, group), fontsize=9)
        scores = [_score(r)[0] for r in group]
        low, high = min(scores), max(scores)
        margin = max(0.5, 0.12 * (high - low))
        for ax, (conditions, panel_rows) in zip(axes, panels):
            points = []
            for reference, marker in ((True, "s"), (False, "o")):
                for row in (r for r in panel_rows if r.is_reference == reference):
                    xv = getattr(row, x) if conditions else 0.0
                    points.append((row, xv, _score(row)[0]))
                    ax.scatter([xv], [_score(row)[0]], s=(2 * _MARKER_PX * 72 / _DPI) ** 2,
                               marker=marker, color=colours[family(row)])  # fmt: skip
            if conditions:
                top = max(p[1] for p in points)
                ax.set_xlim(0, top * 1.3 if top > 0 else 1)
                ax.set_xlabel(f"{PLOT_X[x]} on {conditions}", fontsize=8)
                ax.set_title(f"{x} comparable only within this panel", fontsize=8)
            else:
                ax.set_xlim(-0.1, 1)
                ax.set_xticks([])
                ax.set_xlabel(f"no {x} figure", fontsize=8)
            ax.set_ylim(low - margin, high + margin)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            labelled.append((ax, points))
        axes[0].set_ylabel("mIoU (%)", fontsize=8)
        kinds = [("s", "published", True), ("o", "ours", False)]
        handles = [
            Line2D([], [], marker=m, color="0.3", markerfacecolor="none", linestyle="", label=t)
            for m, t, reference in kinds
            if any(r.is_reference == reference for r in group)
        ]
        families = sorted({family(r) for r in group}, key=list(colours).index)
        handles += [
            Line2D([], [], marker="o", color=colours[f], linestyle="", label=f) for f in families
        ]
        subfig.legend(handles=handles, loc="outside lower right", fontsize=7,
                      ncols=min(len(handles), 6))  # fmt: skip
    fig.canvas.draw()
    # The layout is final from here on: labels are placed in these pixel positions.
    fig.set_layout_engine("none")
    unplaced = sum(_place(fig, ax, points, colours) for ax, points in labelled)
    return fig, unplaced


def _place(fig, ax, points, colours: dict[str, str]) -> int:
    """Label every point of ``ax``; returns how many found no free spot."""
    renderer = fig.canvas.get_renderer()
    # Ours first (they are what the reader came for), then top to bottom.
    points = sorted(points, key=lambda p: (p[0].is_reference, -p[2]))
    pixels = [tuple(ax.transData.transform((xv, yv))) for _, xv, yv in points]
    styles = [
        dict(fontsize=6.5 if row.is_reference else 7, color=colours[family(row)])
        for row, *_ in points
    ]
    sizes = []
    for (row, xv, yv), style in zip(points, styles):
        probe = ax.text(xv, yv, _label(row), **style)  # measured, then replaced
        box = probe.get_window_extent(renderer)
        probe.remove()
        sizes.append((box.width, box.height))
    frame = ax.get_window_extent(renderer)
    bounds = Box(frame.x0 + 2, frame.y0 + 2, frame.x1 - 2, frame.y1 - 2)
    markers = [
        Box(px - _MARKER_PX, py - _MARKER_PX, px + _MARKER_PX, py + _MARKER_PX) for px, py in pixels
    ]
    placements = place_labels(pixels, sizes, bounds=bounds, obstacles=markers)
    to_data = ax.transData.inverted()
    for (row, _, _), (px, py), style, placement in zip(points, pixels, styles, placements):
        if placement is None:
            continue
        box = placement.box
        # Plain texts and lines in data coordinates: the layout is fixed, so the pixels
        # computed above are where they are drawn (and saved, at the same dpi).
        ax.text(
            *to_data.transform((box.x0, box.y0)),
            _label(row),
            ha="left",
            va="bottom",
            gid=LABEL_GID,
            **style,
        )
        if placement.leader:
            end = to_data.transform(box.nearest(px, py))
            start = to_data.transform((px, py))
            ax.plot(
                [start[0], end[0]], [start[1], end[1]],
                color=style["color"], lw=0.5, gid=LEADER_GID, scalex=False, scaley=False,
            )  # fmt: skip
    return sum(p is None for p in placements)


def figure(rows: Sequence[Row], *, x: str = "fps"):
    """The plot as a matplotlib ``Figure`` (Agg canvas, layout fixed, labels placed)."""
    if x not in PLOT_X:
        raise UnknownPlotAxisError(f"unknown plot axis {x!r}; choose one of {', '.join(PLOT_X)}")
    for scale in _HEIGHT_SCALES:
        fig, unplaced = _build(rows, x, scale)
        if not unplaced:
            break
    else:
        # Never drawn over another label: the point stays, its label is left out.
        warnings.warn(
            f"{unplaced} label(s) found no free spot even at {_HEIGHT_SCALES[-1]}x the "
            "height; their points are plotted unlabelled (leaderboard.csv names every row)",
            PlotLabelWarning,
            stacklevel=2,
        )
    return fig


def plot(rows: Sequence[Row], path: str | Path, *, x: str = "fps") -> Path:
    """A PNG of :func:`figure`: mIoU against ``x`` (``fps`` or ``gflops``), one band
    per section, one panel per set of measuring conditions, a strip for the rows
    without ``x``; references as squares, our runs as circles, one colour per model
    family (:func:`family`: HRNet red, each peer its own) with a legend, every point
    labelled."""
    fig = figure(rows, x=x)
    # The object API with an explicit Agg canvas: no pyplot, no global backend switch,
    # so plotting works headless and leaves a caller's matplotlib state alone.
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=fig.dpi)
    return path
