"""Comparing a checkpoint's state dict with a model's, and saying what differs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from ..errors import UserError


class CheckpointMismatchError(UserError, ValueError):
    """The checkpoint's weights do not fit the model's architecture."""


def first(names: list[str], n: int = 5) -> str:
    """``a, b, c, d, e, ... (N more)``."""
    shown = ", ".join(names[:n])
    return shown + (f", ... ({len(names) - n} more)" if len(names) > n else "")


@dataclass
class StateDictDiff:
    """How a checkpoint's tensors line up with a model's."""

    matched: dict[str, torch.Tensor] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @classmethod
    def compare(
        cls, own: Mapping[str, torch.Tensor], theirs: Mapping[str, torch.Tensor]
    ) -> StateDictDiff:
        # num_batches_tracked is a counter, not a weight, and checkpoints written
        # before PyTorch 0.4.1 (the official HRNet ImageNet files) have none.
        counter = "num_batches_tracked"
        missing = sorted(k for k in own if k not in theirs and not k.endswith(counter))
        return cls(
            matched={k: v for k, v in theirs.items() if k in own and v.shape == own[k].shape},
            missing=missing,
            unexpected=sorted(k for k in theirs if k not in own),
            mismatched=[
                f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
                for k, v in theirs.items()
                if k in own and v.shape != own[k].shape
            ],
        )

    def fits(self, *, strict: bool) -> bool:
        if self.mismatched or not self.matched:
            return False
        return not (strict and (self.missing or self.unexpected))

    def error(self, header: str, hint: str) -> CheckpointMismatchError:
        lines = [header]
        if self.mismatched:
            lines.append(f"  shape mismatch ({len(self.mismatched)}): {first(self.mismatched)}")
        if self.missing:
            lines.append(f"  missing in checkpoint ({len(self.missing)}): {first(self.missing)}")
        if self.unexpected:
            lines.append(
                f"  unexpected in checkpoint ({len(self.unexpected)}): {first(self.unexpected)}"
            )
        if not self.matched:
            lines.append("  no tensor of the checkpoint matches the model by name and shape")
        lines.append(f"  {hint}")
        return CheckpointMismatchError("\n".join(lines))
