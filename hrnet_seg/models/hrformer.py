"""HRFormer (Yuan et al., "HRFormer: High-Resolution Transformer for Dense Prediction",
NeurIPS 2021), registered into mmseg's ``MODELS`` as ``HighResolutionTransformer``.

HRNet's layout with transformer blocks in the parallel branches: HRNet's stem and
``layer1`` (two Bottlenecks) to stride 4, then stages 2-4 of 2, 3 and 4 branches (strides
4 to 32), each a chain of :class:`HRFormerModule`. Every branch is a chain of HRFormer
blocks (paper Sec. 3, Fig. 1): multi-head self-attention inside non-overlapping 7x7
windows with a relative position bias, then an FFN with a depthwise 3x3 conv between its
1x1 convs, which passes information between windows. After the branches, HRNet's
all-to-all fusion; the module returns all four branches, for FCN and OCR heads.

What is HRNet's and shared with :mod:`.hrnet`: the stem, ``layer1``
(:func:`.blocks.make_blocks`), the transitions (:func:`.hrnet.make_transition`). What
differs (the official code's, kept so its checkpoints mean the same):

* the fusion's downsampling steps are depthwise-separable (depthwise 3x3 + norm,
  pointwise 1x1 + norm, as Lite-HRNet's: :func:`.blocks.dw_pw`), not 3x3 convs;
* the fusion's upsampling is nearest by ``2**(j-i)``, then (official ``seg`` code) a
  bilinear ``align_corners=True`` resize to the finer branch's size, which is exact
  identity where the sizes already agree (sides that are multiples of 32);
so the module with the fusion is its own (:class:`HRFormerModule`), not
:class:`.hrnet.HighResolutionModule`, whose branches are residual blocks and whose fusion
upsamples bilinearly in one step; the sum and its order (from branch 0 up, then ReLU) are
the same idea.

The network is the official ``HRNet/HRFormer`` segmentation backbone
(``seg/lib/models/backbones/hrt/hrt_backbone.py`` and its ``modules/``) module for
module, with its parameter and buffer names, so the official ImageNet checkpoints
(``cls/``, ``{'model': ...}``, classification head dropped) load unchanged:
``conv1``, ``bn1``, ``conv2``, ``bn2``, ``layer1.*``, ``transitionK.*``,
``stageK.M.branches.B.L.{norm1,attn.attn.*,norm2,mlp.*}``, ``stageK.M.fuse_layers.I.J.*``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmengine.logging import MMLogger, print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from .blocks import Bottleneck, make_blocks, make_norm, separable_fuse_layers
from .hrnet import make_transition
from .pretrained import load_backbone_weights, require_pretrained_file
from .tracing import is_tracing

_NORM_TYPES = ("BN", "SyncBN")
#: The official LayerNorm's epsilon (``partial(nn.LayerNorm, eps=1e-6)``).
LAYER_NORM_EPS = 1e-6


@dataclass(frozen=True)
class HRFormerArch:
    """One HRFormer: widths, heads and depth (the official ``MODEL_CONFIGS`` entries).

    Stage ``k`` (2, 3, 4) has ``k`` branches of widths ``num_channels[:k]`` with
    ``num_heads[:k]`` heads, and ``num_modules[k - 2]`` modules of ``num_blocks``
    transformer blocks per branch. Stage 1 is HRNet's: ``stage1_blocks`` Bottlenecks of
    ``stage1_channels`` (x4 out).
    """

    num_channels: tuple[int, int, int, int]
    num_heads: tuple[int, int, int, int]
    num_modules: tuple[int, int, int]
    num_blocks: int = 2
    window_size: int = 7
    mlp_ratio: float = 4.0
    stage1_blocks: int = 2
    stage1_channels: int = 64
    drop_path_rate: float = 0.2

    def __post_init__(self) -> None:
        for name, value, length in (
            ("num_channels", self.num_channels, 4),
            ("num_heads", self.num_heads, 4),
            ("num_modules", self.num_modules, 3),
        ):
            if (
                not isinstance(value, tuple)
                or len(value) != length
                or not all(type(v) is int and v > 0 for v in value)
            ):
                raise ValueError(
                    f"HRFormerArch {name}: expected a tuple of {length} positive ints, "
                    f"got {value!r}"
                )
        bad = [(c, h) for c, h in zip(self.num_channels, self.num_heads) if c % h]
        if bad:
            raise ValueError(
                f"HRFormerArch: every branch width must be divisible by its number of heads, "
                f"got (width, heads) {bad}"
            )
        for name in ("num_blocks", "window_size", "stage1_blocks", "stage1_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"HRFormerArch {name}: expected >= 1, got {getattr(self, name)}")
        if self.mlp_ratio <= 0 or not 0 <= self.drop_path_rate < 1:
            raise ValueError(
                "HRFormerArch: mlp_ratio must be > 0 and drop_path_rate in [0, 1), got "
                f"{self.mlp_ratio}, {self.drop_path_rate}"
            )

    @property
    def depths(self) -> tuple[int, int, int]:
        """Blocks per branch in stages 2-4 (what the stochastic-depth schedule spans)."""
        return tuple(m * self.num_blocks for m in self.num_modules)

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Widths of the four branches of the last stage (strides 4, 8, 16, 32)."""
        return self.num_channels


