"""Pictures of predictions (``tools/test.py --show-dir``): what a person needs to judge
a segmentation at a glance.

Side by side: the image, the ground truth, the prediction and an error map, each
titled, above a legend of the classes present (in the ground truth or the prediction,
with their palette colours) and a key to the error map. The error map is the image in
dimmed grey, :data:`WRONG` where the prediction differs from the ground truth, and
:data:`NOT_SCORED` where the ground truth is ignored (``ignore_index``, e.g. Cityscapes'
void), so that nobody counts those pixels as mistakes. Without a ground truth (a test
split) the picture is image | prediction. mmseg's ``SegLocalVisualizer`` blends the
masks into the image and writes class names inside them; plain colour panels and a
legend stay readable at the built-in data's 128x256 as well as at 1024x2048.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["NOT_SCORED", "WRONG", "LegendEntry", "Picture", "compare", "error_map", "overlay"]

WRONG = (255, 0, 0)  # RGB, never a grey: the error map's other pixels are grey
NOT_SCORED = (0, 170, 255)
GAP = 4  # px of white between panels
_WHITE, _BLACK = (255, 255, 255), (0, 0, 0)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class LegendEntry:
    """One legend line: a name, its colour (RGB) and where its swatch is drawn
    (x0, y0, x1, y1, exclusive ends, in the picture's pixels)."""

    name: str
    colour: tuple[int, int, int]
    swatch: tuple[int, int, int, int]


@dataclass(frozen=True)
class Picture:
    """The drawn picture (RGB) and what is where on it."""

    image: np.ndarray
    panels: tuple[tuple[str, tuple[int, int, int, int]], ...]  # title, (x0, y0, x1, y1)
    legend: tuple[LegendEntry, ...]  # the classes present
    key: tuple[LegendEntry, ...]  # the error map's colours


def _colours(labels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Palette colours of a label map; labels outside the palette (ignored) black."""
    out = np.zeros((*labels.shape, 3), dtype=np.uint8)
    valid = labels < len(palette)
    out[valid] = palette[labels[valid]]
    return out


def error_map(
    image: np.ndarray, gt: np.ndarray, pred: np.ndarray, *, num_classes: int, ignore_index: int
) -> np.ndarray:
    """RGB: :data:`WRONG` where a scored pixel's prediction differs from its ground
    truth, :data:`NOT_SCORED` where the ground truth is ``ignore_index`` (or no class),
    elsewhere the image in dimmed grey."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) // 2
    out = np.repeat(grey[..., None], 3, axis=2)
    scored = (gt != ignore_index) & (gt < num_classes)
    out[scored & (pred != gt)] = WRONG
    out[~scored] = NOT_SCORED
    return out


class _Text:
    """cv2 text sized for the picture: readable on a 256 px panel and on a 2048 px one."""

    def __init__(self, panel_width: int) -> None:
        self.scale = max(0.4, panel_width / 700)
        self.thickness = 1 if self.scale < 0.8 else 2
        (_, self.height), self.baseline = cv2.getTextSize("Ag", _FONT, self.scale, self.thickness)
        self.line = self.height + self.baseline + 6

    def width(self, text: str) -> int:
        return cv2.getTextSize(text, _FONT, self.scale, self.thickness)[0][0]

    def draw(self, canvas: np.ndarray, text: str, x: int, y_top: int) -> None:
        cv2.putText(
            canvas, text, (x, y_top + self.height), _FONT, self.scale, _BLACK,
            self.thickness, cv2.LINE_AA,
        )  # fmt: skip


def _layout_legend(
    entries: Sequence[tuple[str, tuple[int, int, int]]], text: _Text, width: int, top: int
) -> tuple[list[LegendEntry], int]:
    """Entries flowed left to right in lines of ``width``; returns them placed and the
    y below the last line."""
    size = text.height + text.baseline
    x, y, placed = GAP, top, []
    for name, colour in entries:
        advance = size + 4 + text.width(name) + 3 * GAP
        if x > GAP and x + advance > width:
            x, y = GAP, y + text.line
        placed.append(LegendEntry(name, tuple(int(c) for c in colour), (x, y, x + size, y + size)))
        x += advance
    return placed, (y + text.line if entries else top)


def _draw_legend(canvas: np.ndarray, entries: Sequence[LegendEntry], text: _Text) -> None:
    for entry in entries:
        x0, y0, x1, y1 = entry.swatch
        canvas[y0:y1, x0:x1] = entry.colour
        cv2.rectangle(canvas, (x0 - 1, y0 - 1), (x1, y1), _BLACK, 1)
        text.draw(canvas, entry.name, x1 + 4, y0)


def compare(
    image: np.ndarray,
    pred: np.ndarray,
    *,
    classes: Sequence[str],
    palette: Sequence[Sequence[int]],
    gt: np.ndarray | None = None,
    ignore_index: int = 255,
) -> Picture:
    """The picture of one prediction. ``image`` is RGB (H, W, 3) uint8, ``pred`` and
    ``gt`` are (H, W) class indices; ``palette`` gives each class's RGB colour. A
    ``gt`` of another shape than ``pred`` is left out (image | prediction)."""
    if len(classes) != len(palette):
        raise ValueError(f"{len(classes)} classes but {len(palette)} palette colours")
    if image.shape[:2] != pred.shape:
        raise ValueError(f"image {image.shape[:2]} and prediction {pred.shape} differ in size")
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    num_classes = len(classes)
    if gt is not None and gt.shape != pred.shape:
        gt = None
    panels = [("image", image)]
    present = set(np.unique(pred[pred < num_classes]).tolist())
    key: list[tuple[str, tuple[int, int, int]]] = []
    if gt is not None:
        scored = (gt != ignore_index) & (gt < num_classes)
        present |= set(np.unique(gt[scored]).tolist())
        wrong = float((scored & (pred != gt)).sum()) / max(int(scored.sum()), 1)
        panels += [
            ("ground truth", _colours(gt, palette)),
            ("prediction", _colours(pred, palette)),
            (
                "errors",
                error_map(image, gt, pred, num_classes=num_classes, ignore_index=ignore_index),
            ),
        ]
        key = [
            (f"wrong: {100 * wrong:.1f}% of scored pixels", WRONG),
            ("not scored (ignored in the ground truth)", NOT_SCORED),
        ]
    else:
        panels.append(("prediction", _colours(pred, palette)))

    height, width = pred.shape
    text = _Text(width)
    total = len(panels) * width + (len(panels) - 1) * GAP
    title = text.line
    legend, below = _layout_legend(
        [(classes[c], palette[c]) for c in sorted(present)], text, total, title + height + GAP
    )
    error_key, bottom = _layout_legend(key, text, total, below)
    canvas = np.full((bottom + GAP, total, 3), 255, dtype=np.uint8)
    boxes = []
    for index, (name, content) in enumerate(panels):
        x0 = index * (width + GAP)
        canvas[title : title + height, x0 : x0 + width] = content
        text.draw(canvas, name, x0 + 2, 3)
        boxes.append((name, (x0, title, x0 + width, title + height)))
    _draw_legend(canvas, legend, text)
    _draw_legend(canvas, error_key, text)
    return Picture(canvas, tuple(boxes), tuple(legend), tuple(error_key))


def overlay(
    image: np.ndarray,
    pred: np.ndarray,
    *,
    classes: Sequence[str],
    palette: Sequence[Sequence[int]],
    alpha: float = 0.5,
    legend: bool = True,
) -> np.ndarray:
    """The image (RGB, H x W x 3 uint8) with each pixel blended with its predicted class's
    palette colour (``alpha`` of the colour; no class: the image unchanged) and, with
    ``legend``, the classes present listed below it. What ``tools/infer.py --overlay``
    writes; video frames use it without the legend (their size must not change)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha: expected a value in [0, 1], got {alpha!r}")
    if image.shape[:2] != pred.shape:
        raise ValueError(f"image {image.shape[:2]} and prediction {pred.shape} differ in size")
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if len(classes) != len(palette):
        raise ValueError(f"{len(classes)} classes but {len(palette)} palette colours")
    valid = pred < len(palette)
    blended = image.astype(np.float32)
    colours = _colours(pred, palette).astype(np.float32)
    blended[valid] = (1 - alpha) * blended[valid] + alpha * colours[valid]
    blended = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    if not legend:
        return blended
    height, width = pred.shape
    text = _Text(width)
    present = sorted(np.unique(pred[valid]).tolist())
    entries, bottom = _layout_legend(
        [(classes[c], palette[c]) for c in present], text, width, height + GAP
    )
    canvas = np.full((bottom + GAP, width, 3), 255, dtype=np.uint8)
    canvas[:height] = blended
    _draw_legend(canvas, entries, text)
    return canvas
