"""Residual blocks of HRNet's branches: BasicBlock and Bottleneck (He et al., 2016).

Parameter names follow the official HRNet code (``conv1``/``bn1``/...,
``downsample.0``/``downsample.1``) for every norm type, so that official, timm and
mmseg checkpoints load without renaming.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer


def make_norm(norm_cfg: dict, num_features: int) -> nn.Module:
    """Build a norm layer (BN / SyncBN / GN) through mmcv's registry."""
    return build_norm_layer(norm_cfg, num_features)[1]


def dw_pw(in_channels: int, out_channels: int, *, norm_cfg: dict, stride: int) -> list:
    """Depthwise 3x3 + norm, pointwise 1x1 + norm: the depthwise-separable replacement of
    HRNet's 3x3 convs that Lite-HRNet (transitions and fusion) and HRFormer (fusion) use;
    plain Sequential indices, as both official codes."""
    return [
        nn.Conv2d(in_channels, in_channels, 3, stride, 1, groups=in_channels, bias=False),
        make_norm(norm_cfg, in_channels),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        make_norm(norm_cfg, out_channels),
    ]


def separable_fuse_layers(channels, *, norm_cfg: dict) -> nn.ModuleList:
    """The fusion layers of Lite-HRNet and HRFormer (both official codes build the same):
    branch j into branch i by a 1x1 conv + norm + nearest upsampling (j > i), or by
    ``i - j`` stride-2 depthwise-separable steps with a ReLU between them (j < i); ``None``
    on the diagonal. HRNet's own fusion (:class:`HighResolutionModule`) downsamples with
    full 3x3 convs instead; the summing of the terms stays in each module's forward."""
    rows = []
    for i in range(len(channels)):
        row: list[nn.Module | None] = []
        for j in range(len(channels)):
            if j > i:
                row.append(
                    nn.Sequential(
                        nn.Conv2d(channels[j], channels[i], 1, bias=False),
                        make_norm(norm_cfg, channels[i]),
                        nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"),
                    )
                )
            elif j == i:
                row.append(None)
            else:
                steps = []
                for k in range(i - j):
                    last = k == i - j - 1
                    out = channels[i] if last else channels[j]
                    layers = dw_pw(channels[j], out, norm_cfg=norm_cfg, stride=2)
                    steps.append(nn.Sequential(*layers, *([] if last else [nn.ReLU(True)])))
                row.append(nn.Sequential(*steps))
        rows.append(nn.ModuleList(row))
    return nn.ModuleList(rows)


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class _ResidualBlock(nn.Module):
    expansion: int = 1

    def __init__(self, *, with_cp: bool) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.relu = nn.ReLU(inplace=True)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def inner(x: torch.Tensor) -> torch.Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            out = self._residual(x)
            # In place, as mmseg and the official code: the residual is a fresh norm
            # output that nothing else reads (norm backward needs its input, not its
            # output), and a new tensor per block costs an allocation the size of the
            # activation (page faults on CPU), a measurable share of the step.
            out += identity
            return out

        if self.with_cp and x.requires_grad:
            # Activation checkpointing: recompute the block in backward to save memory.
            out = cp.checkpoint(inner, x, use_reentrant=False)
        else:
            out = inner(x)
        return self.relu(out)


class BasicBlock(_ResidualBlock):
    """Two 3x3 convs; the block of HRNet's parallel branches."""

    expansion = 1

    def __init__(
        self,
        *,
        in_channels: int,
        channels: int,
        norm_cfg: dict,
        stride: int = 1,
        downsample: nn.Module | None = None,
        with_cp: bool = False,
    ) -> None:
        super().__init__(with_cp=with_cp)
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn1 = make_norm(norm_cfg, channels)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = make_norm(norm_cfg, channels)
        self.downsample = downsample

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))


class Bottleneck(_ResidualBlock):
    """1x1 - 3x3 - 1x1 with 4x expansion; the block of stage 1 (``layer1``)."""

    expansion = 4

    def __init__(
        self,
        *,
        in_channels: int,
        channels: int,
        norm_cfg: dict,
        stride: int = 1,
        downsample: nn.Module | None = None,
        with_cp: bool = False,
    ) -> None:
        super().__init__(with_cp=with_cp)
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = make_norm(norm_cfg, channels)
        self.conv2 = conv3x3(channels, channels, stride)
        self.bn2 = make_norm(norm_cfg, channels)
        self.conv3 = nn.Conv2d(channels, channels * self.expansion, 1, bias=False)
        self.bn3 = make_norm(norm_cfg, channels * self.expansion)
        self.downsample = downsample

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


BLOCKS: dict[str, type[_ResidualBlock]] = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}


def make_blocks(
    block: type[_ResidualBlock],
    *,
    in_channels: int,
    channels: int,
    num_blocks: int,
    norm_cfg: dict,
    with_cp: bool,
    stride: int = 1,
) -> nn.Sequential:
    """``num_blocks`` blocks; the first projects the input when its shape changes."""
    out_channels = channels * block.expansion
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            make_norm(norm_cfg, out_channels),
        )
    layers = [
        block(
            in_channels=in_channels,
            channels=channels,
            norm_cfg=norm_cfg,
            stride=stride,
            downsample=downsample,
            with_cp=with_cp,
        )
    ]
    for _ in range(1, num_blocks):
        layers.append(
            block(in_channels=out_channels, channels=channels, norm_cfg=norm_cfg, with_cp=with_cp)
        )
    return nn.Sequential(*layers)
