"""The built-in Cityscapes-format dataset: street scenes (:mod:`.street`) written in the
official layout, with every label image rendered from the polygons by cityscapesscripts'
own code."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
from PIL import Image

from ..cityscapes_convert import label_ids_to_train_ids, render_polygons, require_cityscapesscripts
from ..identity import write_marker
from .drawing import colorize, rasterize
from .generator import check_seed, check_size, check_splits, image_rng, refuse_foreign_files
from .street import LabeledPolygon, street_scene

CITYSCAPES_SPLITS: Mapping[str, int] = MappingProxyType({"train": 40, "val": 10})
CITYSCAPES_SIZE = (128, 256)

# The smallest size at which every class keeps a visible, stride-4-sized area.
_MIN_SIZE = (64, 128)

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

# Per class: (texture, amplitude, period in px). The texture modulates brightness, so a
# region keeps its palette hue: colour stays the strongest cue, texture and shape help
# where palette colours are close (bus / train, building / wall).
_TEXTURES = {
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
# Unlabeled pixels and the classes not evaluated.
_OTHER_TEXTURE = ("speckle", 0.2, 0)
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
    splits = check_splits(splits, allowed=tuple(_CITIES))
    height, width = check_size(size, minimum=_MIN_SIZE)
    check_seed(seed)
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
    refuse_foreign_files(
        [root / top / split for split in splits for top in ("leftImg8bit", "gtFine")],
        {path for paths in files.values() for path in paths.values()},
    )
    # Marked before the first image: even a half-written root never reads as real data.
    write_marker(root, dataset="cityscapes", splits=splits, size=(height, width), seed=seed)

    for (split, index), paths in files.items():
        rng = image_rng(seed, "cityscapes", split, index)
        objects, json_text, label_ids = _draw_scene(rng, height=height, width=width)
        rgb = _paint_image(rng, objects, label_ids=label_ids)
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


def _draw_scene(
    rng: np.random.Generator, *, height: int, width: int
) -> tuple[list[LabeledPolygon], str, np.ndarray]:
    """A scene, its polygons json and its label ids, redrawn in the rare case that a
    class ends up hidden."""
    for _ in range(_MAX_SCENE_TRIES):
        objects = street_scene(rng, height=height, width=width)
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


def _paint_image(
    rng: np.random.Generator, objects: list[LabeledPolygon], *, label_ids: np.ndarray
) -> np.ndarray:
    """The RGB image of a scene: each region in its class's palette colour and texture."""
    from cityscapesscripts.helpers.labels import name2label

    height, width = label_ids.shape
    region_map = rasterize([polygon for _, polygon in objects], height, width)
    region_ids = np.array([0, *(name2label[label].id for label, _ in objects)], dtype=np.uint8)
    if not np.array_equal(region_ids[region_map], label_ids):
        # The colours must sit exactly on the labels; both are drawn by PIL's polygon
        # fill in the same order, so this only fails if cityscapesscripts changes.
        raise RuntimeError("the image's regions do not match cityscapesscripts' label image")
    base = np.array(
        [name2label["unlabeled"].color, *(name2label[label].color for label, _ in objects)],
        dtype=np.float64,
    )
    textures = [_OTHER_TEXTURE] + [_TEXTURES.get(label, _OTHER_TEXTURE) for label, _ in objects]
    return colorize(rng, region_map, base=base, textures=textures)
