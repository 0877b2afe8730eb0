"""Counting multiply-adds the way the HRNet papers report "GFLOPs".

The official HRNet code counts convolution multiply-adds and divides by 1024^3; for
HRNetV2-W48 + FCN at 1024x2048 that is the 696.2 "GFLOPs" of the HRNet-Semantic-Segmentation
README, i.e. 696.2 x 1024^3 = 747.5e9 MACs. Normalisation, activations, resizing and the
softmax are not counted, as in the papers.
"""

from __future__ import annotations

import torch
import torch.nn as nn


def count_conv_macs(model: nn.Module, forward) -> int:
    """Multiply-adds of every ``nn.Conv2d`` / ``nn.Linear`` call during ``forward()``."""
    total = 0

    def conv_hook(module: nn.Conv2d, args, output) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * (module.in_channels // module.groups) * kh * kw

    def linear_hook(module: nn.Linear, args, output) -> None:
        nonlocal total
        total += output.numel() * module.in_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    try:
        with torch.no_grad():
            forward()
    finally:
        for handle in handles:
            handle.remove()
    return total


def official_gflops(macs: int) -> float:
    """The HRNet papers' unit: multiply-adds / 1024^3."""
    return macs / 1024**3


def _whole_image(model: nn.Module, size: tuple[int, int]):
    device = next(model.parameters()).device
    image = torch.zeros(1, 3, *size, device=device)
    metas = [dict(img_shape=tuple(size), ori_shape=tuple(size))]
    return lambda: model.encode_decode(image, metas)


def segmentor_macs(model: nn.Module, size: tuple[int, int]) -> int:
    """Multiply-adds of one whole-image inference (backbone and every head) at ``size``."""
    return count_conv_macs(model, _whole_image(model, size))


def segmentor_macs_all_ops(model: nn.Module, size: tuple[int, int]) -> int:
    """Multiply-adds of one whole-image inference counted by torch's ``FlopCounterMode``:
    every matrix product (convolutions, linear layers and attention's ``q @ k`` and
    ``attn @ v``, which the papers' convention above leaves out: SegFormer's are
    counted here only), as FLOPs / 2."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        _whole_image(model, size)()
    return counter.get_total_flops() // 2
