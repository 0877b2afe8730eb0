import pytest
import torch
from mmseg.registry import MODELS

from hrnet_seg.models import HRNET_ARCHS, HighResolutionNet
from tests.conftest import mmseg_hrnet, randomize


def num_params(model):
    return sum(p.numel() for p in model.parameters())


def test_registered_in_mmseg_without_clashing():
    from mmseg.models.backbones import HRNet

    assert MODELS.get("HighResolutionNet") is HighResolutionNet
    assert MODELS.get("HRNet") is HRNet  # mmseg's own stays reachable
    model = MODELS.build(dict(type="HighResolutionNet", arch="W18-Small-v1"))
    assert isinstance(model, HighResolutionNet)


@pytest.mark.parametrize("arch", list(HRNET_ARCHS))
def test_four_resolutions_out(arch):
    model = HighResolutionNet(arch=arch).eval()
    width = model.arch.out_channels[0]
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [
        (1, width * 2**k, 64 // (4 * 2**k), 96 // (4 * 2**k)) for k in range(4)
    ]
    assert model.out_channels == model.arch.out_channels


def test_parameter_counts_equal_mmseg():
    for arch, expected in [("W18", 9_562_260), ("W48", 65_325_120)]:
        ours = HighResolutionNet(arch=arch)
        assert num_params(ours) == expected
        assert num_params(mmseg_hrnet(arch)) == expected


def test_state_dict_layout_is_the_official_one():
    keys = list(HighResolutionNet(arch="W18").state_dict())
    assert keys == list(mmseg_hrnet("W18").state_dict())
    for key in (
        "conv1.weight",
        "bn1.running_mean",
        "conv2.weight",
        "bn2.weight",
        "layer1.0.downsample.0.weight",
        "transition1.1.0.0.weight",
        "transition3.3.0.1.running_var",
        "stage2.0.branches.1.3.conv2.weight",
        "stage4.2.fuse_layers.3.0.2.0.weight",
        "stage3.3.fuse_layers.0.2.1.weight",
    ):
        assert key in keys


@pytest.mark.parametrize(
    "arch, size",
    [
        ("W18", (64, 96)),
        ("W18", (72, 100)),  # sides that are not multiples of 32 from here on
        ("W18", (97, 131)),
        ("W18-Small-v2", (250, 510)),  # W18's widths, fewer modules: cheaper at this size
        ("W48", (97, 131)),
    ],
)
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_parity_with_mmseg_hrnet(arch, size, mode):
    """upsample='mmseg' (the default) is mmseg's HRNet bit for bit at every input size:
    outputs, BN statistics after a training forward, and (to rounding) gradients."""
    reference = mmseg_hrnet(arch)
    ours = HighResolutionNet(arch=arch)
    assert ours.upsample == "mmseg" and not ours.align_corners
    ours.load_state_dict(reference.state_dict())
    getattr(reference, mode)()
    getattr(ours, mode)()
    x = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(1))
    x_ref = x.clone().requires_grad_(mode == "train")
    x_ours = x.clone().requires_grad_(mode == "train")
    expected, actual = reference(x_ref), ours(x_ours)
    assert len(actual) == 4
    for a, e in zip(actual, expected):
        assert a.abs().mean() > 0.1  # activations are O(1), so a difference would show
        assert torch.equal(a, e)
    if mode == "train":
        # Same running statistics after the step, and the same gradients.
        for (name, a), e in zip(ours.state_dict().items(), reference.state_dict().values()):
            assert torch.equal(a, e), name
        sum(o.square().mean() for o in actual).backward()
        sum(o.square().mean() for o in expected).backward()
        torch.testing.assert_close(x_ours.grad, x_ref.grad, rtol=1e-5, atol=1e-8)
        for (name, a), e in zip(ours.named_parameters(), reference.parameters()):
            torch.testing.assert_close(a.grad, e.grad, rtol=1e-5, atol=1e-7, msg=name)


@pytest.mark.parametrize("size", [(64, 96), (72, 100), (97, 131)])
def test_official_upsample_differs_from_mmseg_only_off_multiples_of_32(size):
    """The official fusion resizes straight to the branch's size; mmseg's upsamples by
    2**(j-i) first. With align_corners=False both are the same map when the sizes are
    exact multiples, and differ when an input side is not a multiple of 32."""
    mmseg_style = randomize(HighResolutionNet(arch="W18-Small-v1")).eval()
    official = HighResolutionNet(arch="W18-Small-v1", upsample="official").eval()
    official.load_state_dict(mmseg_style.state_dict())
    x = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a, b = official(x)[0], mmseg_style(x)[0]
    if size[0] % 32 == 0 and size[1] % 32 == 0:
        assert torch.equal(a, b)
    else:
        assert (a - b).abs().max() > 0.01 * b.abs().max()


