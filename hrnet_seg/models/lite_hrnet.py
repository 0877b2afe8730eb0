"""Lite-HRNet (Yu et al., "Lite-HRNet: A Lightweight High-Resolution Network", CVPR 2021),
registered into mmseg's ``MODELS`` as ``LiteHighResolutionNet``.

HRNet's layout with ShuffleNet's blocks: a ShuffleNet-V2-style stem to stride 4, then
three stages of 2, 3 and 4 parallel branches (strides 4 to 32), each a chain of
:class:`LiteHRModule`. A module runs its branches, then fuses every branch into every
output branch by summation, as HRNet does (paper Sec. 3). The branches are either
*naive* (ShuffleNet V2 units, paper Sec. 3.1) or *lite* (conditional channel weighting,
the 1x1 convs of the shuffle unit replaced by cross-resolution and spatial weights,
paper Sec. 3.2 and Fig. 1). An iterative head (paper Sec. 3.3: from the lowest
resolution up, add the upsampled coarser output, then a depthwise-separable conv) ends
the network; here every one of its four outputs is returned, so that FCN and OCR heads
can read all resolutions (the official pose code keeps only the stride-4 one).

The network is the official code's (HRNet/Lite-HRNet ``models/backbones/litehrnet.py``,
also mmpose's ``LiteHRNet``) module for module, with its parameter names, so its
checkpoints load unchanged: ``stem.*``, ``transitionK.*``, ``stageK.M.layers.*``,
``stageK.M.fuse_layers.I.J.*``, ``head_layer.projects.*`` (K from 0, as there).
Where the official arithmetic is unusual it is kept, and said so (see
:meth:`LiteHRModule.forward`): its checkpoints were trained with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.logging import MMLogger, print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from .blocks import dw_pw as _dw_pw
from .blocks import separable_fuse_layers
from .pretrained import load_backbone_weights, require_pretrained_file

#: Branch kinds (the official ``module_type``): ShuffleNet V2 units or channel weighting.
MODULE_TYPES = ("NAIVE", "LITE")
_NORM_TYPES = ("BN", "SyncBN", "GN")


@dataclass(frozen=True)
class LiteHRNetArch:
    """One Lite-HRNet: its branch kind, depth and widths (the official ``extra``).

    Stage ``k`` (0, 1, 2) has ``k + 2`` branches of widths ``num_channels[: k + 2]``
    and ``num_modules[k]`` modules of ``num_blocks`` blocks per branch.
    """

    module_type: str
    num_modules: tuple[int, int, int]
    num_channels: tuple[int, int, int, int]
    num_blocks: int = 2
    reduce_ratio: int = 8  # of the cross-resolution weighting; NAIVE has none
    stem_channels: int = 32  # the official stem_channels and out_channels (32, 32 in all)
    stem_expand_ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.module_type not in MODULE_TYPES:
            raise ValueError(
                f"LiteHRNetArch module_type: expected one of {MODULE_TYPES}, "
                f"got {self.module_type!r}"
            )
        for name, value, length in (
            ("num_modules", self.num_modules, 3),
            ("num_channels", self.num_channels, 4),
        ):
            if (
                not isinstance(value, tuple)
                or len(value) != length
                or not all(type(v) is int and v > 0 for v in value)
            ):
                raise ValueError(
                    f"LiteHRNetArch {name}: expected a tuple of {length} positive ints, "
                    f"got {value!r}"
                )
        if self.num_blocks < 1 or self.reduce_ratio < 1:
            raise ValueError(
                "LiteHRNetArch: num_blocks and reduce_ratio must be >= 1, got "
                f"{self.num_blocks}, {self.reduce_ratio}"
            )
        # Every branch and the stem are split in two halves (shuffle units, channel
        # weighting, the stem's two paths).
        odd = [c for c in (*self.num_channels, self.stem_channels) if c % 2]
        if odd:
            raise ValueError(f"LiteHRNetArch: channel counts must be even, got {odd}")
        if self.module_type == "LITE":
            for k in range(3):
                # The weightings squeeze sum(C_i / 2) by reduce_ratio and each half by 4.
                halves = [c // 2 for c in self.stage_channels(k)]
                if sum(halves) // self.reduce_ratio < 1 or min(halves) < 4:
                    raise ValueError(
                        f"LiteHRNetArch: with reduce_ratio={self.reduce_ratio} and "
                        f"num_channels={self.num_channels} a channel weighting has no "
                        "channels left: branch halves need >= 4 channels and their sum "
                        ">= reduce_ratio"
                    )

    def stage_channels(self, stage: int) -> tuple[int, ...]:
        return self.num_channels[: stage + 2]

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Widths of the four branches of the last stage (strides 4, 8, 16, 32)."""
        return self.num_channels


