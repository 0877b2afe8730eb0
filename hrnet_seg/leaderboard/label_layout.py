"""Where each point's label goes so that no two labels collide: a greedy search in
display pixels, nearest free spot first.

Every spot on a pixel grid around the point is a candidate, ordered by its distance
from the point (spots right of the point first, where a reader looks). A label takes
the first spot that lies inside the bounds (the axes) and overlaps no marker, no label
placed before it and no leader line drawn before it; a label moved away from its point
gets a leader line, which must not cross a label placed before. Labels placed earlier
win, so callers pass the most important first. Each label tests all its spots at once
(numpy), so a crowded panel of a few dozen labels takes well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Box", "Placement", "place_labels"]

_REACH = 420  # px: the farthest a label may sit from its point
_GRID = 3  # px between candidate spots
_LEADER_FROM = 12  # a label at least this far from its point gets a leader line
_CHUNK = 2048  # spots tested at once
# Added to a spot's distance: a label left of its point, or above / below it, reads
# less naturally than one to its right, and one level with its point best.
_LEFT_PENALTY, _SIDE_PENALTY, _LEVEL_WEIGHT = 8.0, 4.0, 0.3


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in display pixels (origin bottom left)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box, pad: float = 0.0) -> bool:
        return not (
            self.x1 + pad <= other.x0
            or other.x1 + pad <= self.x0
            or self.y1 + pad <= other.y0
            or other.y1 + pad <= self.y0
        )

    def inside(self, bounds: Box) -> bool:
        return (
            self.x0 >= bounds.x0
            and self.y0 >= bounds.y0
            and self.x1 <= bounds.x1
            and self.y1 <= bounds.y1
        )

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def nearest(self, x: float, y: float) -> tuple[float, float]:
        """The point of the box nearest to (x, y): where a leader line ends."""
        return min(max(x, self.x0), self.x1), min(max(y, self.y0), self.y1)


@dataclass(frozen=True)
class Placement:
    """A label's box, and whether it needs a leader line back to its point."""

    box: Box
    leader: bool


def _crossed(boxes: np.ndarray, start: tuple[float, float], ends: np.ndarray) -> np.ndarray:
    """``[i, j]``: whether the segment from ``start`` to ``ends[i]`` crosses
    ``boxes[j]`` (rows of x0, y0, x1, y1, grown by a pixel). Liang-Barsky clipping:
    exact, every segment against every box at once."""
    grown = boxes + np.array([-1.0, -1.0, 1.0, 1.0])
    enter = np.zeros((len(ends), len(boxes)))
    leave = np.ones((len(ends), len(boxes)))
    for axis in (0, 1):
        delta = (ends[:, axis] - start[axis])[:, None]
        low, high = grown[None, :, axis], grown[None, :, axis + 2]
        flat = delta == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            t_low, t_high = (low - start[axis]) / delta, (high - start[axis]) / delta
        outside = flat & ((start[axis] < low) | (start[axis] > high))
        enter = np.where(flat, enter, np.maximum(enter, np.minimum(t_low, t_high)))
        leave = np.where(flat, leave, np.minimum(leave, np.maximum(t_low, t_high)))
        leave = np.where(outside, -1.0, leave)
    return enter <= leave


def _spots(x: float, y: float, width: float, height: float) -> np.ndarray:
    """Candidate boxes (x0, y0, x1, y1) around (x, y), best first."""
    xs = np.arange(x - width - _REACH, x + _REACH, _GRID)
    ys = np.arange(y - height - _REACH, y + _REACH, _GRID)
    x0, y0 = (a.ravel() for a in np.meshgrid(xs, ys))
    x1, y1 = x0 + width, y0 + height
    # Distance from the point to the nearest point of each box.
    dx = np.maximum(np.maximum(x0 - x, x - x1), 0)
    dy = np.maximum(np.maximum(y0 - y, y - y1), 0)
    # Beside the point and level with it reads best; left of it or above / below less.
    level = np.abs((y0 + y1) / 2 - y) * _LEVEL_WEIGHT
    score = np.hypot(dx, dy) + level + _LEFT_PENALTY * (x1 <= x) + _SIDE_PENALTY * (dx == 0)
    keep = np.hypot(dx, dy) <= _REACH
    order = np.argsort(score[keep], kind="stable")
    return np.stack([x0, y0, x1, y1], axis=1)[keep][order]


