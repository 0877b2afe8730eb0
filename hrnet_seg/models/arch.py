"""HRNet architectures: the preset table and the stage-spec parser.

An HRNet is fully described by four stage specs (paper Sec. 3, official
``MODEL.EXTRA``): stage 1 is a single high-resolution branch of Bottlenecks
(``layer1``); stage ``k`` (2..4) has ``k`` parallel branches built from
``num_modules`` HighResolutionModules.

Specs are accepted in three forms, all resolved by :func:`resolve_arch`:

* a preset name from :data:`HRNET_ARCHS` (``'W48'``, ``'W18-Small-v2'``, ...);
* the official HRNet-Semantic-Segmentation format
  (``{'STAGE2': {'NUM_MODULES': 1, 'NUM_BRANCHES': 2, 'BLOCK': 'BASIC', ...}}``);
* mmseg's lowercase ``extra`` format (``{'stage2': {'num_modules': 1, ...}}``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

BLOCK_EXPANSION = {"BASIC": 1, "BOTTLENECK": 4}
STAGE_NAMES = ("stage1", "stage2", "stage3", "stage4")
_FIELDS = ("num_modules", "num_branches", "block", "num_blocks", "num_channels", "fuse_method")
_REQUIRED = _FIELDS[:5]  # fuse_method defaults to SUM, the only method the paper uses


@dataclass(frozen=True)
class StageSpec:
    """One stage: ``num_modules`` HighResolutionModules over ``num_branches`` branches."""

    num_modules: int
    num_branches: int
    block: str
    num_blocks: tuple[int, ...]
    num_channels: tuple[int, ...]
    fuse_method: str = "SUM"

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Channels of each branch after the blocks (``num_channels * expansion``)."""
        expansion = BLOCK_EXPANSION[self.block]
        return tuple(c * expansion for c in self.num_channels)


@dataclass(frozen=True)
class HRNetArch:
    """The four stage specs of one HRNet."""

    stage1: StageSpec
    stage2: StageSpec
    stage3: StageSpec
    stage4: StageSpec

    @property
    def stages(self) -> tuple[StageSpec, StageSpec, StageSpec, StageSpec]:
        return (self.stage1, self.stage2, self.stage3, self.stage4)

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Channels of the four outputs (strides 4, 8, 16, 32): C, 2C, 4C, 8C."""
        return self.stage4.out_channels

    def to_mmseg_extra(self) -> dict:
        """This arch in mmseg's ``extra`` format (for ``mmseg.models.HRNet``)."""
        return {
            name: dict(
                num_modules=s.num_modules,
                num_branches=s.num_branches,
                block=s.block,
                num_blocks=s.num_blocks,
                num_channels=s.num_channels,
            )
            for name, s in zip(STAGE_NAMES, self.stages)
        }


def _preset(
    width: int,
    *,
    stage1: tuple[int, int] = (4, 64),
    num_modules: tuple[int, int, int] = (1, 4, 3),
    num_blocks: int = 4,
) -> HRNetArch:
    """An HRNet whose branch widths are C, 2C, 4C, 8C (paper Sec. 3, Table 1)."""
    stage1_blocks, stage1_channels = stage1
    stages = [StageSpec(1, 1, "BOTTLENECK", (stage1_blocks,), (stage1_channels,))]
    for k, modules in zip((2, 3, 4), num_modules):
        stages.append(
            StageSpec(
                num_modules=modules,
                num_branches=k,
                block="BASIC",
                num_blocks=(num_blocks,) * k,
                num_channels=tuple(width * 2**i for i in range(k)),
            )
        )
    return HRNetArch(*stages)


#: The official architectures (HRNet-Image-Classification / HRNet-Semantic-Segmentation
#: ``experiments/*.yaml``; the same table as timm's ``hrnet.py``).
HRNET_ARCHS: dict[str, HRNetArch] = {
    # The small models of the official segmentation repo: fewer modules and blocks.
    "W18-Small-v1": _preset(16, stage1=(1, 32), num_modules=(1, 1, 1), num_blocks=2),
    "W18-Small-v2": _preset(18, stage1=(2, 64), num_modules=(1, 3, 2), num_blocks=2),
    "W18": _preset(18),
    "W30": _preset(30),
    "W32": _preset(32),
    "W40": _preset(40),
    "W44": _preset(44),
    "W48": _preset(48),
    "W64": _preset(64),
}


def _normalize_name(name: str) -> str:
    name = name.lower().removeprefix("hrnetv2").removeprefix("hrnet")
    return re.sub(r"[^a-z0-9]", "", name)