#: The official models (HRNet/Lite-HRNet ``configs/top_down/*``): the names of its README.
LITE_HRNET_ARCHS: dict[str, LiteHRNetArch] = {
    "naive-18": LiteHRNetArch(
        module_type="NAIVE", num_modules=(2, 4, 2), num_channels=(30, 60, 120, 240)
    ),
    "wider-naive-18": LiteHRNetArch(
        module_type="NAIVE", num_modules=(2, 4, 2), num_channels=(40, 80, 160, 320)
    ),
    "18": LiteHRNetArch(module_type="LITE", num_modules=(2, 4, 2), num_channels=(40, 80, 160, 320)),
    "30": LiteHRNetArch(module_type="LITE", num_modules=(3, 8, 3), num_channels=(40, 80, 160, 320)),
}


def resolve_lite_arch(arch: str | LiteHRNetArch | Mapping) -> LiteHRNetArch:
    """A preset name (``'18'``, ``'Lite-HRNet-18'``, ``'naive-18'``, ...) or the fields of
    :class:`LiteHRNetArch` as a dict."""
    if isinstance(arch, LiteHRNetArch):
        return arch
    if isinstance(arch, str):
        key = arch.lower().replace("_", "-").removeprefix("lite-hrnet-").removeprefix("litehrnet-")
        if key not in LITE_HRNET_ARCHS:
            raise ValueError(
                f"Unknown Lite-HRNet arch {arch!r}: expected one of {sorted(LITE_HRNET_ARCHS)} "
                "or a dict of LiteHRNetArch fields"
            )
        return LITE_HRNET_ARCHS[key]
    if isinstance(arch, Mapping):
        fields = dict(arch)
        for name in ("num_modules", "num_channels"):
            if isinstance(fields.get(name), list):
                fields[name] = tuple(fields[name])
        try:
            return LiteHRNetArch(**fields)
        except TypeError as exc:
            raise ValueError(f"Lite-HRNet arch dict: {exc}") from None
    raise TypeError(f"Lite-HRNet arch must be a preset name or a dict, got {type(arch).__name__}")


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle: interleave the channels of ``groups`` groups."""
    n, c, h, w = x.shape
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


def _conv(in_channels, out_channels, kernel_size, *, norm_cfg, act, stride=1, groups=1):
    """Conv (+ norm) (+ activation) with mmcv's ``conv`` / ``bn`` names, as the official code."""
    return ConvModule(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        groups=groups,
        norm_cfg=norm_cfg,
        act_cfg=None if act is None else dict(type=act),
    )


