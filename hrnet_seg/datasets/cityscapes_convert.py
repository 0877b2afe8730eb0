"""Cityscapes annotations -> the ``*_gtFine_labelTrainIds.png`` maps mmseg trains on.

The official download ships polygons (``*_gtFine_polygons.json``) and label images in
the 34 official ids; mmseg's ``CityscapesDataset`` reads the 19 train ids (255 =
ignored). :func:`convert_cityscapes` renders them with cityscapesscripts' own
``json2labelImg(..., "trainIds")``, as mmseg's ``tools/dataset_converters/cityscapes.py``
does, so the result is byte for byte what the official scripts give.

:func:`render_polygons` is the one place that rasterises a polygons json; the built-in
data generator (:mod:`hrnet_seg.datasets.synthetic`) writes its label images with it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from hrnet_seg.errors import UserError

POLYGONS_SUFFIX = "_gtFine_polygons.json"
LABEL_IDS_SUFFIX = "_gtFine_labelIds.png"
TRAIN_IDS_SUFFIX = "_gtFine_labelTrainIds.png"

#: ``render_polygons`` encodings: cityscapesscripts' three, plus its instance image.
ENCODINGS = ("ids", "trainIds", "color", "instanceIds")

CITYSCAPES_SOURCE = (
    "Cityscapes comes from the official download at https://www.cityscapes-dataset.com "
    "(registration required): unpack gtFine_trainvaltest.zip and "
    "leftImg8bit_trainvaltest.zip into the root, so that it holds gtFine/ and leftImg8bit/."
)
DEMO_DATA_HINT = (
    "For a small built-in set instead: "
    "python tools/make_demo_data.py --dataset cityscapes --out data/demo/cityscapes"
)


class CityscapesScriptsMissing(UserError, ModuleNotFoundError):
    """cityscapesscripts, which renders the official label images, is not installed."""


class CityscapesDataNotFound(UserError, FileNotFoundError):
    """The root holds no Cityscapes annotations to convert."""


def require_cityscapesscripts() -> None:
    """Fail with the install command when cityscapesscripts is missing.

    It is an optional dependency (the ``[cityscapes]`` extra): only the Cityscapes
    conversion and the generator need it.
    """
    try:
        import cityscapesscripts.helpers.labels  # noqa: F401
        import cityscapesscripts.preparation.json2labelImg  # noqa: F401
    except ImportError as exc:
        raise CityscapesScriptsMissing(
            f"cityscapesscripts is needed to render Cityscapes label images ({exc}). "
            "Install it with `pip install cityscapesscripts` "
            "(or the project's extra: `pip install -e '.[cityscapes]'`)."
        ) from exc


def render_polygons(json_text: str, *, encoding: str) -> np.ndarray:
    """Rasterise a ``*_gtFine_polygons.json`` text exactly as cityscapesscripts does.

    ``encoding`` is ``"ids"``, ``"trainIds"`` (uint8, H x W), ``"color"`` (uint8,
    H x W x 4, RGBA like the official ``*_gtFine_color.png``) or ``"instanceIds"``
    (uint16, ``id * 1000 + k`` for the k-th instance of a class with instances).

    ``json2instanceImg`` itself cannot save its result with Pillow >= 11 (no PNG writer
    for mode ``I``), so the instance image is returned as an array and saved as 16-bit
    PNG by the caller, which is the official files' format.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    require_cityscapesscripts()
    from cityscapesscripts.helpers.annotation import Annotation
    from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
    from cityscapesscripts.preparation.json2labelImg import createLabelImage

    annotation = Annotation()
    annotation.fromJsonText(json_text)
    if encoding == "instanceIds":
        instances = np.asarray(createInstanceImage(annotation, "ids"), dtype=np.int64)
        if instances.min() < 0 or instances.max() > np.iinfo(np.uint16).max:
            raise ValueError("instance ids out of the uint16 range of the official files")
        return instances.astype(np.uint16)
    return np.asarray(createLabelImage(annotation, encoding), dtype=np.uint8)


