"""HRFormer's constructor, presets and behaviour beyond the official fixtures
(test_hrformer_reference.py holds the parity with the official code)."""

from __future__ import annotations

import pytest
import torch
from mmseg.registry import MODELS

from hrnet_seg.models import HighResolutionTransformer, resolve_hrformer_arch
from hrnet_seg.models.hrformer import HRFORMER_ARCHS, DropPath, HRFormerArch


@pytest.mark.parametrize(
    "name, preset",
    [("S", "S"), ("HRFormer-B", "B"), ("hrt_small", "S"), ("hrt-tiny", "T"), ("t", "T")],
)
def test_preset_names(name, preset):
    assert resolve_hrformer_arch(name) is HRFORMER_ARCHS[preset]


def test_a_dict_arch_is_validated():
    arch = resolve_hrformer_arch(
        dict(num_channels=[16, 32, 64, 128], num_heads=[1, 2, 4, 8], num_modules=[1, 1, 1])
    )
    assert arch.num_channels == (16, 32, 64, 128) and arch.window_size == 7
    with pytest.raises(ValueError, match="divisible by its number of heads"):
        HRFormerArch(num_channels=(18, 36, 72, 144), num_heads=(4, 2, 4, 8), num_modules=(1, 1, 1))
    with pytest.raises(ValueError, match="num_modules: expected a tuple of 3"):
        resolve_hrformer_arch(dict(num_channels=[8] * 4, num_heads=[1] * 4, num_modules=[1, 1]))
    with pytest.raises(ValueError, match="HRFormer arch dict: .*window"):
        resolve_hrformer_arch(dict(num_channels=[8] * 4, num_heads=[1] * 4, num_modules=[1] * 3,
                                   window=7))  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(arch="XL"), "Unknown HRFormer arch 'XL'"),
        (dict(norm_cfg=dict(type="GN", num_groups=2)), "norm_cfg.type: expected one of"),
        (dict(drop_path_rate=1.0), "drop_path_rate: expected a rate in"),
        (dict(in_channels=0), "in_channels: expected >= 1"),
        (dict(pretrained="a.pth", init_cfg=dict(type="Pretrained", checkpoint="b.pth")), "either"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HighResolutionTransformer(**kwargs)


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        HighResolutionTransformer("S")


TINY = dict(num_channels=(8, 16, 32, 64), num_heads=(1, 2, 4, 8), num_modules=(1, 1, 1))


def test_built_from_mmseg_registry_and_any_input_size():
    """Every output resolution for FCN / OCR heads, at sides that are not multiples of
    32 or of the window (padded windows, resized fusion)."""
    model = MODELS.build(dict(type="HighResolutionTransformer", arch=TINY)).eval()
    with torch.no_grad():
        outputs = model(torch.randn(1, 3, 50, 94))
    assert [tuple(o.shape) for o in outputs] == [
        (1, 8, 13, 24), (1, 16, 7, 12), (1, 32, 4, 6), (1, 64, 2, 3)
    ]  # fmt: skip
    assert model.out_channels == (8, 16, 32, 64)


def test_the_drop_path_schedule_is_linear_over_stages_2_to_4():
    model = HighResolutionTransformer(arch=dict(TINY, num_modules=(1, 2, 1)), drop_path_rate=0.3)
    rates = [m.p for m in model.modules() if isinstance(m, DropPath)]
    # 8 blocks (1 + 2 + 1 modules x 2 blocks), every branch of a module the same rates.
    per_branch = [0.3 * k / 7 for k in range(1, 8)]  # the first block's rate is 0: no DropPath
    expected = per_branch[:1] * 2 + [r for r in per_branch[1:5] for _ in range(3)]
    expected += [r for r in per_branch[5:] for _ in range(4)]
    # Module order: stage 2 (2 branches), stage 3 (3 branches, 2 modules), stage 4 (4).
    assert sorted(rates) == pytest.approx(sorted(expected))
    assert HighResolutionTransformer(arch="S").drop_path_rate == 0.2


def test_drop_path_is_random_in_training_only():
    model = HighResolutionTransformer(arch=TINY, drop_path_rate=0.5)
    x = torch.randn(4, 3, 32, 64)
    model.eval()
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(model(x), model(x)))
    model.train()
    torch.manual_seed(0)
    with torch.no_grad():
        first = model(x)
    torch.manual_seed(1)
    with torch.no_grad():
        second = model(x)
    assert not all(torch.equal(a, b) for a, b in zip(first, second))


def test_checkpointing_gives_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    plain = HighResolutionTransformer(arch=TINY, drop_path_rate=0.0)
    ckpt = HighResolutionTransformer(arch=TINY, drop_path_rate=0.0, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 64)
    grads = []
    for model in (plain, ckpt):
        model.train()
        sum(o.square().sum() for o in model(x)).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    torch.testing.assert_close(grads[0], grads[1])


def test_norm_eval_freezes_batch_norm_statistics():
    model = HighResolutionTransformer(arch=TINY, norm_eval=True).train()
    before = model.bn1.running_mean.clone()
    model(torch.randn(2, 3, 32, 64))
    assert torch.equal(model.bn1.running_mean, before)
    assert model.training and not model.bn1.training