#: The official models. S and B: ``seg/lib/models/backbones/hrt/hrt_config.py``
#: (HRT_SMALL, HRT_BASE, drop path 0.2). T has no segmentation config: from
#: ``cls/configs/hrt/hrt_tiny.yaml`` (3 modules in stage 3, its drop path 0.0).
HRFORMER_ARCHS: dict[str, HRFormerArch] = {
    "T": HRFormerArch(
        num_channels=(18, 36, 72, 144),
        num_heads=(1, 2, 4, 8),
        num_modules=(1, 3, 2),
        drop_path_rate=0.0,
    ),
    "S": HRFormerArch(
        num_channels=(32, 64, 128, 256), num_heads=(1, 2, 4, 8), num_modules=(1, 4, 2)
    ),
    "B": HRFormerArch(
        num_channels=(78, 156, 312, 624), num_heads=(2, 4, 8, 16), num_modules=(1, 4, 2)
    ),
}


def resolve_hrformer_arch(arch: str | HRFormerArch | Mapping) -> HRFormerArch:
    """A preset name (``'S'``, ``'HRFormer-S'``, ``'hrt_small'``, ...) or the fields of
    :class:`HRFormerArch` as a dict."""
    if isinstance(arch, HRFormerArch):
        return arch
    if isinstance(arch, str):
        key = arch.upper().replace("_", "-").removeprefix("HRFORMER-").removeprefix("HRT-")
        key = {"TINY": "T", "SMALL": "S", "BASE": "B"}.get(key, key)
        if key not in HRFORMER_ARCHS:
            raise ValueError(
                f"Unknown HRFormer arch {arch!r}: expected one of {sorted(HRFORMER_ARCHS)} "
                "or a dict of HRFormerArch fields"
            )
        return HRFORMER_ARCHS[key]
    if isinstance(arch, Mapping):
        fields = dict(arch)
        for name in ("num_channels", "num_heads", "num_modules"):
            if isinstance(fields.get(name), list):
                fields[name] = tuple(fields[name])
        try:
            return HRFormerArch(**fields)
        except TypeError as exc:
            raise ValueError(f"HRFormer arch dict: {exc}") from None
    raise TypeError(f"HRFormer arch must be a preset name or a dict, got {type(arch).__name__}")


def relative_position_index(window_size: int) -> torch.Tensor:
    """Swin's index into the ``(2w-1)**2`` bias table for every pair of positions in a
    ``w x w`` window (the official ``MHA_``'s buffer)."""
    coords = torch.stack(
        torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij")
    ).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window_size - 1)
    return relative[:, :, 0] * (2 * window_size - 1) + relative[:, :, 1]


