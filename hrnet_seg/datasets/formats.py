"""The benchmarks this project knows, in one list: how each lays out its files, where it
sits under ``$HRNET_SEG_DATA``, how many classes it scores, and which mmseg dataset types
read it. Every per-dataset switch (layout check, data root, prediction export,
evaluation of a prediction folder, leaderboard sections) reads :data:`FORMATS`, and a
dataset config's ``type`` maps to its format through :func:`format_of` only."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import ConfigValueError

__all__ = [
    "ADE20K",
    "CITYSCAPES",
    "DATASETS",
    "FORMATS",
    "DatasetFormat",
    "format_of",
    "require_format",
]


@dataclass(frozen=True, kw_only=True)
class DatasetFormat:
    """How one benchmark lays out its files, and how a user gets them.

    Args:
        key: the dataset's name in results, on the leaderboard and in the tools'
            ``--dataset`` flags (``cityscapes``).
        name: as people write it (``Cityscapes``).
        dataset_types: mmseg dataset types that read this layout (registered names);
            a subclass of one of them reads it too (:func:`format_of`).
        data_subdir: the dataset's folder under ``$HRNET_SEG_DATA`` (mmseg's ``data/``).
        num_classes: classes scored; train ids run 0..num_classes-1, 255 is no class.
    """

    key: str
    name: str
    dataset_types: tuple[str, ...]
    data_subdir: str
    num_classes: int
    img_suffix: str
    seg_map_suffix: str
    layout: str
    how_to_get: str


CITYSCAPES = DatasetFormat(
    key="cityscapes",
    name="Cityscapes",
    dataset_types=("CityscapesDataset", "CheckedCityscapesDataset"),
    data_subdir="cityscapes",
    num_classes=19,
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
    key="ade20k",
    name="ADE20K",
    dataset_types=("ADE20KDataset", "CheckedADE20KDataset"),
    data_subdir=os.path.join("ade", "ADEChallengeData2016"),
    num_classes=150,
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
#: Every known format by key, in the order tables list them.
FORMATS = {f.key: f for f in (CITYSCAPES, ADE20K)}
#: The keys of :data:`FORMATS` (``--dataset`` choices).
DATASETS = tuple(FORMATS)

_BY_NAME = {name.lower(): f for f in FORMATS.values() for name in (f.key, f.name, *f.dataset_types)}


def _registered_class(name: str):
    """The class mmseg's ``DATASETS`` registry holds for ``name``, or None."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS as REGISTRY

    with DefaultScope.overwrite_default_scope("mmseg"):
        return REGISTRY.get(name)


def format_of(dataset_type: str | type | None) -> DatasetFormat | None:
    """The format of a dataset config's ``type``; None when it is none of :data:`FORMATS`.

    ``type`` is a class or a name: a known key, name or dataset type (any case), else a
    name registered in mmseg's ``DATASETS``. A class reads a format when it or one of
    its bases is one of the format's ``dataset_types``: a user's subclass of
    ``CityscapesDataset`` is Cityscapes, a class that merely has "Cityscapes" in its
    name is not.
    """
    if not dataset_type:
        return None
    if isinstance(dataset_type, str):
        known = _BY_NAME.get(dataset_type.lower())
        if known is not None:
            return known
        dataset_type = _registered_class(dataset_type)
        if dataset_type is None:
            return None
    for cls in getattr(dataset_type, "__mro__", ()):
        known = _BY_NAME.get(cls.__name__.lower())
        if known is not None and cls.__name__ in known.dataset_types:
            return known
    return None


def accepted_types() -> str:
    """The dataset types of every format, for messages."""
    return "; ".join(f"{f.name}: {', '.join(f.dataset_types)}" for f in FORMATS.values())


def require_format(dataset_type: str | type | None, *, key: str, needed_for: str) -> DatasetFormat:
    """:func:`format_of`, for a step that cannot run without a format: an unknown type is a
    :class:`ConfigValueError` naming ``key`` (the config key that holds the type), what
    needed the format, and the accepted types, instead of a guess."""
    fmt = format_of(dataset_type)
    if fmt is None:
        shown = getattr(dataset_type, "__name__", dataset_type)
        raise ConfigValueError(
            f"{key} is {shown!r}, which has no known dataset format, and {needed_for} needs "
            f"one. Known types (and their subclasses): {accepted_types()}."
        )
    return fmt
