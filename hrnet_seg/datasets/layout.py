"""Checking a dataset split on disk before training, and saying in plain words what is
wrong: no dataset at the root, an empty split, images without labels or labels without
images, an image and its label of different sizes. The same check runs in the tools'
preflight and when a dataset is built; sizes only then (see :func:`check_sizes`)."""

from __future__ import annotations

import os

from ..errors import UserError
from .formats import CITYSCAPES, FORMATS, DatasetFormat


class DatasetLayoutError(UserError, FileNotFoundError):
    """The dataset on disk does not have the expected layout or content."""


POINTERS = (
    "Point to the data with --data-root DIR, or set HRNET_SEG_DATA to the folder that holds "
    + " and ".join(f"{f.data_subdir}/" for f in FORMATS.values())
    + ", or set data_root in the config.\n"
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


def _size(path: str) -> tuple[int, int] | None:
    """(width, height) from the file's header; None when unreadable (the dataset names
    corrupt files when it loads them)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.size
    except Exception:  # PIL raises OSError, SyntaxError, ValueError on broken headers
        return None


def check_sizes(fmt: DatasetFormat, pairs: list[tuple[str, str]]) -> None:
    """Each label has its image's size. mmseg would stack mismatched crops at iteration 1
    (``torch.stack`` error), fail at the first validation, or silently rescale a
    same-aspect label. Reads only the PNG / JPEG headers: 0.2-0.3 ms per 2048x1024 PNG on
    this project's machine, so ~2 s for Cityscapes' 3475 train+val pairs, once per start."""
    mismatched = []
    for image, label in pairs:
        image_size, label_size = _size(image), _size(label)
        if image_size and label_size and image_size != label_size:
            mismatched.append(
                f"{image} is {image_size[0]}x{image_size[1]}, its label {label} is "
                f"{label_size[0]}x{label_size[1]}"
            )
    if mismatched:
        raise DatasetLayoutError(
            f"{fmt.name}: {len(mismatched)} image(s) and label(s) differ in size (width x "
            f"height):\n  "
            + "\n  ".join(mismatched[:5])
            + (f"\n  ... ({len(mismatched) - 5} more)" if len(mismatched) > 5 else "")
            + "\nA label must have its image's size: restore the pair from the original "
            "download (Cityscapes: regenerate labels with tools/convert_cityscapes.py)."
        )


def check_split(
    *,
    fmt: DatasetFormat,
    data_root: str,
    img_dir: str,
    seg_map_dir: str,
    img_suffix: str | None = None,
    seg_map_suffix: str | None = None,
    sizes: bool = False,
) -> int:
    """Check one split; return its number of image/label pairs.

    ``img_dir`` and ``seg_map_dir`` are relative to ``data_root`` (mmseg's
    ``data_prefix``); ``sizes`` also compares every pair's sizes (:func:`check_sizes`).
    Raises :class:`DatasetLayoutError`.
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
    if sizes:
        check_sizes(fmt, [(images[k], labels[k]) for k in sorted(images)])
    return len(images)
