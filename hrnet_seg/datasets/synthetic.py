"""Built-in data: small Cityscapes- and ADE20K-format datasets drawn from scratch.

The real datasets need a registration (Cityscapes) or a large download (ADE20K); these
stand-ins let the whole pipeline (loading, training, evaluation, export) run anywhere.
They use the official layouts and file names, so the zoo dataset configs read them with
only ``data_root`` changed.

Scenes are structured, not noise, so that a small HRNet learns them in a few hundred CPU
iterations: a Cityscapes image is a street (sky, a building / vegetation skyline, road
and sidewalks, vehicles, people, poles with lights and signs), every region coloured
with its class's palette colour plus brightness jitter, a class-specific texture and
pixel noise. Every image holds all 19 evaluated classes and some ignored pixels; every
ADE20K split holds all 150 classes.

Each image draws from its own seed ``(seed, split, index)``: the same arguments give
byte-identical files, and growing a split keeps its first images unchanged.

The root gets a marker file (:mod:`.identity`), so that every run evaluated on it is
recorded as built-in data and never ranked against the real dataset's figures.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
from PIL import Image, ImageDraw

from .cityscapes_convert import label_ids_to_train_ids, render_polygons, require_cityscapesscripts
from .identity import write_marker

Point = tuple[int, int]
Polygon = list[Point]

CITYSCAPES_SPLITS: Mapping[str, int] = MappingProxyType({"train": 40, "val": 10})
ADE20K_SPLITS: Mapping[str, int] = MappingProxyType({"training": 60, "validation": 20})
CITYSCAPES_SIZE = (128, 256)
ADE20K_SIZE = (128, 128)

# The smallest sizes at which every class keeps a visible, stride-4-sized area.
_MIN_CITYSCAPES_SIZE = (64, 128)
_MIN_ADE20K_SIZE = (64, 64)

# Official cities of each split; images go round-robin over them.
_CITIES = {
    "train": ("aachen", "bochum", "bremen", "cologne", "darmstadt"),
    "val": ("frankfurt", "lindau", "munster"),
    "test": ("berlin", "bielefeld", "bonn"),
}
# Fine annotations are on the 20th frame of each 30-frame snippet.
_ANNOTATED_FRAME = 19
_GT_FINE_SUFFIXES = (
    "polygons.json",
    "labelIds.png",
    "labelTrainIds.png",
    "instanceIds.png",
    "color.png",
)
_ADE20K_PREFIX = {"training": "ADE_train", "validation": "ADE_val"}
_ADE20K_NUM_CLASSES = 150

# Per class: (texture, amplitude, period in px). The texture modulates brightness, so a
# region keeps its palette hue: colour stays the strongest cue, texture and shape help
# where palette colours are close (bus / train, building / wall).
_CITYSCAPES_TEXTURES = {
    "road": ("speckle", 0.06, 0),
    "sidewalk": ("tiles", 0.15, 7),
    "building": ("windows", 0.25, 8),
    "wall": ("hstripes", 0.18, 5),
    "fence": ("vstripes", 0.22, 4),
    "pole": ("flat", 0.0, 0),
    "traffic light": ("hstripes", 0.25, 6),
    "traffic sign": ("flat", 0.0, 0),
    "vegetation": ("blotch", 0.25, 8),
    "terrain": ("speckle", 0.2, 0),
    "sky": ("gradient", 0.12, 0),
    "person": ("blotch", 0.1, 4),
    "rider": ("flat", 0.0, 0),
    "car": ("hstripes", 0.12, 8),
    "truck": ("vstripes", 0.12, 6),
    "bus": ("hstripes", 0.2, 6),
    "train": ("hstripes", 0.15, 12),
    "motorcycle": ("speckle", 0.15, 0),
    "bicycle": ("vstripes", 0.2, 3),
}
_REGION_JITTER = (0.9, 1.1)  # per-region brightness factor
_IMAGE_JITTER = (0.95, 1.05)  # per-image brightness factor
_PIXEL_NOISE = 5.0  # std of per-pixel, per-channel noise, in 0..255 units
# The layout keeps classes apart by construction; the check guards the small sizes.
_MAX_SCENE_TRIES = 20
_MIN_CLASS_FRACTION = 0.001  # of the image, for each of the 19 evaluated classes


def make_cityscapes(
    root: str | os.PathLike,
    *,
    splits: Mapping[str, int] = CITYSCAPES_SPLITS,
    size: Sequence[int] = CITYSCAPES_SIZE,
    seed: int = 0,
) -> Path:
    """Write a Cityscapes-format dataset under ``root`` and return ``root``.

    ``splits`` maps ``"train"`` / ``"val"`` / ``"test"`` to image counts, ``size`` is
    (height, width). For each image: ``leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png``
    and, under ``gtFine/<split>/<city>/``, ``<stem>_gtFine_polygons.json`` with the
    ``_labelIds``, ``_labelTrainIds``, ``_instanceIds`` and ``_color`` PNGs rendered from
    it by cityscapesscripts' own code.

    Example:
        >>> root = make_cityscapes("data/demo/cityscapes", splits={"val": 3})  # doctest: +SKIP
        >>> sorted(p.name for p in (root / "gtFine/val/lindau").iterdir())  # doctest: +SKIP
        ['lindau_000000_000019_gtFine_color.png', ..., 'lindau_000000_000019_gtFine_polygons.json']
    """
    splits = _check_splits(splits, allowed=tuple(_CITIES))
    height, width = _check_size(size, minimum=_MIN_CITYSCAPES_SIZE)
    _check_seed(seed)
    require_cityscapesscripts()
    root = Path(root)
    files = {}  # (split, index) -> {"image" or gtFine suffix: path}
    for split, count in splits.items():
        cities = _CITIES[split]
        for index in range(count):
            city = cities[index % len(cities)]
            stem = f"{city}_{index // len(cities):06d}_{_ANNOTATED_FRAME:06d}"
            files[split, index] = {
                "image": root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png",
                **{
                    suffix: root / "gtFine" / split / city / f"{stem}_gtFine_{suffix}"
                    for suffix in _GT_FINE_SUFFIXES
                },
            }
    _refuse_foreign_files(
        [root / top / split for split in splits for top in ("leftImg8bit", "gtFine")],
        {path for paths in files.values() for path in paths.values()},
    )
    # Marked before the first image: even a half-written root never reads as real data.
    write_marker(root, dataset="cityscapes", splits=splits, size=(height, width), seed=seed)

    for (split, index), paths in files.items():
        rng = _image_rng(seed, "cityscapes", split, index)
        objects, json_text, label_ids = _draw_cityscapes(rng, height=height, width=width)
        rgb = _cityscapes_image(rng, objects, label_ids=label_ids)
        for path in paths.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb, "RGB").save(paths["image"])
        paths["polygons.json"].write_text(json_text)
        Image.fromarray(label_ids).save(paths["labelIds.png"])
        for suffix, encoding in (
            ("labelTrainIds.png", "trainIds"),
            ("instanceIds.png", "instanceIds"),
            ("color.png", "color"),
        ):
            Image.fromarray(render_polygons(json_text, encoding=encoding)).save(paths[suffix])
    return root


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
    splits = _check_splits(splits, allowed=tuple(_ADE20K_PREFIX))
    height, width = _check_size(size, minimum=_MIN_ADE20K_SIZE)
    _check_seed(seed)
    root = Path(root)
    # ADE20KDataset's palette, index k - 1 for class k; mmseg is imported only here
    # because the Cityscapes generator does not need it.
    from mmseg.datasets import ADE20KDataset

    palette = np.array([(0, 0, 0), *ADE20KDataset.METAINFO["palette"]], dtype=np.float64)

    outputs = {}
    for split, count in splits.items():
        for index in range(count):
            stem = f"{_ADE20K_PREFIX[split]}_{index + 1:08d}"
            outputs[split, index] = (
                root / "images" / split / f"{stem}.jpg",
                root / "annotations" / split / f"{stem}.png",
            )
    _refuse_foreign_files(
        [root / top / split for split in splits for top in ("images", "annotations")],
        {path for pair in outputs.values() for path in pair},
    )
    write_marker(root, dataset="ade20k", splits=splits, size=(height, width), seed=seed)

    for split, count in splits.items():
        split_rng = _image_rng(seed, "ade20k", split, -1)
        # Enough objects per split to cycle through all classes at least once.
        counts = np.maximum(
            split_rng.integers(8, 13, size=count), math.ceil(_ADE20K_NUM_CLASSES / count)
        )
        cycles = math.ceil(counts.sum() / _ADE20K_NUM_CLASSES)
        classes = np.concatenate(
            [split_rng.permutation(_ADE20K_NUM_CLASSES) + 1 for _ in range(cycles)]
        )
        starts = np.concatenate([[0], np.cumsum(counts)])
        for index in range(count):
            image_path, annotation_path = outputs[split, index]
            rng = _image_rng(seed, "ade20k", split, index)
            regions = _ade20k_scene(
                rng,
                classes=classes[starts[index] : starts[index + 1]].tolist(),
                height=height,
                width=width,
            )
            region_map = _rasterize([polygon for _, polygon in regions], height, width)
            region_class = np.array([0, *(label for label, _ in regions)], dtype=np.uint8)
            rgb = _colorize(
                rng,
                region_map,
                base=palette[region_class],
                textures=[("flat", 0.0, 0)]
                + [_ade20k_texture(int(label)) for label in region_class[1:]],
            )
            image_path.parent.mkdir(parents=True, exist_ok=True)
            annotation_path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rgb, "RGB").save(image_path, quality=90)
            Image.fromarray(region_class[region_map]).save(annotation_path)
    return root


# ---------------------------------------------------------------- argument checks


def _check_splits(splits: Mapping[str, int], *, allowed: tuple[str, ...]) -> dict[str, int]:
    if not isinstance(splits, Mapping) or not splits:
        raise ValueError(
            f"splits must be a non-empty mapping of split name to image count, "
            f"e.g. {{{allowed[0]!r}: 10}}; got {splits!r}"
        )
    checked = {}
    for split, count in splits.items():
        if split not in allowed:
            raise ValueError(f"unknown split {split!r}: use one of {', '.join(allowed)}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(
                f"splits[{split!r}] must be a positive int, got {count!r} "
                "(leave a split out to skip it)"
            )
        checked[split] = count
    return checked


def _check_size(size: Sequence[int], *, minimum: tuple[int, int]) -> tuple[int, int]:
    if (
        not isinstance(size, Sequence)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    ):
        raise ValueError(f"size must be (height, width) as two ints, got {size!r}")
    height, width = size
    if height < minimum[0] or width < minimum[1]:
        raise ValueError(
            f"size must be at least {minimum[0]}x{minimum[1]} (height x width) so that "
            f"every class keeps a visible area, got {height}x{width}"
        )
    return height, width


def _check_seed(seed: int) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _refuse_foreign_files(folders: list[Path], planned: set[Path]) -> None:
    """Overwriting our own files is fine (regeneration is deterministic), but other
    files in the split folders would silently join the dataset, and deleting them could
    destroy real data: stop instead."""
    for folder in folders:
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{folder} exists and is not a directory")
        foreign = [p for p in sorted(folder.rglob("*")) if p.is_file() and p not in planned]
        if foreign:
            raise ValueError(
                f"{folder} already holds {len(foreign)} file(s) this generator would not "
                f"write (e.g. {foreign[0]}); remove them or choose another root"
            )


def _image_rng(seed: int, dataset: str, split: str, index: int) -> np.random.Generator:
    # Names hash to stable integers (no PYTHONHASHSEED dependence); index -1 is the
    # split-level stream.
    codes = [sum((i + 1) * ord(c) for i, c in enumerate(name)) for name in (dataset, split)]
    return np.random.default_rng([seed, *codes, index + 1])


# ---------------------------------------------------------------- Cityscapes scenes


def _cityscapes_scene(
    rng: np.random.Generator, *, height: int, width: int
) -> list[tuple[str, Polygon]]:
    """A street scene as Cityscapes polygons, back to front (later ones overwrite).

    Depth rows keep the 19 classes apart, so none is hidden: the skyline and the
    wall / fence in front of it; poles with lights and signs on the far sidewalk, whose
    tops stand above everything on the road; big vehicles (train, bus, truck) on the far
    lane, packed into the x-gaps left by wall and fence; cars, two-wheelers with riders
    and pedestrians on the near lane, below the far lane's wheels; the ego vehicle's
    hood last, with unlabeled corners beside it.
    """
    H, W = height, width

    def y(fraction: float) -> int:
        return round(fraction * H)

    def random_width(low: float, high: float) -> int:
        return max(3, round(rng.uniform(low, high) * W))

    objects: list[tuple[str, Polygon]] = []
    horizon = y(rng.uniform(0.46, 0.52))  # foot of the skyline
    curb = horizon + y(rng.uniform(0.07, 0.09))  # far sidewalk ends, road begins
    far_lane = curb + y(rng.uniform(0.07, 0.09))  # wheels of the big vehicles
    hood = H - 1 - y(rng.uniform(0.08, 0.10))  # top of the ego vehicle's hood
    near_lane = hood - y(0.03)

    objects.append(("sky", _rect(0, 0, W - 1, horizon)))
    segments = int(rng.integers(4, 7))
    edges = _partition(rng, W, segments, minimum=0.08)
    first = int(rng.integers(2))
    for k in range(segments):
        x0, x1 = edges[k], edges[k + 1] - 1
        if (k + first) % 2 == 0:
            top = y(rng.uniform(0.08, 0.28))
            objects.append(("building", _rect(x0, top, x1, horizon)))
        else:
            bumps = np.linspace(x0, x1, int(rng.integers(3, 6)))
            tops = np.clip(
                y(rng.uniform(0.14, 0.26)) + rng.integers(-y(0.05), y(0.05) + 1, len(bumps)),
                y(0.06),
                horizon,
            )
            objects.append(
                (
                    "vegetation",
                    [(x0, horizon), *zip(map(round, bumps), tops.tolist()), (x1, horizon)],
                )
            )

    # The far sidewalk with a grass verge, the road, and near the camera a sidewalk on
    # one side and a verge on the other (the far verge may sit behind a vehicle).
    objects.append(("sidewalk", _rect(0, horizon, W - 1, curb)))
    verge_w = random_width(0.2, 0.35)
    verge_x = int(rng.integers(0, W - verge_w))
    slant = y(0.03)
    objects.append(
        (
            "terrain",
            [
                (verge_x, horizon),
                (verge_x + verge_w, horizon),
                (verge_x + verge_w - slant, curb - 2),
                (verge_x + slant, curb - 2),
            ],
        )
    )
    objects.append(("road", _rect(0, curb, W - 1, hood + 1)))
    near_sides = ["sidewalk", "terrain"]
    if rng.random() < 0.5:
        near_sides.reverse()
    for side, label in enumerate(near_sides):
        top = curb + y(rng.uniform(0.06, 0.1))
        wedge = [(0, top), (random_width(0.2, 0.3), hood + 1), (0, hood + 1)]
        objects.append((label, _mirror(wedge, W) if side else wedge))

    # Wall and fence stand at the horizon, big vehicles on the far lane: one x-packing
    # so that no vehicle covers them.
    far_row = {
        "wall": random_width(0.12, 0.16),
        "fence": random_width(0.12, 0.16),
        "train": random_width(0.2, 0.24),
        "bus": random_width(0.16, 0.19),
        "truck": random_width(0.13, 0.16),
    }
    far_x = dict(zip(far_row, _pack(rng, list(far_row.values()), W)))
    for label in ("wall", "fence"):
        top = horizon - y(rng.uniform(0.1, 0.14))
        x0 = far_x[label]
        objects.append((label, _rect(x0, top, x0 + far_row[label] - 1, horizon)))

    pole_w = max(2, round(0.028 * W))
    furniture = {
        "traffic light": max(pole_w + 2, round(0.045 * W)),
        "traffic sign": max(pole_w + 2, round(0.065 * W)),
        "dynamic": random_width(0.035, 0.05),
    }
    furniture_x = dict(zip(furniture, _pack(rng, list(furniture.values()), W)))
    for label in ("traffic light", "traffic sign"):
        x0, box_w = furniture_x[label], furniture[label]
        top = y(rng.uniform(0.14, 0.22))
        pole_x = x0 + (box_w - pole_w) // 2
        objects.append(("pole", _rect(pole_x, top, pole_x + pole_w - 1, curb - 1)))
        box_h = (
            y(rng.uniform(0.11, 0.14)) if label == "traffic light" else y(rng.uniform(0.09, 0.12))
        )
        box = _sign_shape(rng, x0, top, box_w, box_h) if label == "traffic sign" else None
        objects.append((label, box or _rect(x0, top, x0 + box_w - 1, top + box_h)))
    x0 = furniture_x["dynamic"]
    objects.append(("dynamic", _rect(x0, curb - y(0.07), x0 + furniture["dynamic"] - 1, curb - 1)))

    heights = {"train": (0.22, 0.26), "bus": (0.2, 0.24), "truck": (0.17, 0.21)}
    for label, (low, high) in heights.items():
        obj_h = y(rng.uniform(low, high))
        objects.append((label, _vehicle(rng, label, far_x[label], far_row[label], far_lane, obj_h)))

    near_row: list[tuple[str, int]] = [
        ("car", random_width(0.13, 0.17)) for _ in range(int(rng.integers(1, 3)))
    ]
    near_row += [("motorcycle", random_width(0.07, 0.09)), ("bicycle", random_width(0.07, 0.09))]
    near_row += [("person", random_width(0.035, 0.045)) for _ in range(int(rng.integers(1, 3)))]
    for (label, obj_w), x0 in zip(near_row, _pack(rng, [obj_w for _, obj_w in near_row], W)):
        bottom = near_lane - int(rng.integers(0, y(0.02) + 1))
        if label == "person":
            objects.append((label, _figure(x0, obj_w, bottom, y(rng.uniform(0.18, 0.22)))))
        elif label == "car":
            objects.append(
                (label, _vehicle(rng, label, x0, obj_w, bottom, y(rng.uniform(0.15, 0.19))))
            )
        else:
            wheels_h = y(rng.uniform(0.1, 0.12))
            objects.append((label, _vehicle(rng, label, x0, obj_w, bottom, wheels_h)))
            # Every motorcycle carries a rider (the one rider every image needs);
            # bicycles sometimes.
            if label == "motorcycle" or rng.random() < 0.5:
                rider_w = max(3, round(0.035 * W))
                rider_x = x0 + (obj_w - rider_w) // 2
                seat = bottom - wheels_h // 2
                objects.append(
                    ("rider", _figure(rider_x, rider_w, seat, y(rng.uniform(0.12, 0.15))))
                )

    side = y(0.04)
    objects.append(
        (
            "ego vehicle",
            [
                (0, H - 1),
                (0, H - 1 - side),
                (round(0.22 * W), hood),
                (round(0.78 * W), hood),
                (W - 1, H - 1 - side),
                (W - 1, H - 1),
            ],
        )
    )
    return objects


def _draw_cityscapes(
    rng: np.random.Generator, *, height: int, width: int
) -> tuple[list[tuple[str, Polygon]], str, np.ndarray]:
    """A scene, its polygons json and its label ids, redrawn in the rare case that a
    class ends up hidden."""
    for _ in range(_MAX_SCENE_TRIES):
        objects = _cityscapes_scene(rng, height=height, width=width)
        json_text = json.dumps(
            {
                "imgHeight": height,
                "imgWidth": width,
                "objects": [
                    {"label": label, "polygon": [list(point) for point in polygon]}
                    for label, polygon in objects
                ],
            },
            indent=4,
        )
        label_ids = render_polygons(json_text, encoding="ids")
        if _all_classes_visible(label_ids):
            return objects, json_text, label_ids
    raise RuntimeError(
        f"could not draw a {height}x{width} scene showing all 19 classes "
        f"in {_MAX_SCENE_TRIES} tries"
    )


def _all_classes_visible(label_ids: np.ndarray) -> bool:
    counts = np.bincount(label_ids_to_train_ids(label_ids).ravel(), minlength=256)[:19]
    return bool(counts.min() >= max(8, _MIN_CLASS_FRACTION * label_ids.size))


def _cityscapes_image(
    rng: np.random.Generator, objects: list[tuple[str, Polygon]], *, label_ids: np.ndarray
) -> np.ndarray:
    from cityscapesscripts.helpers.labels import name2label

    height, width = label_ids.shape
    region_map = _rasterize([polygon for _, polygon in objects], height, width)
    region_ids = np.array([0, *(name2label[label].id for label, _ in objects)], dtype=np.uint8)
    if not np.array_equal(region_ids[region_map], label_ids):
        # The colours must sit exactly on the labels; both are drawn by PIL's polygon
        # fill in the same order, so this only fails if cityscapesscripts changes.
        raise RuntimeError("the image's regions do not match cityscapesscripts' label image")
    base = np.array(
        [name2label["unlabeled"].color, *(name2label[label].color for label, _ in objects)],
        dtype=np.float64,
    )
    textures = [("speckle", 0.2, 0)] + [
        _CITYSCAPES_TEXTURES.get(label, ("speckle", 0.2, 0)) for label, _ in objects
    ]
    return _colorize(rng, region_map, base=base, textures=textures)


def _vehicle(
    rng: np.random.Generator, label: str, x0: int, width: int, bottom: int, height: int
) -> Polygon:
    """A side view: car with a cabin, truck with box and cab, bus with chamfered
    corners, train with a sloped front, two-wheelers as low wedges."""
    x1 = x0 + width - 1

    def at(fx: float, fy: float) -> Point:
        return round(x0 + fx * (width - 1)), round(bottom - fy * height)

    shapes: dict[str, list[tuple[float, float]]] = {
        "car": [(0, 0), (0, 0.55), (0.2, 1), (0.75, 1), (1, 0.55), (1, 0)],
        "truck": [(0, 0), (0, 1), (0.7, 1), (0.72, 0.65), (1, 0.55), (1, 0)],
        "bus": [(0, 0), (0, 0.9), (0.04, 1), (0.96, 1), (1, 0.9), (1, 0)],
        "train": [(0, 0), (0, 1), (0.85, 1), (1, 0.6), (1, 0)],
        "motorcycle": [(0, 0), (0.1, 0.6), (0.35, 1), (0.8, 0.8), (1, 0.4), (1, 0)],
        "bicycle": [(0, 0.3), (0.3, 1), (0.7, 1), (1, 0.3), (0.8, 0), (0.2, 0)],
    }
    polygon = [at(fx, fy) for fx, fy in shapes[label]]
    if rng.random() < 0.5:  # facing left or right
        polygon = [(x0 + x1 - px, py) for px, py in polygon]
    return polygon


def _figure(x0: int, width: int, bottom: int, height: int) -> Polygon:
    """A standing person or a rider: body and a narrower head."""
    x1 = x0 + width - 1
    head_x0, head_x1 = x0 + width // 4, x1 - width // 4
    neck = bottom - round(0.82 * height)
    return [
        (x0, bottom),
        (x0, neck),
        (head_x0, neck),
        (head_x0, bottom - height),
        (head_x1, bottom - height),
        (head_x1, neck),
        (x1, neck),
        (x1, bottom),
    ]


def _sign_shape(
    rng: np.random.Generator, x0: int, top: int, width: int, height: int
) -> Polygon | None:
    """A traffic sign's face: triangle, diamond, octagon, or None for a rectangle."""
    kind = int(rng.integers(4))
    x1, bottom = x0 + width - 1, top + height
    cx, cy = (x0 + x1) // 2, (top + bottom) // 2
    if kind == 0:
        return [(x0, top), (x1, top), (cx, bottom)]
    if kind == 1:
        return [(cx, top), (x1, cy), (cx, bottom), (x0, cy)]
    if kind == 2:
        dx, dy = width // 3, height // 3
        return [
            (x0 + dx, top),
            (x1 - dx, top),
            (x1, top + dy),
            (x1, bottom - dy),
            (x1 - dx, bottom),
            (x0 + dx, bottom),
            (x0, bottom - dy),
            (x0, top + dy),
        ]
    return None


