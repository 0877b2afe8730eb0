"""What the Cityscapes and ADE20K generators share: their argument checks, the refusal
to mix generated files with foreign ones, and one random stream per image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np


def check_splits(splits: Mapping[str, int], *, allowed: tuple[str, ...]) -> dict[str, int]:
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


def check_size(size: Sequence[int], *, minimum: tuple[int, int]) -> tuple[int, int]:
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


def check_seed(seed: int) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def refuse_foreign_files(folders: list[Path], planned: set[Path]) -> None:
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


def image_rng(seed: int, dataset: str, split: str, index: int) -> np.random.Generator:
    """The random stream of one image: the same arguments always give the same image,
    whatever else is generated around it."""
    # Names hash to stable integers (no PYTHONHASHSEED dependence); index -1 is the
    # split-level stream.
    codes = [sum((i + 1) * ord(c) for i, c in enumerate(name)) for name in (dataset, split)]
    return np.random.default_rng([seed, *codes, index + 1])
