"""A sweep: configs x a grid of ``--cfg-options`` values, expanded into named runs.

From a YAML file::

    name: lr_crop                       # the sweep's name (W&B group, folder)
    configs: [configs/hrnet_w18_cityscapes.py, configs/hrnet_w48_cityscapes.py]
    cfg_options: {train_cfg.max_iters: 40000}      # the same for every run
    grid:                                          # every combination
      optim_wrapper.optimizer.lr: [0.01, 0.005]
      crop_size: [[512, 1024], [768, 768]]
    max_parallel: 4                                # the job array's %N
    tags: [ablation]

or from the command line: ``--grid optim_wrapper.optimizer.lr=0.01,0.005`` (values
parsed as Python literals, as ``--cfg-options`` does).
"""

from __future__ import annotations

import ast
import itertools
import os.path as osp
import re
from dataclasses import dataclass, field

from ..errors import UserError

_UNSAFE = re.compile(r"[^A-Za-z0-9_.=+-]+")


class SweepSpecError(UserError, ValueError):
    """A sweep file or --grid flag that cannot be expanded; the message names it."""


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """One run of a sweep (or the single run of a training submission)."""

    name: str
    config: str
    cfg_options: dict
    params: dict = field(default_factory=dict)  # the swept values only

    def tags(self) -> list[str]:
        return [osp.splitext(osp.basename(self.config))[0]] + [
            f"{_short(k)}={_fmt(v)}" for k, v in self.params.items()
        ]


@dataclass(frozen=True, kw_only=True)
class SweepSpec:
    name: str
    configs: tuple[str, ...]
    grid: dict
    cfg_options: dict = field(default_factory=dict)
    max_parallel: int | None = None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or _UNSAFE.search(self.name):
            raise SweepSpecError(
                f"sweep name {self.name!r}: use letters, digits and _.=+- only (it names "
                "a folder and the W&B group)"
            )
        if not self.configs:
            raise SweepSpecError("a sweep needs at least one config")
        for key, values in self.grid.items():
            if not isinstance(values, list | tuple) or not values:
                raise SweepSpecError(
                    f"grid key {key!r}: expected a non-empty list of values, got {values!r}"
                )
        if self.max_parallel is not None and (
            not isinstance(self.max_parallel, int) or self.max_parallel < 1
        ):
            raise SweepSpecError(f"max_parallel must be an integer >= 1, got {self.max_parallel!r}")

    def runs(self) -> list[RunSpec]:
        """Every config x every grid combination, in a stable order, uniquely named."""
        keys = list(self.grid)
        runs = []
        for config in self.configs:
            stem = osp.splitext(osp.basename(config))[0]
            for values in itertools.product(*(self.grid[k] for k in keys)):
                params = dict(zip(keys, values, strict=True))
                suffix = "-".join(f"{_short(k)}{_fmt(v)}" for k, v in params.items())
                name = _UNSAFE.sub("_", f"{stem}-{suffix}" if suffix else stem)
                runs.append(
                    RunSpec(
                        name=name,
                        config=config,
                        cfg_options={**self.cfg_options, **params},
                        params=params,
                    )
                )
        names = [r.name for r in runs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SweepSpecError(
                f"runs would share a name (and a work dir): {duplicates}; two grid keys end "
                "in the same word, or a config is listed twice"
            )
        return runs


def load_sweep_file(path: str) -> SweepSpec:
    import yaml

    from ..engine.config import is_package_config

    if not osp.isfile(path):
        raise SweepSpecError(f"{path}: no such sweep file")
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except yaml.YAMLError as exc:
        raise SweepSpecError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SweepSpecError(f"{path}: expected a mapping with name, configs, grid")
    allowed = {"name", "configs", "grid", "cfg_options", "max_parallel", "tags"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SweepSpecError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    configs = data.get("configs")
    if isinstance(configs, str):
        configs = [configs]
    base = osp.dirname(osp.abspath(path))
    resolved = []
    for config in configs or []:
        # Relative to the cwd (like the CLI) or else to the sweep file; a package-scope
        # path (mmseg::pidnet/...py) as it is.
        local = osp.exists(config) or is_package_config(config)
        candidate = config if local else osp.join(base, config)
        resolved.append(candidate)
    for key in ("grid", "cfg_options"):
        if not isinstance(data.get(key) or {}, dict):
            raise SweepSpecError(f"{path}: {key} must be a mapping of config keys to values")
    return SweepSpec(
        name=str(data.get("name") or osp.splitext(osp.basename(path))[0]),
        configs=tuple(resolved),
        grid=dict(data.get("grid") or {}),
        cfg_options=dict(data.get("cfg_options") or {}),
        max_parallel=data.get("max_parallel"),
        tags=tuple(data.get("tags") or ()),
    )


def parse_grid(items: list[str] | None) -> dict:
    """``["a.b=1,2", "c=[1,2],[3,4]"]`` -> ``{"a.b": [1, 2], "c": [[1, 2], [3, 4]]}``.

    Each value is read on its own: a Python literal, else a bare word (a backbone name,
    a path) as a string. One typo (``lr=0.001,abc``) stays one bad value, which the
    config check then names, instead of turning every value of the list into a string.
    """
    grid: dict = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        if not sep or not key or not text:
            raise SweepSpecError(f"--grid {item!r}: expected KEY=V1,V2,...")
        values = []
        for word in _split_top_level(text):
            if not word:
                raise SweepSpecError(f"--grid {item!r}: an empty value between commas")
            try:
                values.append(ast.literal_eval(word))
            except (ValueError, SyntaxError):
                values.append(word)
        grid[key] = values
    return grid


def _split_top_level(text: str) -> list[str]:
    """Split at the commas outside brackets and quotes: ``[1,2],[3,4]`` -> two values."""
    words, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            words.append(text[start:i].strip())
            start = i + 1
    words.append(text[start:].strip())
    return words


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _fmt(value) -> str:
    if isinstance(value, list | tuple):
        return "x".join(_fmt(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)
