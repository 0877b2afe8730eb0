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
``tests/datasets/synthetic_digests.json`` pins the output of a set of arguments.

The root gets a marker file (:mod:`hrnet_seg.datasets.identity`), so that every run
evaluated on it is recorded as built-in data and never ranked against the real dataset's
figures.

Modules: :mod:`.cityscapes` and :mod:`.ade20k` write the datasets, :mod:`.street` draws
the Cityscapes street scene, :mod:`.drawing` holds the shapes, placement and painting
both use, and :mod:`.generator` the argument checks and per-image random streams.
"""

from .ade20k import ADE20K_SIZE, ADE20K_SPLITS, make_ade20k
from .cityscapes import CITYSCAPES_SIZE, CITYSCAPES_SPLITS, make_cityscapes

__all__ = [
    "ADE20K_SIZE",
    "ADE20K_SPLITS",
    "CITYSCAPES_SIZE",
    "CITYSCAPES_SPLITS",
    "make_ade20k",
    "make_cityscapes",
]
