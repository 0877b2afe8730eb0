"""mmseg 1.2.2's class-weighted cross-entropy fails on any label map with ignored pixels.

``mmseg.models.losses.cross_entropy_loss.cross_entropy`` computes the mean's
denominator with ``class_weight[cls]`` for every pixel, ignored ones (255) included, so
``CrossEntropyLoss(class_weight=...)`` stops with ``IndexError: index 255 is out of
bounds for dimension 0 with size 19`` at the first batch that has an ignored pixel or a
padded border (open-mmlab/mmsegmentation#3734, #3412; unfixed in 1.2.2, the last
release). Cityscapes labels always have them, and mmseg's own PIDNet and DDRNet
configs weight their classes: neither trains as shipped.

The replacement computes that denominator with ignored pixels weighted 0, which is
PyTorch's weighted mean (``F.cross_entropy(weight=w, ignore_index=i)``: the sum of
``w[label]`` over the pixels not ignored). Wherever mmseg's code runs (no ignored pixel)
its value is unchanged; every other case goes to mmseg's function untouched.
"""

from __future__ import annotations

import functools

import torch

# The releases with the bug; a later release is left alone.
_AFFECTED_UP_TO = (1, 2, 2)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def weighted_mean_factor(label: torch.Tensor, class_weight: torch.Tensor, ignore_index: int):
    """Sum of ``class_weight[label]`` over the pixels that are not ``ignore_index``."""
    valid = label != ignore_index
    weights = class_weight[torch.where(valid, label, torch.zeros_like(label))]
    return (weights * valid).sum()


def _fixed(original):
    @functools.wraps(original)
    def cross_entropy(pred, label, weight=None, class_weight=None, reduction="mean",
                      avg_factor=None, ignore_index=-100, avg_non_ignore=False):  # fmt: skip
        if class_weight is not None and avg_factor is None and reduction == "mean":
            avg_factor = weighted_mean_factor(label, class_weight, ignore_index)
        return original(pred, label, weight=weight, class_weight=class_weight,
                        reduction=reduction, avg_factor=avg_factor, ignore_index=ignore_index,
                        avg_non_ignore=avg_non_ignore)  # fmt: skip

    cross_entropy.hrnet_seg_fix = True
    return cross_entropy


def fix_weighted_cross_entropy() -> bool:
    """Replace mmseg's ``cross_entropy`` (what ``CrossEntropyLoss`` calls) on the
    affected releases; True when this call replaced it. ``CrossEntropyLoss`` looks the
    function up when it is built, so every loss built afterwards uses the fix."""
    import mmseg
    from mmseg.models import losses
    from mmseg.models.losses import cross_entropy_loss

    current = cross_entropy_loss.cross_entropy
    if getattr(current, "hrnet_seg_fix", False) or _version(mmseg.__version__) > _AFFECTED_UP_TO:
        return False
    fixed = _fixed(current)
    cross_entropy_loss.cross_entropy = fixed
    losses.cross_entropy = fixed
    return True
