"""Outputs of the real official HRNet-Semantic-Segmentation code, kept as small fixtures.

The official code cannot live in this project, so ``fixtures/make_official_fixtures.py``
runs it from a checkout of each branch (HRNet-OCR, master, pytorch-v1.1) and stores, per
case, what is needed to check our models against it without it:

* the official model's state-dict layout (key -> shape), from the official model itself;
* weights made by :func:`official_random_state` from that layout and a seed (every key
  drawn from its own ``RandomState([seed, crc32(key)])``, so the recipe does not depend on
  module order and gives non-trivial BN statistics);
* inputs made by :func:`random_input` from a seed;
* a summary of each official output (:func:`summarize`): its shape, largest magnitude,
  the values of every channel at 32 random pixels, and 4 projections onto seeded
  Gaussian tensors of the output's shape.

numpy's legacy ``RandomState`` stream is frozen, so the same weights and inputs come out
on every machine and numpy version; nothing depends on torch's generators.
"""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NUM_PROBES = 32
NUM_PROJECTIONS = 4
#: The acceptance tolerance: relative to the official output's largest magnitude.
RELATIVE_TOLERANCE = 1e-4


def official_random_state(layout: dict[str, list[int]], seed: int) -> dict[str, torch.Tensor]:
    """Weights for a model with this ``{key: shape}`` layout, in the scale of
    ``tests/conftest.randomize``: O(1) activations through 100+ layers."""
    state = {}
    for key, shape in layout.items():
        rng = np.random.RandomState([seed, zlib.crc32(key.encode())])
        suffix = key.rsplit(".", 1)[-1]
        if suffix == "num_batches_tracked":
            state[key] = torch.zeros((), dtype=torch.int64)
            continue
        if suffix == "weight" and len(shape) == 4:  # conv: unit gain
            value = rng.standard_normal(shape) / math.sqrt(math.prod(shape[1:]))
        elif suffix == "weight" and len(shape) == 2:  # linear: unit gain
            value = rng.standard_normal(shape) / math.sqrt(shape[1])
        elif suffix == "relative_position_bias_table":  # attention logits' bias, O(1)
            value = rng.standard_normal(shape)
        elif suffix == "weight":  # norm scale
            value = rng.random_sample(shape) * 0.5 + 0.5
        elif suffix in ("bias", "running_mean"):
            value = rng.standard_normal(shape) * 0.1
        elif suffix == "running_var":
            value = rng.random_sample(shape) + 0.5
        else:
            raise ValueError(f"no recipe for {key!r}")
        state[key] = torch.from_numpy(value.astype(np.float32))
    return state


def random_input(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """A normalised image batch."""
    return torch.from_numpy(np.random.RandomState(seed).standard_normal(shape).astype(np.float32))


def _probe_positions(shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState([seed, 1])
    return rng.randint(0, shape[-2], NUM_PROBES), rng.randint(0, shape[-1], NUM_PROBES)


def _projections(shape: tuple[int, ...], seed: int):
    for k in range(NUM_PROJECTIONS):
        yield np.random.RandomState([seed, 2, k]).standard_normal(shape)


def summarize(output: torch.Tensor, seed: int) -> dict[str, np.ndarray]:
    """What a fixture keeps of one output (N, C, H, W)."""
    values = output.detach().double().numpy()
    ys, xs = _probe_positions(values.shape, seed)
    return dict(
        shape=np.array(values.shape),
        max_abs=np.array(np.abs(values).max()),
        probes=values[:, :, ys, xs].astype(np.float32),
        projections=np.array([(values * r).sum() for r in _projections(values.shape, seed)]),
    )


def assert_matches(
    output: torch.Tensor,
    summary: dict[str, np.ndarray],
    seed: int,
    what: str,
    *,
    slack: float = 0.0,
    tolerance: float = RELATIVE_TOLERANCE,
):
    """``output`` equals the summarised official output to ``tolerance`` (by default
    ``RELATIVE_TOLERANCE``) of its largest magnitude, plus ``slack`` (an absolute
    allowance for float32 rounding that the caller measured).

    Probes: every value within ``tol * max|official|``. Projections: if every element
    is within that bound, the difference of a projection onto a Gaussian tensor drawn
    independently of the outputs is Gaussian with standard deviation at most
    ``tol * max * sqrt(N)``; 6 of those fail by chance with probability 2e-9. A wrong
    resampling or head moves it by orders of magnitude more.
    """
    values = output.detach().double().numpy()
    assert tuple(values.shape) == tuple(summary["shape"]), what
    scale = float(summary["max_abs"])
    assert scale > 0.5, f"{what}: the reference is too small for a relative check"
    bound = tolerance * scale + slack
    ys, xs = _probe_positions(values.shape, seed)
    error = np.abs(values[:, :, ys, xs] - summary["probes"]).max()
    assert error <= bound, f"{what}: probes differ by {error:.3g} > {bound:.3g}"
    for k, r in enumerate(_projections(values.shape, seed)):
        diff = abs((values * r).sum() - summary["projections"][k])
        limit = 6 * bound * math.sqrt(values.size)
        assert diff <= limit, f"{what}: projection {k} differs by {diff:.4g} > {limit:.4g}"


def save_fixture(path: Path, manifest: dict, arrays: dict[str, np.ndarray]) -> None:
    np.savez_compressed(path, manifest=np.array(json.dumps(manifest, sort_keys=True)), **arrays)


def load_fixture(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "manifest"}
        return json.loads(str(data["manifest"])), arrays
