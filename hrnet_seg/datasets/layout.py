"""Checking a dataset split on disk before training, and saying in plain words what is
wrong: no dataset at the root, an empty split, images without labels or labels without
images. The same check runs in the tools' preflight and when a dataset is built."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import UserError


class DatasetLayoutError(UserError, FileNotFoundError):
    """The dataset on disk does not have the expected layout or content."""


@dataclass(frozen=True)
class DatasetFormat:
    """How one benchmark lays out its files, and how a user gets them."""

    name: str
    img_suffix: str
    seg_map_suffix: str
    layout: str
    how_to_get: str


CITYSCAPES = DatasetFormat(
    name="Cityscapes",
    img_suffix="_leftImg8bit.png",
    seg_map_suffix="_gtFine_labelTrainIds.png",
    layout=(
        "  {root}/\n"
        "    leftImg8bit/{{train,val}}/<city>/<city>_<seq>_<frame>_leftImg8bit.png\n"
        "    gtFine/{{train,val}}/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png"
    ),
    how_to_get=(
        "Get it: download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip from "
        "the Cityscapes website (registration required), unzip both into the root, then "
        "make the trainId labels: python tools/convert_cityscapes.py {root} --nproc 8"
    ),
)
ADE20K = DatasetFormat(
    name="ADE20K",
    img_suffix=".jpg",
    seg_map_suffix=".png",
    layout=(
        "  {root}/\n"
        "    images/{{training,validation}}/ADE_train_00000001.jpg ...\n"
        "    annotations/{{training,validation}}/ADE_train_00000001.png ..."
    ),
    how_to_get=(
        "Get it: download ADEChallengeData2016.zip (the MIT Scene Parsing benchmark) and "
        "unzip it so that {root} is the ADEChallengeData2016 folder."
    ),
)
FORMATS = {"Cityscapes": CITYSCAPES, "ADE20K": ADE20K}

POINTERS = (
    "Point to the data with --data-root DIR, or set HRNET_SEG_DATA to the folder that holds "
    "cityscapes/ and ade/ADEChallengeData2016/, or set data_root in the config.\n"
    "No data at hand? `make demo` trains on a small built-in Cityscapes-format dataset "
    "(tools/make_demo_data.py makes one anywhere)."
)


def _files(directory: str, suffix: str) -> dict[str, str]:
    """Relative stem -> path of every file under ``directory`` ending in ``suffix``."""
    found = {}
    for dirpath, _, names in os.walk(directory, followlinks=True):
        for name in names:
            if name.endswith(suffix):
                path = os.path.join(dirpath, name)
                found[os.path.relpath(path, directory)[: -len(suffix)]] = path
    return found


def _first(items: list[str], n: int = 5) -> str:
    return ", ".join(items[:n]) + (f", ... ({len(items) - n} more)" if len(items) > n else "")


def check_split(
    *,
    fmt: DatasetFormat,
    data_root: str,
    img_dir: str,
    seg_map_dir: str,
    img_suffix: str | None = None,
    seg_map_suffix: str | None = None,
) -> int:
    """Check one split; return its number of image/label pairs.

    ``img_dir`` and ``seg_map_dir`` are relative to ``data_root`` (mmseg's
    ``data_prefix``). Raises :class:`DatasetLayoutError`.
    """
    img_suffix = img_suffix or fmt.img_suffix
    seg_map_suffix = seg_map_suffix or fmt.seg_map_suffix
    root = data_root or "."
    images_at = os.path.join(root, img_dir)
    labels_at = os.path.join(root, seg_map_dir)

    def fail(problem: str, *, show_layout: bool = True, hint: str = "") -> DatasetLayoutError:
        parts = [f"{fmt.name}: {problem}"]
        if show_layout:
            parts.append("Expected layout:\n" + fmt.layout.format(root=root.rstrip("/")))
            parts.append(fmt.how_to_get.format(root=root.rstrip("/")))
            parts.append(POINTERS)
        if hint:
            parts.append(hint)
        return DatasetLayoutError("\n".join(parts))

    if not os.path.isdir(root):
        raise fail(f"no dataset at {root!r}: the folder does not exist.")
    if not os.path.isdir(images_at):
        raise fail(f"no dataset at {root!r}: {img_dir} is missing.")
    images = _files(images_at, img_suffix)
    if not images:
        raise fail(f"the split {img_dir} at {root!r} is empty: no *{img_suffix} files.")
    if not os.path.isdir(labels_at):
        hint = (
            f"Create the labels: python tools/convert_cityscapes.py {root} --nproc 8"
            if fmt is CITYSCAPES
            else ""
        )
        raise fail(f"labels missing at {root!r}: {seg_map_dir} does not exist.", hint=hint)
    labels = _files(labels_at, seg_map_suffix)
    if not labels:
        hint = (
            "Cityscapes ships *_gtFine_polygons.json / *_labelIds.png; create the trainId "
            f"labels with: python tools/convert_cityscapes.py {root} --nproc 8"
            if fmt is CITYSCAPES
            else ""
        )
        raise fail(
            f"the split {seg_map_dir} at {root!r} has no *{seg_map_suffix} labels.",
            show_layout=fmt is not CITYSCAPES,
            hint=hint,
        )
    unlabeled = sorted(images[k] for k in images.keys() - labels.keys())
    orphans = sorted(labels[k] for k in labels.keys() - images.keys())
    problems = []
    if unlabeled:
        problems.append(
            f"{len(unlabeled)} image(s) without a label (*{seg_map_suffix} in {seg_map_dir}): "
            f"{_first(unlabeled)}"
        )
    if orphans:
        problems.append(
            f"{len(orphans)} label(s) without an image (*{img_suffix} in {img_dir}): "
            f"{_first(orphans)}"
        )
    if problems:
        raise fail(
            f"images and labels do not pair up at {root!r}:\n  " + "\n  ".join(problems),
            show_layout=False,
            hint="Restore the missing files, or remove the unpaired ones from the split.",
        )
    return len(images)
