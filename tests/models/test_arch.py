import pytest

from hrnet_seg.models import HRNET_ARCHS, HighResolutionNet, resolve_arch

OFFICIAL_W48 = {  # experiments/cityscapes/seg_hrnet_w48_*.yaml, MODEL.EXTRA
    "FINAL_CONV_KERNEL": 1,
    "STAGE1": dict(NUM_MODULES=1, NUM_BRANCHES=1, BLOCK="BOTTLENECK", NUM_BLOCKS=[4],
                   NUM_CHANNELS=[64], FUSE_METHOD="SUM"),
    "STAGE2": dict(NUM_MODULES=1, NUM_BRANCHES=2, BLOCK="BASIC", NUM_BLOCKS=[4, 4],
                   NUM_CHANNELS=[48, 96], FUSE_METHOD="SUM"),
    "STAGE3": dict(NUM_MODULES=4, NUM_BRANCHES=3, BLOCK="BASIC", NUM_BLOCKS=[4, 4, 4],
                   NUM_CHANNELS=[48, 96, 192], FUSE_METHOD="SUM"),
    "STAGE4": dict(NUM_MODULES=3, NUM_BRANCHES=4, BLOCK="BASIC", NUM_BLOCKS=[4, 4, 4, 4],
                   NUM_CHANNELS=[48, 96, 192, 384], FUSE_METHOD="SUM"),
}  # fmt: skip


def mmseg_extra(arch="W18"):
    return resolve_arch(arch).to_mmseg_extra()


def test_presets_cover_the_official_table():
    assert list(HRNET_ARCHS) == [
        "W18-Small-v1", "W18-Small-v2", "W18", "W30", "W32", "W40", "W44", "W48", "W64",
    ]  # fmt: skip
    for name, arch in HRNET_ARCHS.items():
        if name.startswith("W18-Small"):
            continue
        width = int(name[1:])
        assert arch.out_channels == (width, 2 * width, 4 * width, 8 * width)
        assert [s.num_modules for s in arch.stages] == [1, 1, 4, 3]
    small_v1, small_v2 = HRNET_ARCHS["W18-Small-v1"], HRNET_ARCHS["W18-Small-v2"]
    assert small_v1.out_channels == (16, 32, 64, 128)
    assert small_v1.stage1.num_blocks == (1,) and small_v1.stage1.num_channels == (32,)
    assert [s.num_modules for s in small_v2.stages] == [1, 1, 3, 2]
    assert small_v2.stage4.num_blocks == (2, 2, 2, 2)


@pytest.mark.parametrize(
    "name, expected",
    [("w48", "W48"), ("hrnet_w48", "W48"), ("HRNetV2-W18", "W18"),
     ("w18_small_v2", "W18-Small-v2"), ("hrnet_w18_small_v1", "W18-Small-v1")],
)  # fmt: skip
def test_preset_names_are_forgiving(name, expected):
    assert resolve_arch(name) is HRNET_ARCHS[expected]


def test_official_uppercase_and_mmseg_lowercase_specs_match_the_preset():
    assert resolve_arch(OFFICIAL_W48) == HRNET_ARCHS["W48"]
    assert resolve_arch(mmseg_extra("W48")) == HRNET_ARCHS["W48"]


def test_unknown_preset():
    with pytest.raises(ValueError) as info:
        resolve_arch("W50")
    assert str(info.value) == (
        "Unknown HRNet arch 'W50': expected one of ['W18', 'W18-Small-v1', 'W18-Small-v2', "
        "'W30', 'W32', 'W40', 'W44', 'W48', 'W64'] or an explicit stage spec (dict with "
        "stage1..stage4)."
    )


def _broken(stage, **fields):
    extra = mmseg_extra("W18")
    extra[stage] = {**extra[stage], **fields}
    return extra


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            _broken("stage3", num_blocks=(4, 4)),
            "HRNet spec stage3.num_blocks: expected 3 entries (one per branch, "
            "num_branches=3), got 2: (4, 4)",
        ),
        (
            _broken("stage4", num_channels=(18, 36, 72)),
            "HRNet spec stage4.num_channels: expected 4 entries (one per branch, "
            "num_branches=4), got 3: (18, 36, 72)",
        ),
        (
            _broken("stage2", num_branches=3),
            "HRNet spec stage2.num_branches: expected 2 (stage 2 of HRNet has 2 branches), got 3",
        ),
        (
            _broken("stage2", block="RESNEXT"),
            "HRNet spec stage2.block: expected one of ['BASIC', 'BOTTLENECK'], got 'RESNEXT'",
        ),
        (
            _broken("stage3", num_modules=0),
            "HRNet spec stage3.num_modules: expected a positive int, got 0",
        ),
        (
            _broken("stage2", num_block=(4, 4)),
            "HRNet spec stage2: unknown field(s) ['num_block']; expected ['num_modules', "
            "'num_branches', 'block', 'num_blocks', 'num_channels', 'fuse_method']",
        ),
        (
            _broken("stage4", fuse_method="CAT"),
            "HRNet spec stage4.fuse_method: only 'SUM' exists in HRNet, got 'CAT'",
        ),
        (
            {k: v for k, v in mmseg_extra().items() if k != "stage3"},
            "HRNet spec: stage3 is missing; a spec needs stage1, stage2, stage3 and stage4",
        ),
    ],
)
def test_inconsistent_spec_names_stage_and_field(spec, message):
    with pytest.raises(ValueError) as info:
        HighResolutionNet(arch=spec)
    assert str(info.value) == message


def test_official_format_errors_name_the_stage_too():
    spec = {**OFFICIAL_W48, "STAGE3": {**OFFICIAL_W48["STAGE3"], "NUM_CHANNELS": [48, 96]}}
    with pytest.raises(ValueError, match=r"^HRNet spec stage3\.num_channels: expected 3 entries"):
        resolve_arch(spec)