def _overlapping(spots: np.ndarray, boxes: Sequence[Box], pad: float) -> np.ndarray:
    if not boxes:
        return np.zeros(len(spots), dtype=bool)
    other = np.array([(b.x0, b.y0, b.x1, b.y1) for b in boxes])
    return (
        (spots[:, None, 2] + pad > other[None, :, 0])
        & (other[None, :, 2] + pad > spots[:, None, 0])
        & (spots[:, None, 3] + pad > other[None, :, 1])
        & (other[None, :, 3] + pad > spots[:, None, 1])
    ).any(axis=1)


def _first_free(
    spots: np.ndarray,
    point: tuple[float, float],
    bounds: Box,
    blocked: Sequence[Box],
    placed: Sequence[Box],
    leaders: Sequence[tuple[tuple[float, float], tuple[float, float]]],
    pad: float,
) -> Placement | None:
    """The first of ``spots`` inside ``bounds``, clear of ``blocked`` boxes and earlier
    leader lines, whose own leader line (if it needs one) crosses no ``placed`` label."""
    x, y = point
    inside = (
        (spots[:, 0] >= bounds.x0)
        & (spots[:, 1] >= bounds.y0)
        & (spots[:, 2] <= bounds.x1)
        & (spots[:, 3] <= bounds.y1)
    )
    spots = spots[inside]
    spots = spots[~_overlapping(spots, blocked, pad)]
    for a, b in leaders:  # no label on a leader line drawn before
        spots = spots[~_crossed(spots, a, np.array([b]))[0]]
    if not len(spots):
        return None
    # Each spot's leader line would end at the box's point nearest to (x, y)...
    ends = np.stack(
        [np.clip(x, spots[:, 0], spots[:, 2]), np.clip(y, spots[:, 1], spots[:, 3])], axis=1
    )
    leader = np.hypot(ends[:, 0] - x, ends[:, 1] - y) >= _LEADER_FROM
    ok = np.ones(len(spots), dtype=bool)
    if placed:  # ...and must not cross a label placed before.
        others = np.array([(o.x0, o.y0, o.x1, o.y1) for o in placed])
        candidates = np.flatnonzero(leader)
        ok[candidates[_crossed(others, point, ends[candidates]).any(axis=1)]] = False
    if not ok.any():
        return None
    best = int(np.argmax(ok))
    return Placement(box=Box(*(float(v) for v in spots[best])), leader=bool(leader[best]))


def place_labels(
    points: Sequence[tuple[float, float]],
    sizes: Sequence[tuple[float, float]],
    *,
    bounds: Box,
    obstacles: Sequence[Box] = (),
    pad: float = 2.0,
) -> list[Placement | None]:
    """A :class:`Placement` for each label (``sizes[i]`` is the width and height of
    the label of ``points[i]``), or None where no free spot inside ``bounds`` exists.
    ``obstacles`` (markers) are kept clear of labels; labels are ``pad`` px apart."""
    if len(points) != len(sizes):
        raise ValueError(f"{len(points)} points but {len(sizes)} label sizes")
    placed: list[Box] = []
    leaders: list[tuple[tuple[float, float], tuple[float, float]]] = []
    result: list[Placement | None] = []
    for (x, y), (width, height) in zip(points, sizes):
        x, y = float(x), float(y)
        spots = _spots(x, y, float(width), float(height))
        choice = None
        # Best spots first, a chunk at a time: most labels settle in the first chunk.
        for first in range(0, len(spots), _CHUNK):
            found = _first_free(
                spots[first : first + _CHUNK], (x, y), bounds, [*obstacles, *placed], placed,
                leaders, pad,
            )  # fmt: skip
            if found is not None:
                choice = found
                break
        if choice is not None:
            placed.append(choice.box)
            if choice.leader:
                leaders.append(((x, y), choice.box.nearest(x, y)))
        result.append(choice)
    return result