# ---------------------------------------------------------------- ADE20K scenes


def _ade20k_scene(
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
        (upper, _rect(0, 0, W - 1, upper_end)),
        (lower, _rect(0, lower_start, W - 1, H - 1)),
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
        regions.append((label, _ade20k_shape(label, x0, y0, obj_w, obj_h)))
    return regions


def _ade20k_shape(label: int, x0: int, y0: int, width: int, height: int) -> Polygon:
    x1, y1 = x0 + width - 1, y0 + height - 1
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    kind = label % 4
    if kind == 0:
        return _rect(x0, y0, x1, y1)
    if kind == 1:  # ellipse
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        return [
            (round(cx + (x1 - x0) / 2 * math.cos(a)), round(cy + (y1 - y0) / 2 * math.sin(a)))
            for a in angles
        ]
    if kind == 2:  # triangle
        return [(round(cx), y0), (x1, y1), (x0, y1)]
    return [(round(cx), y0), (x1, round(cy)), (round(cx), y1), (x0, round(cy))]  # diamond


def _ade20k_texture(label: int) -> tuple[str, float, int]:
    kind = ("flat", "hstripes", "vstripes")[(label // 4) % 3]
    return kind, 0.0 if kind == "flat" else 0.15, 4 + label % 5


# ---------------------------------------------------------------- drawing helpers


def _rect(x0: int, y0: int, x1: int, y1: int) -> Polygon:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _mirror(polygon: Polygon, width: int) -> Polygon:
    return [(width - 1 - x, y) for x, y in polygon]


def _partition(rng: np.random.Generator, length: int, parts: int, *, minimum: float) -> list[int]:
    """``parts + 1`` increasing edges from 0 to ``length``, each part at least
    ``minimum * length`` long."""
    shares = minimum + (1 - minimum * parts) * rng.dirichlet(np.ones(parts))
    return [0, *np.cumsum(shares * length).round().astype(int).tolist()]


def _pack(rng: np.random.Generator, widths: list[int], length: int) -> list[int]:
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


def _rasterize(polygons: list[Polygon], height: int, width: int) -> np.ndarray:
    """Index map: 0 where nothing is drawn, k where polygon k - 1 is the last one
    drawn, with the same PIL polygon fill cityscapesscripts uses."""
    canvas = Image.new("I", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for k, polygon in enumerate(polygons, start=1):
        draw.polygon(polygon, fill=k)
    return np.asarray(canvas, dtype=np.int64)


def _colorize(
    rng: np.random.Generator,
    region_map: np.ndarray,
    *,
    base: np.ndarray,
    textures: list[tuple[str, float, int]],
) -> np.ndarray:
    """RGB uint8: each region's base colour times a brightness jitter and its class
    texture, plus pixel noise."""
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