class WindowMultiheadAttention(nn.Module):
    """Multi-head self-attention over the tokens of one window with a learned relative
    position bias per head (the official ``MHA_``: separate ``q/k/v_proj`` and
    ``out_proj`` linears, queries scaled after their projection)."""

    def __init__(self, *, embed_dim: int, num_heads: int, window_size: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scaling = float(embed_dim // num_heads) ** -0.5
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, num_heads)
        )
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        # Persistent, as the official buffer: official checkpoints carry it.
        self.register_buffer("relative_position_index", relative_position_index(window_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (windows, tokens, channels)."""
        b, n, c = x.shape
        heads = self.num_heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, n, heads, c // heads).transpose(1, 2)

        q = split(self.q_proj(x) * self.scaling)
        k, v = split(self.k_proj(x)), split(self.v_proj(x))
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        attn = q @ k.transpose(-2, -1) + bias.view(n, n, heads).permute(2, 0, 1)
        out = attn.softmax(dim=-1) @ v
        return self.out_proj(out.transpose(1, 2).reshape(b, n, c))


class InterlacedPoolAttention(nn.Module):
    """Local-window attention (the official class of this name; only its local form is
    used): center-pad the map with zeros to a multiple of the window, attend within each
    window, crop. The padding comes after the LayerNorm, so padded tokens enter the
    attention as keys with the projections' biases, as in the official code."""

    def __init__(self, *, embed_dim: int, num_heads: int, window_size: int) -> None:
        super().__init__()
        self.window_size = window_size
        self.attn = WindowMultiheadAttention(
            embed_dim=embed_dim, num_heads=num_heads, window_size=window_size
        )

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        b, n, c = x.shape
        w = self.window_size
        x = x.view(b, height, width, c)
        pad_h, pad_w = -height % w, -width % w
        # While tracing for export, pad and crop always (zero pads where none is needed):
        # the test on the traced sizes would freeze into the graph.
        traced = is_tracing()
        if traced or pad_h or pad_w:
            x = F.pad(x, (0, 0, pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        hp, wp = height + pad_h, width + pad_w
        windows = x.view(b, hp // w, w, wp // w, w, c).permute(0, 1, 3, 2, 4, 5)
        out = self.attn(windows.reshape(-1, w * w, c))
        out = out.view(b, hp // w, wp // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        if traced or pad_h or pad_w:
            out = out[:, pad_h // 2 : pad_h // 2 + height, pad_w // 2 : pad_w // 2 + width]
        return out.reshape(b, n, c)


class ConvFFN(nn.Module):
    """The FFN of an HRFormer block (the official ``MlpDWBN``): 1x1 conv, depthwise 3x3
    conv, 1x1 conv, each followed by norm and GELU (paper Sec. 3, "FFN with depth-wise
    convolution")."""

    def __init__(self, *, channels: int, hidden: int, norm_cfg: dict) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.norm1 = make_norm(norm_cfg, hidden)
        self.dw3x3 = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.norm2 = make_norm(norm_cfg, hidden)
        self.fc2 = nn.Conv2d(hidden, channels, 1)
        self.norm3 = make_norm(norm_cfg, channels)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        b, n, c = x.shape
        y = x.transpose(1, 2).reshape(b, c, height, width)
        y = self.act(self.norm1(self.fc1(y)))
        y = self.act(self.norm2(self.dw3x3(y)))
        y = self.act(self.norm3(self.fc2(y)))
        return y.reshape(b, c, n).transpose(1, 2)


class DropPath(nn.Module):
    """Stochastic depth (Huang et al. 2016): in training, drop the residual branch per
    sample with probability ``p`` and scale the kept ones by ``1 / (1 - p)``."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = (
            keep + torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device)
        ).floor_()
        return x.div(keep) * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


class HRFormerBlock(nn.Module):
    """``x + attn(LN(x))``, then ``x + FFN(LN(x))`` on the map's tokens (the official
    ``GeneralTransformerBlock``, which keeps the width: HRFormer's branches never change
    it)."""

    def __init__(
        self,
        *,
        channels: int,
        num_heads: int,
        window_size: int,
        mlp_ratio: float,
        drop_path: float,
        norm_cfg: dict,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.attn = InterlacedPoolAttention(
            embed_dim=channels, num_heads=num_heads, window_size=window_size
        )
        self.norm1 = nn.LayerNorm(channels, eps=LAYER_NORM_EPS)
        self.norm2 = nn.LayerNorm(channels, eps=LAYER_NORM_EPS)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.mlp = ConvFFN(channels=channels, hidden=int(channels * mlp_ratio), norm_cfg=norm_cfg)

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        t = t + self.drop_path(self.attn(self.norm1(t), h, w))
        t = t + self.drop_path(self.mlp(self.norm2(t), h, w))
        return t.transpose(1, 2).reshape(b, c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner, x, use_reentrant=False)
        return self._inner(x)


class HRFormerModule(nn.Module):
    """Parallel branches of HRFormer blocks followed by the all-to-all fusion (the
    official ``HighResolutionTransformerModule``).

    Fusion terms for output branch ``i`` and input ``j`` (differences from
    :class:`.hrnet.HighResolutionModule` in the module docstring): ``j > i``: 1x1 conv +
    norm, nearest upsampling by ``2**(j-i)``, then a bilinear (``align_corners=True``)
    resize to branch ``i``'s size where that differs; ``j < i``: ``i - j`` stride-2
    depthwise-separable steps, ReLU between them; ``j == i``: identity. Summed from
    branch 0 up, then ReLU.
    """

    def __init__(
        self,
        *,
        num_channels: tuple[int, ...],
        num_heads: tuple[int, ...],
        num_blocks: int,
        window_size: int,
        mlp_ratio: float,
        drop_paths: Sequence[float],
        norm_cfg: dict,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        if len(num_heads) != len(num_channels) or len(drop_paths) != num_blocks:
            raise ValueError(
                f"HRFormerModule: num_heads {num_heads} needs one entry per branch "
                f"({len(num_channels)}), drop_paths {list(drop_paths)} one per block ({num_blocks})"
            )
        self.num_branches = len(num_channels)
        self.out_channels = tuple(num_channels)
        self.branches = nn.ModuleList(
            nn.Sequential(
                *(
                    HRFormerBlock(
                        channels=c,
                        num_heads=h,
                        window_size=window_size,
                        mlp_ratio=mlp_ratio,
                        # Every branch gets the same schedule (the official default;
                        # its `multi_res_drop_path` environment switch is not kept).
                        drop_path=drop_paths[b],
                        norm_cfg=norm_cfg,
                        with_cp=with_cp,
                    )
                    for b in range(num_blocks)
                )
            )
            for c, h in zip(num_channels, num_heads)
        )
        self.fuse_layers = self._make_fuse_layers(norm_cfg) if self.num_branches > 1 else None
        self.relu = nn.ReLU(inplace=True)

    def _make_fuse_layers(self, norm_cfg: dict) -> nn.ModuleList:
        return separable_fuse_layers(self.out_channels, norm_cfg=norm_cfg)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        x = [branch(t) for branch, t in zip(self.branches, x)]
        if self.fuse_layers is None:
            return x
        fused = []
        for i, row in enumerate(self.fuse_layers):
            y = x[0] if i == 0 else row[0](x[0])
            for j in range(1, self.num_branches):
                if j == i:
                    y = y + x[j]
                elif j > i:
                    term = row[j](x[j])
                    if is_tracing() or term.shape[-2:] != x[i].shape[-2:]:
                        # The official code resizes always; where the sizes agree that
                        # resize (align_corners=True, scale 1) is an exact identity.
                        term = F.interpolate(
                            term, size=x[i].shape[-2:], mode="bilinear", align_corners=True
                        )
                    y = y + term
                else:
                    y = y + row[j](x[j])
            fused.append(self.relu(y))
        return fused


@MODELS.register_module()
class HighResolutionTransformer(BaseModule):
    """HRFormer backbone returning all four resolutions.

    Args:
        arch: a preset of :data:`HRFORMER_ARCHS` (``'T'``, ``'S'``, ``'B'``; also
            ``'HRFormer-S'``, ``'hrt_small'``, ...) or a dict of :class:`HRFormerArch`
            fields (e.g. ``window_size=15`` for the official HRT-B win15 models).
        in_channels: input image channels.
        norm_cfg: ``BN`` or ``SyncBN``: the norm of the convolutional parts (stem,
            ``layer1``, transitions, fusion, FFNs; the official code's SyncBatchNorm).
            The attention's norms are LayerNorms, as there.
        norm_eval: keep BN layers in eval mode (frozen statistics) during training.
        drop_path_rate: the last block's stochastic-depth rate (linear from 0 over
            stages 2-4); None takes the preset's (0.2 for S and B, as the official
            segmentation configs).
        with_cp: activation checkpointing in every transformer block.
        pretrained: path of a local checkpoint (the official ImageNet ``{'model':
            ...}`` layout, an mmseg ``backbone.*`` one, or bare backbone keys), loaded by
            :meth:`init_weights`. Never downloaded.
        pretrained_strict: fail when the checkpoint's backbone keys do not match.
        init_cfg: mmengine init config; by default the official ImageNet code's
            initialisation (convs Kaiming normal fan-out, norms 1 and 0; linears and
            the position-bias tables as PyTorch / the official code leave them).

    Example:
        >>> import torch
        >>> from hrnet_seg.models import HighResolutionTransformer
        >>> model = HighResolutionTransformer(arch='S').eval()
        >>> for out in model(torch.rand(1, 3, 64, 128)):
        ...     print(tuple(out.shape))
        (1, 32, 16, 32)
        (1, 64, 8, 16)
        (1, 128, 4, 8)
        (1, 256, 2, 4)
    """

    def __init__(
        self,
        *,
        arch: str | Mapping | HRFormerArch = "S",
        in_channels: int = 3,
        norm_cfg: dict | None = None,
        norm_eval: bool = False,
        drop_path_rate: float | None = None,
        with_cp: bool = False,
        pretrained: str | None = None,
        pretrained_strict: bool = True,
        init_cfg: dict | list | None = None,
    ) -> None:
        norm_cfg = dict(type="BN", requires_grad=True) if norm_cfg is None else dict(norm_cfg)
        if norm_cfg.get("type") not in _NORM_TYPES:
            raise ValueError(
                f"HighResolutionTransformer norm_cfg.type: expected one of {_NORM_TYPES}, "
                f"got {norm_cfg.get('type')!r}"
            )
        if in_channels < 1:
            raise ValueError(
                f"HighResolutionTransformer in_channels: expected >= 1, got {in_channels}"
            )
        if drop_path_rate is not None and not 0 <= drop_path_rate < 1:
            raise ValueError(
                f"HighResolutionTransformer drop_path_rate: expected a rate in [0, 1) or None "
                f"(the preset's), got {drop_path_rate}"
            )
        if isinstance(init_cfg, Mapping) and init_cfg.get("type") == "Pretrained":
            if pretrained is not None:
                raise ValueError(
                    "HighResolutionTransformer: give either pretrained=PATH or "
                    "init_cfg=dict(type='Pretrained', ...), not both"
                )
            pretrained, init_cfg = init_cfg["checkpoint"], None
        if init_cfg is None:
            # HRNet/HRFormer cls/models/hrt.py init_weights().
            init_cfg = [
                dict(
                    type="Kaiming",
                    layer="Conv2d",
                    mode="fan_out",
                    nonlinearity="relu",
                    distribution="normal",
                    bias=0,
                ),
                dict(type="Constant", val=1, bias=0, layer="_BatchNorm"),
            ]
        super().__init__(init_cfg=init_cfg)
        self.arch = resolve_hrformer_arch(arch)
        self.arch_name = arch if isinstance(arch, str) else None
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.pretrained = pretrained
        self.pretrained_strict = pretrained_strict
        self.pretrained_report = None
        a = self.arch
        rate = a.drop_path_rate if drop_path_rate is None else drop_path_rate
        self.drop_path_rate = rate

        # HRNet's stem and layer1, with HRNet's (and the official code's) names.
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = make_norm(norm_cfg, 64)
        self.conv2 = nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False)
        self.bn2 = make_norm(norm_cfg, 64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = make_blocks(
            Bottleneck,
            in_channels=64,
            channels=a.stage1_channels,
            num_blocks=a.stage1_blocks,
            norm_cfg=norm_cfg,
            with_cp=with_cp,
        )

        # Stochastic depth grows linearly over all blocks of stages 2-4 (per branch:
        # every branch of a module shares the module's rates).
        rates = [r.item() for r in torch.linspace(0, rate, sum(a.depths))]
        previous: tuple[int, ...] = (a.stage1_channels * Bottleneck.expansion,)
        for k in (2, 3, 4):
            channels = a.num_channels[:k]
            self.add_module(
                f"transition{k - 1}", make_transition(previous, channels, norm_cfg=norm_cfg)
            )
            modules = []
            for _ in range(a.num_modules[k - 2]):
                modules.append(
                    HRFormerModule(
                        num_channels=channels,
                        num_heads=a.num_heads[:k],
                        num_blocks=a.num_blocks,
                        window_size=a.window_size,
                        mlp_ratio=a.mlp_ratio,
                        drop_paths=rates[: a.num_blocks],
                        norm_cfg=norm_cfg,
                        with_cp=with_cp,
                    )
                )
                rates = rates[a.num_blocks :]
            self.add_module(f"stage{k}", nn.Sequential(*modules))
            previous = channels
        self.out_channels = previous

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        branches = [self.layer1(x)]
        for k in (2, 3, 4):
            inputs = []
            for i, layer in enumerate(getattr(self, f"transition{k - 1}")):
                # New branches grow from the lowest-resolution branch. (The official
                # forward also feeds that branch to a transition of an *existing* branch
                # whose width changes; no HRFormer has one: widths are nested.)
                source = branches[i] if i < len(branches) else branches[-1]
                inputs.append(source if layer is None else layer(source))
            branches = getattr(self, f"stage{k}")(inputs)
        return branches

    def train(self, mode: bool = True) -> HighResolutionTransformer:
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
    "HRFORMER_ARCHS",
    "HRFormerArch",
    "HRFormerBlock",
    "HRFormerModule",
    "HighResolutionTransformer",
    "resolve_hrformer_arch",
]