class SpatialWeighting(nn.Module):
    """Squeeze-and-excitation on one branch (paper Eq. 5, the ``H_s`` weights)."""

    def __init__(self, *, channels: int, ratio: int = 4) -> None:
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = _conv(channels, channels // ratio, 1, norm_cfg=None, act="ReLU")
        self.conv2 = _conv(channels // ratio, channels, 1, norm_cfg=None, act="Sigmoid")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv2(self.conv1(self.global_avgpool(x)))


class CrossResolutionWeighting(nn.Module):
    """Weights for every branch computed from all branches (paper Eq. 4, ``H``): pool each
    branch to the lowest resolution, two 1x1 convs over the concatenation, then scale
    each branch by its nearest-upsampled share."""

    def __init__(self, *, channels: tuple[int, ...], ratio: int, norm_cfg: dict) -> None:
        super().__init__()
        self.channels = channels
        total = sum(channels)
        self.conv1 = _conv(total, total // ratio, 1, norm_cfg=norm_cfg, act="ReLU")
        self.conv2 = _conv(total // ratio, total, 1, norm_cfg=norm_cfg, act="Sigmoid")

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        size = x[-1].shape[-2:]
        pooled = [F.adaptive_avg_pool2d(s, size) for s in x[:-1]] + [x[-1]]
        weights = self.conv2(self.conv1(torch.cat(pooled, dim=1)))
        return [
            s * F.interpolate(w, size=s.shape[-2:], mode="nearest")
            for s, w in zip(x, torch.split(weights, self.channels, dim=1))
        ]


class ConditionalChannelWeighting(nn.Module):
    """Lite-HRNet's block (paper Fig. 1b): half of each branch's channels pass through;
    the other half is cross-resolution weighted, depthwise-convolved and spatially
    weighted; the halves are concatenated and shuffled."""

    def __init__(
        self, *, in_channels: tuple[int, ...], reduce_ratio: int, norm_cfg: dict, with_cp: bool
    ) -> None:
        super().__init__()
        self.with_cp = with_cp
        halves = tuple(c // 2 for c in in_channels)
        self.cross_resolution_weighting = CrossResolutionWeighting(
            channels=halves, ratio=reduce_ratio, norm_cfg=norm_cfg
        )
        self.depthwise_convs = nn.ModuleList(
            _conv(c, c, 3, groups=c, norm_cfg=norm_cfg, act=None) for c in halves
        )
        self.spatial_weighting = nn.ModuleList(SpatialWeighting(channels=c) for c in halves)

    def _inner(self, *x: torch.Tensor) -> list[torch.Tensor]:
        kept, weighted = zip(*(s.chunk(2, dim=1) for s in x))
        weighted = self.cross_resolution_weighting(list(weighted))
        weighted = [dw(s) for s, dw in zip(weighted, self.depthwise_convs)]
        weighted = [sw(s) for s, sw in zip(weighted, self.spatial_weighting)]
        return [channel_shuffle(torch.cat(p, dim=1), 2) for p in zip(kept, weighted)]

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.with_cp and any(s.requires_grad for s in x):
            return list(cp.checkpoint(self._inner, *x, use_reentrant=False))
        return self._inner(*x)


class ShuffleUnit(nn.Module):
    """ShuffleNet V2's stride-1 unit (the naive Lite-HRNet's block, paper Fig. 1a): half
    the channels pass through, the other half goes 1x1 - depthwise 3x3 - 1x1; concatenate,
    shuffle. (The official class also has a stride-2 form; no Lite-HRNet uses it.)"""

    def __init__(self, *, channels: int, norm_cfg: dict, with_cp: bool) -> None:
        super().__init__()
        self.with_cp = with_cp
        half = channels // 2
        self.branch2 = nn.Sequential(
            _conv(half, half, 1, norm_cfg=norm_cfg, act="ReLU"),
            _conv(half, half, 3, groups=half, norm_cfg=norm_cfg, act=None),
            _conv(half, half, 1, norm_cfg=norm_cfg, act="ReLU"),
        )

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((x1, self.branch2(x2)), dim=1), 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner, x, use_reentrant=False)
        return self._inner(x)


class Stem(nn.Module):
    """A stride-2 3x3 conv, then a ShuffleNet-V2-style stride-2 unit: stride 4 in all."""

    def __init__(
        self, *, in_channels: int, channels: int, expand_ratio: float, norm_cfg: dict
    ) -> None:
        super().__init__()
        self.out_channels = channels
        half = channels // 2
        mid = int(round(channels * expand_ratio))
        self.conv1 = _conv(in_channels, channels, 3, stride=2, norm_cfg=norm_cfg, act="ReLU")
        self.branch1 = nn.Sequential(
            _conv(half, half, 3, stride=2, groups=half, norm_cfg=norm_cfg, act=None),
            _conv(half, channels - half, 1, norm_cfg=norm_cfg, act="ReLU"),
        )
        self.expand_conv = _conv(half, mid, 1, norm_cfg=norm_cfg, act="ReLU")
        self.depthwise_conv = _conv(mid, mid, 3, stride=2, groups=mid, norm_cfg=norm_cfg, act=None)
        self.linear_conv = _conv(mid, half, 1, norm_cfg=norm_cfg, act="ReLU")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = self.conv1(x).chunk(2, dim=1)
        x2 = self.linear_conv(self.depthwise_conv(self.expand_conv(x2)))
        return channel_shuffle(torch.cat((self.branch1(x1), x2), dim=1), 2)


class IterativeHead(nn.Module):
    """From the lowest resolution up: add the previous (coarser) output, bilinearly
    upsampled with ``align_corners=True`` as the official code, then a depthwise-separable
    conv to the next branch's width (paper Sec. 3.3). Output widths, stride 4 first:
    ``(C0, C0, C1, C2)``."""

    def __init__(self, *, in_channels: tuple[int, ...], norm_cfg: dict) -> None:
        super().__init__()
        coarse_first = in_channels[::-1]
        outs = (*coarse_first[1:], coarse_first[-1])
        self.projects = nn.ModuleList(
            DepthwiseSeparableConvModule(
                c,
                out,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=dict(type="ReLU"),
                dw_act_cfg=None,
                pw_act_cfg=dict(type="ReLU"),
            )
            for c, out in zip(coarse_first, outs)
        )
        self.out_channels = outs[::-1]

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        y: list[torch.Tensor] = []
        for s, project in zip(x[::-1], self.projects):
            if y:
                s = s + F.interpolate(y[-1], size=s.shape[-2:], mode="bilinear", align_corners=True)
            y.append(project(s))
        return y[::-1]


class LiteHRModule(nn.Module):
    """Parallel branches (``NAIVE``: shuffle units per branch; ``LITE``: channel
    weighting across all branches) followed by HRNet's all-to-all fusion.

    The fusion's terms, for output branch ``i`` and input branch ``j``, are HRNet's with
    depthwise-separable convs (paper Sec. 3): ``j > i``: 1x1 conv + norm, then
    *nearest* upsampling by ``2**(j-i)``; ``j < i``: ``i - j`` stride-2 depthwise 3x3 +
    norm + pointwise 1x1 + norm steps, ReLU between them; ``j == i``: identity.
    """

    def __init__(
        self,
        *,
        module_type: str,
        num_blocks: int,
        in_channels: tuple[int, ...],
        reduce_ratio: int,
        norm_cfg: dict,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        if module_type not in MODULE_TYPES:
            raise ValueError(f"LiteHRModule module_type: expected one of {MODULE_TYPES}")
        if len(in_channels) < 2:
            raise ValueError("LiteHRModule: every Lite-HRNet stage has >= 2 branches")
        self.in_channels = tuple(in_channels)
        self.num_branches = len(in_channels)
        if module_type == "LITE":
            self.layers = nn.Sequential(
                *(
                    ConditionalChannelWeighting(
                        in_channels=self.in_channels,
                        reduce_ratio=reduce_ratio,
                        norm_cfg=norm_cfg,
                        with_cp=with_cp,
                    )
                    for _ in range(num_blocks)
                )
            )
        else:
            self.layers = nn.ModuleList(
                nn.Sequential(
                    *(
                        ShuffleUnit(channels=c, norm_cfg=norm_cfg, with_cp=with_cp)
                        for _ in range(num_blocks)
                    )
                )
                for c in self.in_channels
            )
        self.module_type = module_type
        self.fuse_layers = self._make_fuse_layers(norm_cfg)
        self.relu = nn.ReLU()

    def _make_fuse_layers(self, norm_cfg: dict) -> nn.ModuleList:
        return separable_fuse_layers(self.in_channels, norm_cfg=norm_cfg)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.module_type == "LITE":
            out = self.layers(x)
        else:
            out = [branch(s) for branch, s in zip(self.layers, x)]
        # The official fusion, kept because its checkpoints were trained with it: it
        # starts each sum with the branch-0 term and then adds every term, branch 0's
        # included, so branch 0 counts twice; and row 0 sums in place into branch 0's
        # tensor, so the rows below read the branch-0 input as row 0's sum before ReLU
        # (mmpose keeps this too: "`y = 0` will lead to decreased accuracy").
        # Training runs the branch-0 term of rows i > 0 twice, as the official code: its
        # norm layers then update their running statistics twice per step.
        fused = []
        for i, row in enumerate(self.fuse_layers):
            first = out[0] if i == 0 else row[0](out[0])
            y = first + (row[0](out[0]) if i > 0 and self.training else first)
            for j in range(1, self.num_branches):
                if j == i:
                    y += out[j]
                elif j < i:
                    y += row[j](out[j])
                else:
                    y += self._upsampled(row[j], out[j], factor=2 ** (j - i), size=y.shape[-2:])
            if i == 0:
                out = [y, *out[1:]]
            fused.append(self.relu(y))
        return fused

    @staticmethod
    def _upsampled(
        term: nn.Sequential, x: torch.Tensor, *, factor: int, size: torch.Size
    ) -> torch.Tensor:
        """The term's 1x1 conv + norm, then its ``Upsample(scale_factor)`` where that
        lands on branch ``i``'s size (always when ``ceil(side / 4)`` is a multiple of 8,
        e.g. sides that are multiples of 32); elsewhere, where the official code stops with
        a size mismatch in the sum, a nearest resize to branch ``i``'s size."""
        y = term[1](term[0](x))
        if all(side * factor == target for side, target in zip(y.shape[-2:], size)):
            return term[2](y)
        return F.interpolate(y, size=size, mode="nearest")


def _check_norm_cfg(norm_cfg: dict) -> None:
    if norm_cfg.get("type") not in _NORM_TYPES:
        raise ValueError(
            f"LiteHighResolutionNet norm_cfg.type: expected one of {_NORM_TYPES}, "
            f"got {norm_cfg.get('type')!r}"
        )
    if norm_cfg["type"] == "GN" and "num_groups" not in norm_cfg:
        raise ValueError(
            "LiteHighResolutionNet norm_cfg: GN needs num_groups, e.g. "
            "dict(type='GN', num_groups=2, requires_grad=True)"
        )


@MODELS.register_module()
class LiteHighResolutionNet(BaseModule):
    """Lite-HRNet backbone returning all four resolutions.

    Args:
        arch: a preset of :data:`LITE_HRNET_ARCHS` (``'naive-18'``, ``'wider-naive-18'``,
            ``'18'``, ``'30'``) or a dict of :class:`LiteHRNetArch` fields.
        in_channels: input image channels.
        norm_cfg: ``BN``, ``SyncBN`` or ``GN`` (with ``num_groups``).
        norm_eval: keep BN layers in eval mode (frozen statistics) during training.
        with_cp: activation checkpointing in every block.
        with_head: end with the iterative head (the official models do); without it
            the outputs are the last stage's branches, of widths ``arch.num_channels``.
        pretrained: path of a local checkpoint (the official / mmpose ``backbone.*``
            layout, or bare backbone keys), loaded by :meth:`init_weights`. Never
            downloaded.
        pretrained_strict: fail when the checkpoint's backbone keys do not match.
        init_cfg: mmengine init config; by default the official initialisation
            (conv weights N(0, 0.001), norms 1).

    Example:
        >>> import torch
        >>> from hrnet_seg.models import LiteHighResolutionNet
        >>> model = LiteHighResolutionNet(arch='18').eval()
        >>> for out in model(torch.rand(1, 3, 64, 128)):
        ...     print(tuple(out.shape))
        (1, 40, 16, 32)
        (1, 40, 8, 16)
        (1, 80, 4, 8)
        (1, 160, 2, 4)
    """

    def __init__(
        self,
        *,
        arch: str | Mapping | LiteHRNetArch = "18",
        in_channels: int = 3,
        norm_cfg: dict | None = None,
        norm_eval: bool = False,
        with_cp: bool = False,
        with_head: bool = True,
        pretrained: str | None = None,
        pretrained_strict: bool = True,
        init_cfg: dict | list | None = None,
    ) -> None:
        norm_cfg = dict(type="BN", requires_grad=True) if norm_cfg is None else dict(norm_cfg)
        _check_norm_cfg(norm_cfg)
        if in_channels < 1:
            raise ValueError(f"LiteHighResolutionNet in_channels: expected >= 1, got {in_channels}")
        if isinstance(init_cfg, Mapping) and init_cfg.get("type") == "Pretrained":
            if pretrained is not None:
                raise ValueError(
                    "LiteHighResolutionNet: give either pretrained=PATH or "
                    "init_cfg=dict(type='Pretrained', ...), not both"
                )
            pretrained, init_cfg = init_cfg["checkpoint"], None
        if init_cfg is None:
            # The official init_weights(): normal_init(std=0.001) for convs, 1 for norms.
            init_cfg = [
                dict(type="Normal", std=0.001, layer="Conv2d"),
                dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
            ]
        super().__init__(init_cfg=init_cfg)
        self.arch = resolve_lite_arch(arch)
        self.arch_name = arch if isinstance(arch, str) else None
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.pretrained = pretrained
        self.pretrained_strict = pretrained_strict
        self.pretrained_report = None

        a = self.arch
        self.stem = Stem(
            in_channels=in_channels,
            channels=a.stem_channels,
            expand_ratio=a.stem_expand_ratio,
            norm_cfg=norm_cfg,
        )
        previous: tuple[int, ...] = (a.stem_channels,)
        for k in range(3):
            channels = a.stage_channels(k)
            self.add_module(f"transition{k}", self._make_transition(previous, channels))
            modules = [
                LiteHRModule(
                    module_type=a.module_type,
                    num_blocks=a.num_blocks,
                    in_channels=channels,
                    reduce_ratio=a.reduce_ratio,
                    norm_cfg=norm_cfg,
                    with_cp=with_cp,
                )
                for _ in range(a.num_modules[k])
            ]
            self.add_module(f"stage{k}", nn.Sequential(*modules))
            previous = channels
        self.with_head = with_head
        if with_head:
            self.head_layer = IterativeHead(in_channels=previous, norm_cfg=norm_cfg)
            self.out_channels = self.head_layer.out_channels
        else:
            self.out_channels = previous

    def _make_transition(self, pre: tuple[int, ...], cur: tuple[int, ...]) -> nn.ModuleList:
        """HRNet's transition (see :class:`HighResolutionNet`) with a depthwise-separable
        conv: adapt existing branches whose width changes (none in the official models),
        grow each new branch from the lowest one by stride-2 steps."""
        layers: list[nn.Module | None] = []
        for i, channels in enumerate(cur):
            if i < len(pre):
                if channels == pre[i]:
                    layers.append(None)
                else:
                    dw_pw = _dw_pw(pre[i], channels, norm_cfg=self.norm_cfg, stride=1)
                    layers.append(nn.Sequential(*dw_pw, nn.ReLU()))
            else:
                steps = []
                for j in range(i + 1 - len(pre)):
                    out = channels if j == i - len(pre) else pre[-1]
                    dw_pw = _dw_pw(pre[-1], out, norm_cfg=self.norm_cfg, stride=2)
                    steps.append(nn.Sequential(*dw_pw, nn.ReLU()))
                layers.append(nn.Sequential(*steps))
        return nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        branches = [self.stem(x)]
        for k in range(3):
            inputs = []
            for i, layer in enumerate(getattr(self, f"transition{k}")):
                # New branches grow from the lowest-resolution existing branch.
                source = branches[i] if i < len(branches) else branches[-1]
                inputs.append(source if layer is None else layer(source))
            branches = getattr(self, f"stage{k}")(inputs)
        return self.head_layer(branches) if self.with_head else branches

    def train(self, mode: bool = True) -> LiteHighResolutionNet:
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained:
            path = require_pretrained_file(self.pretrained)
            report = load_backbone_weights(self, path, strict=self.pretrained_strict)
            self.pretrained_report = report
            print_log(report.summary(), logger=MMLogger.get_current_instance())


__all__ = [
    "LITE_HRNET_ARCHS",
    "LiteHRModule",
    "LiteHRNetArch",
    "LiteHighResolutionNet",
    "resolve_lite_arch",
]
