"""Where a step's time goes: ``torch.profiler`` CPU time grouped by kind of operator.

``tools/benchmark.py --profile`` profiles one training step (and one inference pass) of
each model of the run, after the warm-up, and prints one table: milliseconds per step
for convolutions, batch norm, interpolation, additions, concatenation, memory-format
copies, activations, the loss, the optimizer and the rest, ours beside mmseg's.

Each operator's *self* time is counted once (a ``conv2d`` that calls
``mkldnn_convolution`` is not counted twice), so the kinds add up to the profiled CPU
time of the step. Backward operators count with their forward kind (a
``ConvolutionBackward0`` is convolution time). Everything run inside the optimizer's
step and ``zero_grad`` counts as "optimizer", and the data preprocessor's work as
"data preprocessor", whatever the operators (``TrainStep`` marks those phases).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from torch.profiler import ProfilerActivity, profile

# Phases marked with torch.profiler.record_function by TrainStep; an operator inside one
# of these counts as the phase, not as its own kind.
PHASE_PREFIX = "phase: "
PHASE_KINDS = {"data preprocessor": "data preprocessor", "optimizer": "optimizer (SGD)"}

# First match wins: the order matters where names overlap (``add`` must not claim
# ``addmm``; a backward of an interpolation is interpolation, not "copy").
KINDS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("convolution", r"conv"),
        ("batch norm", r"batch_?norm"),
        ("interpolate", r"upsample|interpolat|grid_sampl"),
        ("loss + softmax", r"nll_?loss|softmax|cross_?entropy"),
        ("ReLU", r"relu|threshold"),
        ("add", r"^aten::add_?$|(^|: )AddBackward"),
        ("concatenate", r"^aten::cat$|(^|: )CatBackward"),
        ("memory-format copy", r"copy_|clone|contiguous|to_?copy|^aten::to$|as_strided"),
        ("allocation", r"empty|zeros|zero_|fill_|resize_"),
        ("matmul (OCR attention)", r"bmm|matmul|mm$|addmm"),
    )
)
OTHER = "other"
TABLE_ORDER = [kind for kind, _ in KINDS] + ["optimizer (SGD)", "data preprocessor", OTHER]


def kind_of(name: str) -> str:
    for kind, pattern in KINDS:
        if pattern.search(name):
            return kind
    return OTHER


@dataclass(frozen=True)
class StepProfile:
    """Self CPU time in milliseconds per operator kind, for one call of a step."""

    ms_by_kind: dict[str, float]

    @property
    def total_ms(self) -> float:
        return sum(self.ms_by_kind.values())


def _phase_of(event) -> str | None:
    node = event
    while node is not None:
        if node.name.startswith(PHASE_PREFIX):
            return node.name[len(PHASE_PREFIX) :]
        node = node.cpu_parent
    return None


def profile_step(fn: Callable[[], object], *, runs: int = 1) -> StepProfile:
    """Profile ``runs`` calls of ``fn`` (already warmed up) and return the mean self CPU
    time per call of each operator kind."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(runs):
            fn()
    totals: dict[str, float] = {}
    for event in prof.events():
        if event.name.startswith(PHASE_PREFIX):
            continue  # a marker: its children carry the time
        phase = _phase_of(event)
        kind = PHASE_KINDS.get(phase) if phase else None
        kind = kind or kind_of(event.name)
        totals[kind] = totals.get(kind, 0.0) + event.self_cpu_time_total / 1000 / runs
    return StepProfile(ms_by_kind=totals)


def profile_table(profiles: dict[str, StepProfile], *, title: str) -> str:
    """A Markdown table: one row per kind (ms and share of the step), one column pair
    per profiled model, the kinds that take no time in any model left out."""
    names = list(profiles)
    header = f"| {title} | " + " | ".join(f"{n} ms | {n} %" for n in names) + " |"
    rule = "| --- |" + " --- | --- |" * len(names)
    lines = [header, rule]
    for kind in TABLE_ORDER:
        values = [profiles[n].ms_by_kind.get(kind, 0.0) for n in names]
        if max(values) < 0.05:
            continue
        cells = []
        for name, ms in zip(names, values):
            share = 100 * ms / profiles[name].total_ms if profiles[name].total_ms else 0.0
            cells.append(f"{ms:.1f} | {share:.1f}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    totals = " | ".join(f"**{profiles[n].total_ms:.1f}** | 100" for n in names)
    lines.append(f"| **total (profiled CPU time)** | {totals} |")
    return "\n".join(lines)
