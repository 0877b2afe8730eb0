"""Sliding-window inference: the segmentor's ``test_cfg`` for ``mode='slide'``, one rule
for ``tools/test.py --mode slide`` and the benchmark's slide timing."""

from __future__ import annotations

from collections.abc import Sequence

from mmengine.config import ConfigDict


def slide_test_cfg(crop_size: Sequence[int]) -> ConfigDict:
    """mmseg's ``test_cfg`` for sliding windows of the training crop ``(h, w)``, each
    window ``stride = floor(2/3 * crop)`` from the last (neighbours overlap by a third).

    This is the rule of mmseg 1.2.2's own slide configs (``mmseg/.mim/configs``): crop
    480 -> stride 320 (HRNet on Pascal Context), 512 -> 341, 640 -> 426, 768 -> 512,
    256 -> 170. A few configs there deviate: the 769x769 Cityscapes ones use 513 (2/3
    rounded up), SegFormer's 1024x1024 Cityscapes one 768 (3/4), Segmenter's 512 -> 480
    and 640 -> 608. A stride is at least 1 (a crop of 1 pixel).

    A ``ConfigDict``: mmseg's ``slide_inference`` reads ``test_cfg.stride`` as an
    attribute, so a plain dict set on a built segmentor fails there.

    Example:
        >>> slide_test_cfg((512, 1024))
        {'mode': 'slide', 'crop_size': (512, 1024), 'stride': (341, 682)}
    """
    crop = tuple(crop_size)
    if len(crop) != 2 or not all(isinstance(c, int) and c > 0 for c in crop):
        raise ValueError(f"crop_size: expected two positive integers (h, w), got {crop_size!r}")
    stride = tuple(max(1, 2 * c // 3) for c in crop)
    return ConfigDict(mode="slide", crop_size=crop, stride=stride)