def label_ids_to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Map official label ids to train ids (255 where the class is not evaluated)."""
    require_cityscapesscripts()
    from cityscapesscripts.helpers.labels import id2label

    label_ids = np.asarray(label_ids)
    if label_ids.dtype != np.uint8:
        raise ValueError(f"label ids must be a uint8 image, got {label_ids.dtype}")
    lookup = np.full(256, 255, dtype=np.uint8)
    for label_id, label in id2label.items():
        # 'license plate' has id -1 and trainId -1: it is never drawn, and -1 means
        # "ignore" like 255.
        if 0 <= label_id < 256 and 0 <= label.trainId < 255:
            lookup[label_id] = label.trainId
    return lookup[label_ids]


@dataclass(frozen=True)
class ConversionTask:
    """One annotation to convert: its source file and the trainIds image to write."""

    source: str
    kind: str  # "polygons" or "labelIds"
    target: str


def find_conversion_tasks(
    root: str | os.PathLike, *, gt_dir: str = "gtFine"
) -> list[ConversionTask]:
    """Every annotation under ``root/gt_dir``: the polygons json where there is one,
    else the ``*_gtFine_labelIds.png`` (some redistributions drop the json files)."""
    root = Path(root)
    gt_root = root / gt_dir
    if not gt_root.is_dir():
        raise CityscapesDataNotFound(
            _missing_data_message(root, gt_dir, f"{gt_root} does not exist")
        )
    stems: dict[Path, ConversionTask] = {}
    for path in sorted(gt_root.rglob(f"*{LABEL_IDS_SUFFIX}")):
        stem = Path(str(path)[: -len(LABEL_IDS_SUFFIX)])
        stems[stem] = ConversionTask(str(path), "labelIds", f"{stem}{TRAIN_IDS_SUFFIX}")
    for path in sorted(gt_root.rglob(f"*{POLYGONS_SUFFIX}")):
        stem = Path(str(path)[: -len(POLYGONS_SUFFIX)])
        stems[stem] = ConversionTask(str(path), "polygons", f"{stem}{TRAIN_IDS_SUFFIX}")
    if not stems:
        raise CityscapesDataNotFound(
            _missing_data_message(
                root, gt_dir, f"{gt_root} holds no *{POLYGONS_SUFFIX} nor *{LABEL_IDS_SUFFIX}"
            )
        )
    return [stems[stem] for stem in sorted(stems)]


def convert_one(task: ConversionTask) -> str:
    """Write one trainIds image; module-level so that worker processes can pickle it."""
    if task.kind == "polygons":
        from cityscapesscripts.preparation.json2labelImg import json2labelImg

        json2labelImg(task.source, task.target, "trainIds")
    elif task.kind == "labelIds":
        label_ids = np.asarray(Image.open(task.source))
        Image.fromarray(label_ids_to_train_ids(label_ids)).save(task.target)
    else:
        raise ValueError(f"unknown conversion source kind {task.kind!r}")
    return task.target


@dataclass(frozen=True)
class ConversionSummary:
    """What :func:`convert_cityscapes` wrote."""

    from_polygons: int
    from_label_ids: int
    split_lists: tuple[str, ...]


def convert_cityscapes(
    root: str | os.PathLike,
    *,
    nproc: int = 1,
    out_dir: str | os.PathLike | None = None,
    gt_dir: str = "gtFine",
) -> ConversionSummary:
    """Write ``*_gtFine_labelTrainIds.png`` next to every annotation under
    ``root/gt_dir``, with a progress bar, then ``{split}.txt`` lists of the image stems
    (``<city>/<city>_<seq>_<frame>``) into ``out_dir`` (default ``root``), like mmseg's
    converter."""
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise ValueError(f"nproc must be a positive int, got {nproc!r}")
    root = Path(root)
    if not root.is_dir():
        raise CityscapesDataNotFound(
            _missing_data_message(root, gt_dir, f"{root} is not a directory")
        )
    require_cityscapesscripts()
    tasks = find_conversion_tasks(root, gt_dir=gt_dir)

    from mmengine.utils import track_parallel_progress, track_progress

    if nproc > 1:
        track_parallel_progress(convert_one, tasks, nproc)
    else:
        track_progress(convert_one, tasks)

    out_dir = Path(out_dir) if out_dir is not None else root
    out_dir.mkdir(parents=True, exist_ok=True)
    gt_root = root / gt_dir
    by_split: dict[str, list[str]] = {}
    for task in tasks:
        split, *rest = Path(task.target).relative_to(gt_root).parts
        if rest:  # annotations outside a split folder belong to no list
            by_split.setdefault(split, []).append(str(Path(*rest))[: -len(TRAIN_IDS_SUFFIX)])
    written = []
    for split, stems in sorted(by_split.items()):
        path = out_dir / f"{split}.txt"
        path.write_text("".join(f"{stem}\n" for stem in stems))
        written.append(str(path))
    return ConversionSummary(
        from_polygons=sum(task.kind == "polygons" for task in tasks),
        from_label_ids=sum(task.kind == "labelIds" for task in tasks),
        split_lists=tuple(written),
    )


def _missing_data_message(root: Path, gt_dir: str, problem: str) -> str:
    return (
        f"no Cityscapes annotations to convert under {root} ({problem}).\n"
        f"Expected layout: {root}/{gt_dir}/<split>/<city>/*{POLYGONS_SUFFIX} "
        f"(or *{LABEL_IDS_SUFFIX}), next to {root}/leftImg8bit/<split>/<city>/"
        "*_leftImg8bit.png.\n"
        f"{CITYSCAPES_SOURCE}\n"
        f"{DEMO_DATA_HINT}"
    )