def test_mmseg_upsample_has_no_align_corners():
    with pytest.raises(ValueError, match="upsample='mmseg' is mmseg's fusion"):
        HighResolutionNet(arch="W18-Small-v1", align_corners=True)
    with pytest.raises(ValueError, match="upsample: expected one of"):
        HighResolutionNet(arch="W18-Small-v1", upsample="nearest")


def test_channels_last_gives_the_same_outputs():
    model = randomize(HighResolutionNet(arch="W18")).eval()
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        expected = model(x)
        model = model.to(memory_format=torch.channels_last)
        actual = model(x.to(memory_format=torch.channels_last))
    for a, e in zip(actual, expected):
        assert a.is_contiguous(memory_format=torch.channels_last)
        # Different conv kernels sum in a different order: float32 rounding, ~1e-5
        # after 100+ layers on O(1) activations.
        torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-4 * e.abs().max().item())


def test_activation_checkpointing_changes_memory_not_results():
    plain = randomize(HighResolutionNet(arch="W18-Small-v2")).train()
    checkpointed = HighResolutionNet(arch="W18-Small-v2", with_cp=True).train()
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    for model in (plain, checkpointed):
        sum(o.sum() for o in model(x)).backward()
    for (name, a), b in zip(checkpointed.named_parameters(), plain.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_align_corners_is_a_real_switch():
    official = HighResolutionNet(arch="W18-Small-v1", upsample="official", align_corners=True)
    randomize(official).eval()
    mmseg_style = HighResolutionNet(arch="W18-Small-v1", upsample="official").eval()
    mmseg_style.load_state_dict(official.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a, b = official(x)[0], mmseg_style(x)[0]
    assert not torch.allclose(a, b)
    assert (a - b).abs().max() < a.abs().max()  # same network, a resampling detail apart


def test_odd_input_sizes():
    model = HighResolutionNet(arch="W18-Small-v1").eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 65, 97))
    assert tuple(outs[0].shape[-2:]) == (17, 25)
    assert tuple(outs[3].shape[-2:]) == (3, 4)


def test_norm_eval_keeps_bn_statistics_frozen():
    model = HighResolutionNet(arch="W18-Small-v1", norm_eval=True).train()
    before = model.bn1.running_mean.clone()
    model(torch.rand(2, 3, 64, 64))
    assert not model.bn1.training
    torch.testing.assert_close(model.bn1.running_mean, before)


def test_frozen_stages():
    model = HighResolutionNet(arch="W18-Small-v1", frozen_stages=2).train()
    frozen = ("conv1", "bn1", "conv2", "bn2", "layer1", "transition1", "stage2", "transition2")
    for name, param in model.named_parameters():
        assert param.requires_grad == (not name.startswith(frozen)), name
    assert not model.stage2.training and model.stage3.training
    everything = HighResolutionNet(arch="W18-Small-v1", frozen_stages=4)
    assert not any(p.requires_grad for p in everything.parameters())


@pytest.mark.parametrize(
    "norm_cfg, layer",
    [
        (dict(type="BN"), torch.nn.BatchNorm2d),
        (dict(type="SyncBN"), torch.nn.SyncBatchNorm),
        (dict(type="GN", num_groups=4), torch.nn.GroupNorm),
    ],
)
def test_norm_types(norm_cfg, layer):
    model = HighResolutionNet(arch="W18-Small-v1", norm_cfg=norm_cfg)
    assert isinstance(model.bn1, layer)
    assert isinstance(model.stage4[0].fuse_layers[0][1][1], layer)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(norm_cfg=dict(type="LN")),
            "HighResolutionNet norm_cfg.type: expected one of ('BN', 'SyncBN', 'GN'), got 'LN'",
        ),
        (
            dict(norm_cfg=dict(type="GN")),
            "HighResolutionNet norm_cfg: GN needs num_groups, e.g. "
            "dict(type='GN', num_groups=2, requires_grad=True)",
        ),
        (
            dict(frozen_stages=5),
            "HighResolutionNet frozen_stages: expected -1 (none) to 4, got 5",
        ),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError) as info:
        HighResolutionNet(arch="W18-Small-v1", **kwargs)
    assert str(info.value) == message


def test_constructor_is_keyword_only():
    with pytest.raises(TypeError):
        HighResolutionNet("W18")


def test_docstring_example():
    import doctest

    import hrnet_seg.models.hrnet as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
