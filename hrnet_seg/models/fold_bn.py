"""Inference without batch norm: fold each eval-mode BN into the convolution before it.

At inference a BatchNorm is a per-channel affine map, y = (x - mean) / sqrt(var + eps) *
gamma + beta, and the convolution before it is linear, so the two are one convolution
with scaled weights and a bias. On CPU the BN layers are a sixth of HRNet's inference
time at 512x1024 (``tools/benchmark.py --profile``); folded, that time is gone and the
outputs agree to float32 rounding (the products are rounded once instead of twice).

Only pairs whose order is certain are folded: consecutive ``Conv2d`` -> BN children of an
``nn.Sequential`` (the fusion and transition layers, downsample projections), the
``convK`` -> ``bnK`` pairs of our residual blocks and stem (their ``forward`` applies
``bnK`` to ``convK``'s output and nothing else reads it), and mmcv ``ConvModule`` with
the order conv -> norm (the heads). Training needs the BN statistics: a model in train
mode is refused.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .blocks import _ResidualBlock
from .hrnet import HighResolutionNet

# Modules of ours whose forward is bnK(convK(...)) for each pair present.
_PAIRED = (_ResidualBlock, HighResolutionNet)
_PAIRS = (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"))


class FoldBatchNormError(ValueError):
    pass


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    return (
        type(conv) is nn.Conv2d
        and isinstance(bn, _BatchNorm)
        and bn.track_running_stats
        and bn.running_mean is not None
        and bn.num_features == conv.out_channels
    )


def _fold(conv: nn.Conv2d, bn: _BatchNorm) -> nn.Conv2d:
    channels_last = conv.weight.is_contiguous(memory_format=torch.channels_last)
    fused = fuse_conv_bn_eval(conv, bn)
    if channels_last and fused.weight.dim() == 4:
        fused = fused.to(memory_format=torch.channels_last)
    return fused


def fold_batch_norms(model: nn.Module) -> int:
    """Fold every foldable conv -> BN pair of ``model`` in place (the BN becomes
    ``nn.Identity``); returns how many were folded. ``model`` must be in eval mode."""
    if model.training:
        raise FoldBatchNormError(
            "fold_batch_norms needs a model in eval mode (call model.eval() first): "
            "training uses the batch statistics that folding bakes in"
        )
    folded = 0
    for module in list(model.modules()):
        if isinstance(module, nn.Sequential):
            children = list(module._modules.items())
            for (name, conv), (bn_name, bn) in zip(children, children[1:]):
                if _foldable(conv, bn):
                    module._modules[name] = _fold(conv, bn)
                    module._modules[bn_name] = nn.Identity()
                    folded += 1
        elif isinstance(module, _PAIRED):
            for conv_name, bn_name in _PAIRS:
                conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
                if conv is not None and bn is not None and _foldable(conv, bn):
                    setattr(module, conv_name, _fold(conv, bn))
                    setattr(module, bn_name, nn.Identity())
                    folded += 1
        elif isinstance(module, ConvModule) and module.with_norm:
            norm = module.norm
            if tuple(module.order[:2]) == ("conv", "norm") and _foldable(module.conv, norm):
                module.conv = _fold(module.conv, norm)
                setattr(module, module.norm_name, nn.Identity())
                folded += 1
    return folded
