"""HRNet (Wang et al., "Deep High-Resolution Representation Learning for Visual
Recognition", TPAMI 2020), registered into mmseg's ``MODELS`` as ``HighResolutionNet``.

The network keeps a high-resolution branch from the stem to the output. A stem of two
stride-2 3x3 convs and ``layer1`` (Bottlenecks) feed stages 2-4; before each stage a
*transition* adds one lower-resolution branch (a stride-2 3x3 conv from the lowest
branch) and adapts channels where they change. Each stage is a chain of
:class:`HighResolutionModule`: every branch runs its residual blocks, then every
branch is *fused* into every output branch by summation, then ReLU (paper Sec. 3.2).

Names follow the official code, so official, timm and mmseg checkpoints share one
key layout: ``conv1``, ``bn1``, ``conv2``, ``bn2``, ``layer1.N.*``, ``transitionK.*``,
``stageK.M.branches.B.L.*``, ``stageK.M.fuse_layers.I.J.*``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger, print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from .arch import HRNetArch, StageSpec, resolve_arch
from .blocks import BLOCKS, Bottleneck, make_blocks, make_norm
from .pretrained import load_backbone_weights, require_pretrained_file
from .tracing import is_tracing

_NORM_TYPES = ("BN", "SyncBN", "GN")


#: How the fusion upsamples lower-resolution branches (see :class:`HighResolutionModule`).
UPSAMPLE_MODES = ("official", "mmseg")


def check_upsample(upsample: str, align_corners: bool, *, owner: str) -> None:
    if upsample not in UPSAMPLE_MODES:
        raise ValueError(f"{owner} upsample: expected one of {UPSAMPLE_MODES}, got {upsample!r}")
    if upsample == "mmseg" and align_corners:
        raise ValueError(
            f"{owner}: upsample='mmseg' is mmseg's fusion, which resamples with "
            "align_corners=False only; for align_corners=True use upsample='official' "
            "(the official code's fusion)"
        )


def make_transition(pre: tuple[int, ...], cur: tuple[int, ...], *, norm_cfg: dict) -> nn.ModuleList:
    """HRNet's transition from a stage with branch widths ``pre`` to one with ``cur``
    (also HRFormer's, whose official code copies it): ``None`` where a branch passes
    unchanged, a 3x3 conv + norm + ReLU where its width changes, and for each new,
    lower-resolution branch stride-2 3x3 conv + norm + ReLU steps from the lowest
    existing branch."""
    layers: list[nn.Module | None] = []
    for i, channels in enumerate(cur):
        if i < len(pre):
            # An existing branch: adapt channels only where they change.
            if channels == pre[i]:
                layers.append(None)
            else:
                layers.append(
                    nn.Sequential(
                        nn.Conv2d(pre[i], channels, 3, padding=1, bias=False),
                        make_norm(norm_cfg, channels),
                        nn.ReLU(inplace=True),
                    )
                )
        else:
            # A new, lower-resolution branch from the lowest existing one.
            steps = []
            for j in range(i + 1 - len(pre)):
                out = channels if j == i - len(pre) else pre[-1]
                steps.append(
                    nn.Sequential(
                        nn.Conv2d(pre[-1], out, 3, stride=2, padding=1, bias=False),
                        make_norm(norm_cfg, out),
                        nn.ReLU(inplace=True),
                    )
                )
            layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


class HighResolutionModule(nn.Module):
    """Parallel branches followed by the all-to-all multi-resolution fusion.

    For output branch ``i`` and input branch ``j`` (branch ``k`` has stride
    ``4 * 2**k``), the fusion term is (paper Fig. 3):

    * ``j == i``: identity;
    * ``j > i`` (lower resolution): 1x1 conv + norm, then bilinear upsampling to branch
      ``i``'s size (how: see ``upsample`` below);
    * ``j < i`` (higher resolution): ``i - j`` stride-2 3x3 conv + norm, with ReLU
      between them (none after the last, so the sum sees a linear term).

    The terms are summed and passed through ReLU.

    ``upsample`` picks between the two implementations in use, which agree whenever the
    input's sides are multiples of 32 and differ elsewhere:

    * ``'official'``: one bilinear resize straight to branch ``i``'s size (the official
      ``seg_hrnet.py`` / ``seg_hrnet_ocr.py``), with ``align_corners`` as configured;
    * ``'mmseg'``: mmseg's ``HRModule``: ``Upsample(scale_factor=2**(j-i))`` to
      ``floor(side * 2**(j-i))``, then a resize to branch ``i``'s size (a second
      interpolation where a side is not a multiple of 32); ``align_corners=False`` only.
    """

    def __init__(
        self,
        *,
        block: str,
        num_blocks: tuple[int, ...],
        in_channels: tuple[int, ...],
        num_channels: tuple[int, ...],
        norm_cfg: dict,
        upsample: str = "mmseg",
        align_corners: bool = False,
        multiscale_output: bool = True,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        check_upsample(upsample, align_corners, owner="HighResolutionModule")
        num_branches = len(num_channels)
        if not (len(num_blocks) == len(in_channels) == num_branches):
            raise ValueError(
                f"HighResolutionModule: num_blocks {num_blocks}, in_channels {in_channels} and "
                f"num_channels {num_channels} must all have one entry per branch"
            )
        block_cls = BLOCKS[block]
        self.num_branches = num_branches
        self.upsample = upsample
        self.align_corners = align_corners
        self.branches = nn.ModuleList(
            make_blocks(
                block_cls,
                in_channels=in_channels[b],
                channels=num_channels[b],
                num_blocks=num_blocks[b],
                norm_cfg=norm_cfg,
                with_cp=with_cp,
            )
            for b in range(num_branches)
        )
        self.out_channels = tuple(c * block_cls.expansion for c in num_channels)
        num_outputs = num_branches if multiscale_output else 1
        self.fuse_layers = (
            self._make_fuse_layers(num_outputs, norm_cfg) if num_branches > 1 else None
        )
        self.relu = nn.ReLU(inplace=True)

    def _make_fuse_layers(self, num_outputs: int, norm_cfg: dict) -> nn.ModuleList:
        channels = self.out_channels
        fuse_layers = []
        for i in range(num_outputs):
            row: list[nn.Module | None] = []
            for j in range(self.num_branches):
                if j > i:
                    # Upsampling itself is parameter-free and done in forward, at
                    # branch i's exact size (robust to odd input sizes).
                    row.append(
                        nn.Sequential(
                            nn.Conv2d(channels[j], channels[i], 1, bias=False),
                            make_norm(norm_cfg, channels[i]),
                        )
                    )
                elif j == i:
                    row.append(None)
                else:
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        out = channels[i] if last else channels[j]
                        layers = [
                            nn.Conv2d(channels[j], out, 3, stride=2, padding=1, bias=False),
                            make_norm(norm_cfg, out),
                        ]
                        if not last:
                            layers.append(nn.ReLU(inplace=True))
                        steps.append(nn.Sequential(*layers))
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(nn.ModuleList(row))
        return nn.ModuleList(fuse_layers)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        x = [branch(t) for branch, t in zip(self.branches, x)]
        if self.fuse_layers is None:
            return x
        fused = []
        for i, row in enumerate(self.fuse_layers):
            size = x[i].shape[-2:]
            y = None
            for j in range(self.num_branches):
                if j == i:
                    term = x[j]
                elif j > i:
                    term = self._upsample(row[j](x[j]), factor=2 ** (j - i), size=size)
                else:
                    term = row[j](x[j])
                # Summed from branch 0 up, as the official code: bitwise the same output.
                # In place once y is a tensor of our own (not branch i's input, which
                # other rows read): the terms are fresh norm or resize outputs whose
                # backward does not need them, and a new tensor per term costs an
                # allocation the size of the activation.
                if y is None:
                    y = term
                elif y is x[i]:
                    y = y + term
                else:
                    y += term
            fused.append(self.relu(y))
        return fused

    def _upsample(self, x: torch.Tensor, *, factor: int, size: torch.Size) -> torch.Tensor:
        if self.upsample == "mmseg":
            # mmseg's Upsample(scale_factor) computes its size as int(side * factor) and
            # resizes to it; the resize to branch i's size that follows is an exact
            # identity when the sizes already agree, so it is skipped then.
            if is_tracing():
                # A graph for export must not freeze shapes: int(side * factor) would be
                # a constant of the traced size. Resizing by the factor gives the same
                # size (floor of side * factor) and, the factor being a power of two, the
                # same sampling points (scale 1 / factor either way); the resize to
                # branch i's size then always runs (an identity where sizes agree).
                x = F.interpolate(
                    x, scale_factor=float(factor), mode="bilinear", align_corners=False
                )
                return F.interpolate(
                    x, size=size, mode="bilinear", align_corners=self.align_corners
                )
            x = F.interpolate(
                x,
                size=[int(side * float(factor)) for side in x.shape[-2:]],
                mode="bilinear",
                align_corners=False,
            )
            if x.shape[-2:] == size:
                return x
        return F.interpolate(x, size=size, mode="bilinear", align_corners=self.align_corners)


@MODELS.register_module()
class HighResolutionNet(BaseModule):
    """HRNet backbone returning all four resolutions (HRNetV2 representation).

    Args:
        arch: a preset from :data:`hrnet_seg.models.arch.HRNET_ARCHS` (``'W18'``,
            ``'W48'``, ``'W18-Small-v2'``, ...) or an explicit stage spec, official
            uppercase or mmseg lowercase format.
        in_channels: input image channels.
        norm_cfg: ``BN``, ``SyncBN`` or ``GN`` (with ``num_groups``).
        norm_eval: keep BN layers in eval mode (frozen statistics) during training.
        frozen_stages: freeze the stem (0), and ``layer1``/stage 2-4 with their
            transitions up to this index; -1 freezes nothing.
        with_cp: activation checkpointing in every residual block.
        upsample: how the fusion upsamples lower-resolution branches: ``'mmseg'``
            (mmseg's ``HRNet``, bit for bit at every input size; the zoo's) or
            ``'official'`` (the official code's single resize). Both agree when the
            input's sides are multiples of 32; see :class:`HighResolutionModule`.
        align_corners: of the fusion's bilinear upsampling. The official code takes it
            from ``MODEL.ALIGN_CORNERS``: True by default (every official OCR model, the
            HRNet-OCR branch's ADE20K / COCO-Stuff FCN models), False in its Cityscapes,
            LIP and PASCAL-Context FCN yamls and throughout the master / pytorch-v1.1
            branches; mmseg always uses False. It must match the heads' and the final
            resize's: in a config, set the top-level ``reproduce`` / ``align_corners``
            switch (:mod:`hrnet_seg.models.reproduce`), not this key.
        multiscale_output: return all four branches (True, HRNetV2) or the
            highest-resolution one only.
        pretrained: path of a local ImageNet (official / timm) or mmseg checkpoint,
            loaded by :meth:`init_weights`. Never downloaded.
        pretrained_strict: fail when the checkpoint's backbone keys do not match.
        init_cfg: mmengine init config; ``dict(type='Pretrained', checkpoint=PATH)`` is
            the same as ``pretrained=PATH``.

    Example:
        >>> import torch
        >>> from hrnet_seg.models import HighResolutionNet
        >>> model = HighResolutionNet(arch='W18').eval()
        >>> for out in model(torch.rand(1, 3, 64, 128)):
        ...     print(tuple(out.shape))
        (1, 18, 16, 32)
        (1, 36, 8, 16)
        (1, 72, 4, 8)
        (1, 144, 2, 4)
    """

    def __init__(
        self,
        *,
        arch: str | Mapping | HRNetArch = "W48",
        in_channels: int = 3,
        norm_cfg: dict | None = None,
        norm_eval: bool = False,
        frozen_stages: int = -1,
        with_cp: bool = False,
        upsample: str = "mmseg",
        align_corners: bool = False,
        multiscale_output: bool = True,
        pretrained: str | None = None,
        pretrained_strict: bool = True,
        init_cfg: dict | list | None = None,
    ) -> None:
        norm_cfg = dict(type="BN", requires_grad=True) if norm_cfg is None else dict(norm_cfg)
        if norm_cfg.get("type") not in _NORM_TYPES:
            raise ValueError(
                f"HighResolutionNet norm_cfg.type: expected one of {_NORM_TYPES}, "
                f"got {norm_cfg.get('type')!r}"
            )
        if norm_cfg["type"] == "GN" and "num_groups" not in norm_cfg:
            raise ValueError(
                "HighResolutionNet norm_cfg: GN needs num_groups, e.g. "
                "dict(type='GN', num_groups=2, requires_grad=True)"
            )
        if not -1 <= frozen_stages <= 4:
            raise ValueError(
                f"HighResolutionNet frozen_stages: expected -1 (none) to 4, got {frozen_stages}"
            )
        if in_channels < 1:
            raise ValueError(f"HighResolutionNet in_channels: expected >= 1, got {in_channels}")
        check_upsample(upsample, align_corners, owner="HighResolutionNet")
        if isinstance(init_cfg, Mapping) and init_cfg.get("type") == "Pretrained":
            # Route mmengine's Pretrained init through the layout-aware loader.
            if pretrained is not None:
                raise ValueError(
                    "HighResolutionNet: give either pretrained=PATH or "
                    "init_cfg=dict(type='Pretrained', ...), not both"
                )
            pretrained, init_cfg = init_cfg["checkpoint"], None
        if init_cfg is None:
            # mmseg's HRNet initialisation.
            init_cfg = [
                dict(type="Kaiming", layer="Conv2d"),
                dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
            ]
        super().__init__(init_cfg=init_cfg)

        self.arch = resolve_arch(arch)
        self.upsample = upsample
        self.align_corners = align_corners
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.frozen_stages = frozen_stages
        self.pretrained = pretrained
        self.pretrained_strict = pretrained_strict
        self.pretrained_report = None  # set by init_weights() when weights are loaded

        # Stem: two stride-2 3x3 convs, to 1/4 resolution.
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = make_norm(norm_cfg, 64)
        self.conv2 = nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False)
        self.bn2 = make_norm(norm_cfg, 64)
        self.relu = nn.ReLU(inplace=True)

        stage1 = self.arch.stage1
        self.layer1 = make_blocks(
            BLOCKS[stage1.block],
            in_channels=64,
            channels=stage1.num_channels[0],
            num_blocks=stage1.num_blocks[0],
            norm_cfg=norm_cfg,
            with_cp=with_cp,
        )
        in_channels = stage1.out_channels  # of the next transition
        for k, spec in enumerate(self.arch.stages[1:], start=2):
            self.add_module(
                f"transition{k - 1}", self._make_transition(in_channels, spec.out_channels)
            )
            last = k == 4
            stage = self._make_stage(
                spec,
                in_channels=spec.out_channels,
                upsample=upsample,
                align_corners=align_corners,
                multiscale_output=multiscale_output or not last,
                with_cp=with_cp,
            )
            self.add_module(f"stage{k}", stage)
            in_channels = spec.out_channels
        self.out_channels = in_channels if multiscale_output else in_channels[:1]
        self._freeze_stages()

    def _make_transition(self, pre: tuple[int, ...], cur: tuple[int, ...]) -> nn.ModuleList:
        return make_transition(pre, cur, norm_cfg=self.norm_cfg)

    def _make_stage(
        self,
        spec: StageSpec,
        *,
        in_channels: tuple[int, ...],
        upsample: str,
        align_corners: bool,
        multiscale_output: bool,
        with_cp: bool,
    ) -> nn.Sequential:
        modules = []
        for m in range(spec.num_modules):
            module = HighResolutionModule(
                block=spec.block,
                num_blocks=spec.num_blocks,
                in_channels=in_channels,
                num_channels=spec.num_channels,
                norm_cfg=self.norm_cfg,
                upsample=upsample,
                align_corners=align_corners,
                # Only the last module of the last stage may drop the low branches.
                multiscale_output=multiscale_output or m < spec.num_modules - 1,
                with_cp=with_cp,
            )
            in_channels = module.out_channels
            modules.append(module)
        return nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        branches = [self.layer1(x)]
        for k in (2, 3, 4):
            transition = getattr(self, f"transition{k - 1}")
            inputs = []
            for i, layer in enumerate(transition):
                # New branches grow from the lowest-resolution existing branch.
                source = branches[i] if i < len(branches) else branches[-1]
                inputs.append(source if layer is None else layer(source))
            branches = getattr(self, f"stage{k}")(inputs)
        return branches

    def _frozen_modules(self) -> list[nn.Module]:
        modules: list[nn.Module] = []
        if self.frozen_stages >= 0:
            modules += [self.conv1, self.bn1, self.conv2, self.bn2]
        if self.frozen_stages >= 1:
            modules += [self.layer1, self.transition1]
        for k in range(2, self.frozen_stages + 1):
            modules.append(getattr(self, f"stage{k}"))
            if k < 4:
                modules.append(getattr(self, f"transition{k}"))
        return modules

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> HighResolutionNet:
        super().train(mode)
        self._freeze_stages()
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


__all__ = ["HighResolutionModule", "HighResolutionNet", "Bottleneck"]
