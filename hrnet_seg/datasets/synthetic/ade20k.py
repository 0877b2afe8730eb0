"""The built-in ADE20K-format dataset (mmseg's ``ADEChallengeData2016`` layout): objects
of all 150 classes on a grid over 'stuff' regions, in every split."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
from PIL import Image

from ..identity import write_marker
from .drawing import Polygon, colorize, rasterize, rect
from .generator import check_seed, check_size, check_splits, image_rng, refuse_foreign_files

ADE20K_SPLITS: Mapping[str, int] = MappingProxyType({"training": 60, "validation": 20})
ADE20K_SIZE = (128, 128)

# The smallest size at which every class keeps a visible, stride-4-sized area.
_MIN_SIZE = (64, 64)
_PREFIX = {"training": "ADE_train", "validation": "ADE_val"}
_NUM_CLASSES = 150


def make_ade20k(
    root: str | os.PathLike,
    *,
    splits: Mapping[str, int] = ADE20K_SPLITS,
    size: Sequence[int] = ADE20K_SIZE,
    seed: int = 0,
) -> Path:
    """Write an ADE20K-format dataset (mmseg's ``ADEChallengeData2016`` layout) under
    ``root`` and return ``root``.

    ``splits`` maps ``"training"`` / ``"validation"`` to image counts, ``size`` is
    (height, width). Images are ``images/<split>/ADE_{train,val}_<8 digits>.jpg``,
    annotations ``annotations/<split>/<same stem>.png`` (uint8: 0 = other, 1..150 the
    classes; mmseg reads them with ``reduce_zero_label=True``). Every class appears in
    every split: small splits get more, smaller objects per image.
    """
    splits = check_splits(splits, allowed=tuple(_PREFIX))
    height, width = check_size(size, minimum=_MIN_SIZE)
    check_seed(seed)
    root = Path(root)
    # ADE20KDataset's palette, index k - 1 for class k; mmseg is imported only here
    # because the Cityscapes generator does not need it.
    from mmseg.datasets import ADE20KDataset

    palette = np.array([(0, 0, 0), *ADE20KDataset.METAINFO["palette"]], dtype=np.float64)

    outputs = {}
    for split, count in splits.items():
        for index in range(count):
            stem = f"{_PREFIX[split]}_{index + 1:08d}"
            outputs[split, index] = (
                root / "images" / split / f"{stem}.jpg",
                root / "annotations" / split / f"{stem}.png",
            )
    refuse_foreign_files(
        [root / top / split for split in splits for top in ("images", "annotations")],
        {path for pair in outputs.values() for path in pair},
    )
    write_marker(root, dataset="ade20k", splits=splits, size=(height, width), seed=seed)

    for split, count in splits.items():
        split_rng = image_rng(seed, "ade20k", split, -1)
        # Enough objects per split to cycle through all classes at least once.
        counts = np.maximum(split_rng.integers(8, 13, size=count), math.ceil(_NUM_CLASSES / count))
        cycles = math.ceil(counts.sum() / _NUM_CLASSES)
        classes = np.concatenate([split_rng.permutation(_NUM_CLASSES) + 1 for _ in range(cycles)])
        starts = np.concatenate([[0], np.cumsum(counts)])
        for index in range(count):
            image_path, annotation_path = outputs[split, index]
            rng = image_rng(seed, "ade20k", split, index)
            regions = _scene(
                rng,
                classes=classes[starts[index] : starts[index + 1]].tolist(),
                height=height,
                width=width,
            )
            region_map = rasterize([polygon for _, polygon in regions], height, width)
            region_class = np.array([0, *(label for label, _ in regions)], dtype=np.uint8)
            rgb = colorize(
                rng,
                region_map,
                base=palette[region_class],
                textures=[("flat", 0.0, 0)] + [_texture(int(label)) for label in region_class[1:]],
            )
            image_path.parent.mkdir(parents=True, exist_ok=True)
            annotation_path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rgb, "RGB").save(image_path, quality=90)
            Image.fromarray(region_class[region_map]).save(annotation_path)
    return root


def _scene(
    rng: np.random.Generator, *, classes: list[int], height: int, width: int
) -> list[tuple[int, Polygon]]:
    """Objects of the given classes on a grid, one per cell (so none hides
    another), over an upper and a lower 'stuff' region with a band of class 0 between.
    Shape and aspect follow the class, so shape is a cue as in real scenes."""
    H, W = height, width
    upper_end = round(rng.uniform(0.3, 0.45) * H)
    lower_start = upper_end + round(rng.uniform(0.08, 0.15) * H)
    upper = int(rng.choice([1, 2, 3, 6]))  # wall, building, sky, ceiling
    lower = int(rng.choice([4, 7, 10, 12, 14]))  # floor, road, grass, sidewalk, earth
    regions: list[tuple[int, Polygon]] = [
        (upper, rect(0, 0, W - 1, upper_end)),
        (lower, rect(0, lower_start, W - 1, H - 1)),
    ]
    count = len(classes)
    rows = max(1, round(math.sqrt(count * H / W)))
    cols = math.ceil(count / rows)
    ys = np.linspace(0, H, rows + 1).round().astype(int)
    xs = np.linspace(0, W, cols + 1).round().astype(int)
    cells = np.sort(rng.choice(rows * cols, size=count, replace=False))
    for label, cell in zip(classes, cells.tolist()):
        row, col = divmod(cell, cols)
        cell_w, cell_h = xs[col + 1] - xs[col], ys[row + 1] - ys[row]
        # Class-specific aspect: some classes wide, some tall, some square.
        aspect = (1.0, 0.6, 1.0)[label % 3], (1.0, 1.0, 0.6)[label % 3]
        obj_w = max(2, round(cell_w * aspect[0] * rng.uniform(0.6, 0.95)))
        obj_h = max(2, round(cell_h * aspect[1] * rng.uniform(0.6, 0.95)))
        x0 = xs[col] + int(rng.integers(0, cell_w - obj_w + 1))
        y0 = ys[row] + int(rng.integers(0, cell_h - obj_h + 1))
        regions.append((label, _shape(label, x0, y0, obj_w, obj_h)))
    return regions


def _shape(label: int, x0: int, y0: int, width: int, height: int) -> Polygon:
    """Rectangle, ellipse, triangle or diamond, by class."""
    x1, y1 = x0 + width - 1, y0 + height - 1
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    kind = label % 4
    if kind == 0:
        return rect(x0, y0, x1, y1)
    if kind == 1:  # ellipse
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        return [
            (round(cx + (x1 - x0) / 2 * math.cos(a)), round(cy + (y1 - y0) / 2 * math.sin(a)))
            for a in angles
        ]
    if kind == 2:  # triangle
        return [(round(cx), y0), (x1, y1), (x0, y1)]
    return [(round(cx), y0), (x1, round(cy)), (round(cx), y1), (x0, round(cy))]  # diamond


def _texture(label: int) -> tuple[str, float, int]:
    """Flat, horizontal or vertical stripes by class, with a class-specific period."""
    kind = ("flat", "hstripes", "vstripes")[(label // 4) % 3]
    return kind, 0.0 if kind == "flat" else 0.15, 4 + label % 5