_PRESET_BY_KEY = {_normalize_name(k): k for k in HRNET_ARCHS}


def resolve_arch(arch: str | Mapping | HRNetArch) -> HRNetArch:
    """Resolve a preset name or an explicit stage spec into a validated :class:`HRNetArch`.

    Raises:
        ValueError: unknown preset, or an inconsistent spec; the message names the
            stage and field.
    """
    if isinstance(arch, HRNetArch):
        return arch
    if isinstance(arch, str):
        key = _PRESET_BY_KEY.get(_normalize_name(arch))
        if key is None:
            raise ValueError(
                f"Unknown HRNet arch {arch!r}: expected one of {sorted(HRNET_ARCHS)} "
                f"or an explicit stage spec (dict with stage1..stage4)."
            )
        return HRNET_ARCHS[key]
    if isinstance(arch, Mapping):
        return _parse_spec(arch)
    raise TypeError(
        f"HRNet arch must be a preset name or a stage-spec dict, got {type(arch).__name__}"
    )


def _parse_spec(spec: Mapping) -> HRNetArch:
    # Accept the official uppercase keys (STAGE2 / NUM_MODULES) and mmseg's lowercase ones.
    stages_in = {str(k).lower(): v for k, v in spec.items()}
    unknown = sorted(k for k in stages_in if k not in STAGE_NAMES and not _is_ignored_top_key(k))
    if unknown:
        raise ValueError(
            f"HRNet spec: unknown key(s) {unknown}; expected stage1, stage2, stage3, stage4"
        )
    stages = []
    for index, name in enumerate(STAGE_NAMES, start=1):
        if name not in stages_in:
            raise ValueError(
                f"HRNet spec: {name} is missing; a spec needs stage1, stage2, stage3 and stage4"
            )
        stages.append(_parse_stage(name, index, stages_in[name]))
    return HRNetArch(*stages)


def _is_ignored_top_key(key: str) -> bool:
    # Official MODEL.EXTRA also carries head/loading settings that are not stage specs.
    return key in {"final_conv_kernel", "pretrained_layers"}


def _parse_stage(name: str, index: int, raw) -> StageSpec:
    if not isinstance(raw, Mapping):
        raise ValueError(f"HRNet spec {name}: expected a dict of fields, got {raw!r}")
    fields = {str(k).lower(): v for k, v in raw.items()}
    unknown = sorted(set(fields) - set(_FIELDS))
    if unknown:
        raise ValueError(f"HRNet spec {name}: unknown field(s) {unknown}; expected {list(_FIELDS)}")
    for field in _REQUIRED:
        if field not in fields:
            raise ValueError(f"HRNet spec {name}.{field}: missing")

    def positive_int(field: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"HRNet spec {name}.{field}: expected a positive int, got {value!r}")
        return value

    num_modules = positive_int("num_modules", fields["num_modules"])
    num_branches = positive_int("num_branches", fields["num_branches"])
    if num_branches != index:
        raise ValueError(
            f"HRNet spec {name}.num_branches: expected {index} (stage {index} of HRNet has "
            f"{index} branch{'es' if index > 1 else ''}), got {num_branches}"
        )
    block = str(fields["block"]).upper()
    if block not in BLOCK_EXPANSION:
        raise ValueError(
            f"HRNet spec {name}.block: expected one of {sorted(BLOCK_EXPANSION)}, "
            f"got {fields['block']!r}"
        )
    per_branch = {}
    for field in ("num_blocks", "num_channels"):
        value = fields[field]
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise ValueError(
                f"HRNet spec {name}.{field}: expected a list with one entry per branch, "
                f"got {value!r}"
            )
        if len(value) != num_branches:
            raise ValueError(
                f"HRNet spec {name}.{field}: expected {num_branches} entries (one per branch, "
                f"num_branches={num_branches}), got {len(value)}: {tuple(value)}"
            )
        per_branch[field] = tuple(positive_int(field, v) for v in value)
    fuse_method = str(fields.get("fuse_method", "SUM")).upper()
    if fuse_method != "SUM":
        raise ValueError(
            f"HRNet spec {name}.fuse_method: only 'SUM' exists in HRNet, got {fuse_method!r}"
        )
    return StageSpec(
        num_modules=num_modules,
        num_branches=num_branches,
        block=block,
        num_blocks=per_branch["num_blocks"],
        num_channels=per_branch["num_channels"],
        fuse_method=fuse_method,
    )
