"""Drawing primitives of the built-in scenes: polygons, placing things side by side,
and painting a region map into an RGB image (class colour, brightness jitter, texture,
pixel noise)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[int, int]
Polygon = list[Point]

_REGION_JITTER = (0.9, 1.1)  # per-region brightness factor
_IMAGE_JITTER = (0.95, 1.05)  # per-image brightness factor
_PIXEL_NOISE = 5.0  # std of per-pixel, per-channel noise, in 0..255 units


def rect(x0: int, y0: int, x1: int, y1: int) -> Polygon:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def mirror(polygon: Polygon, width: int) -> Polygon:
    return [(width - 1 - x, y) for x, y in polygon]


def partition(rng: np.random.Generator, length: int, parts: int, *, minimum: float) -> list[int]:
    """``parts + 1`` increasing edges from 0 to ``length``, each part at least
    ``minimum * length`` long."""
    shares = minimum + (1 - minimum * parts) * rng.dirichlet(np.ones(parts))
    return [0, *np.cumsum(shares * length).round().astype(int).tolist()]


def pack(rng: np.random.Generator, widths: list[int], length: int) -> list[int]:
    """Left edges that place the given widths side by side in a random order with
    random gaps, never overlapping, within ``[0, length)``."""
    free = length - sum(widths)
    if free < 0:
        raise RuntimeError(f"cannot pack widths {widths} into {length} px")
    gaps = rng.dirichlet(np.ones(len(widths) + 1)) * free
    lefts = [0] * len(widths)
    x = 0.0
    for gap, i in zip(gaps, rng.permutation(len(widths)).tolist()):
        x += gap
        # floor(x) + width <= floor(x + width): the next item starts after this one.
        lefts[i] = math.floor(x)
        x += widths[i]
    return lefts


def rasterize(polygons: list[Polygon], height: int, width: int) -> np.ndarray:
    """Index map: 0 where nothing is drawn, k where polygon k - 1 is the last one
    drawn, with the same PIL polygon fill cityscapesscripts uses."""
    canvas = Image.new("I", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for k, polygon in enumerate(polygons, start=1):
        draw.polygon(polygon, fill=k)
    return np.asarray(canvas, dtype=np.int64)


def colorize(
    rng: np.random.Generator,
    region_map: np.ndarray,
    *,
    base: np.ndarray,
    textures: list[tuple[str, float, int]],
) -> np.ndarray:
    """RGB uint8: each region's base colour times a brightness jitter and its class
    texture, plus pixel noise. ``textures[k]`` is region k's (texture, amplitude,
    period in px); the texture modulates brightness, so a region keeps its hue."""
    height, width = region_map.shape
    jitter = rng.uniform(*_REGION_JITTER, size=len(base)) * rng.uniform(*_IMAGE_JITTER)
    modulation = np.zeros((height, width))
    patterns: dict[tuple[str, int], np.ndarray] = {}
    for k in np.unique(region_map).tolist():
        kind, amplitude, period = textures[k]
        if amplitude == 0:
            continue
        if (kind, period) not in patterns:
            patterns[kind, period] = _pattern(kind, rng, height, width, period)
        mask = region_map == k
        modulation[mask] = amplitude * patterns[kind, period][mask]
    rgb = base[region_map] * (jitter[region_map] * (1 + modulation))[..., None]
    rgb += rng.normal(0.0, _PIXEL_NOISE, size=rgb.shape)
    return np.clip(rgb.round(), 0, 255).astype(np.uint8)


def _pattern(kind: str, rng: np.random.Generator, height: int, width: int, period: int):
    """A texture in [-1, 1] over the whole image; regions cut out their part."""
    rows, cols = np.mgrid[0:height, 0:width]
    if kind == "speckle":
        return rng.uniform(-1, 1, size=(height, width))
    if kind == "gradient":  # sky: brighter towards the horizon
        return np.broadcast_to(np.linspace(-1, 1, height)[:, None], (height, width))
    if kind in ("hstripes", "vstripes"):
        along = rows if kind == "hstripes" else cols
        return np.where((along + int(rng.integers(period))) % period < period // 2, 1.0, -1.0)
    if kind == "tiles":  # dark joints between paving slabs
        return np.where((rows % period == 0) | (cols % (2 * period) == 0), -1.0, 0.3)
    if kind == "windows":  # dark windows in a light facade
        margin = period // 4
        inside = (rows % period >= margin) & (rows % period < period - margin)
        inside &= (cols % period >= margin) & (cols % period < period - margin)
        return np.where(inside, -1.0, 0.3)
    if kind == "blotch":  # foliage: smooth noise with features about `period` px wide
        coarse = rng.uniform(-1, 1, size=(height // period + 2, width // period + 2))
        field = Image.fromarray(coarse.astype(np.float32), "F").resize(
            (width + 2 * period, height + 2 * period), Image.BILINEAR
        )
        return np.asarray(field)[period : period + height, period : period + width]
    raise ValueError(f"unknown texture {kind!r}")
