import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from hrnet_seg.models import (
    CheckpointMismatchError,
    HighResolutionNet,
    PretrainedNotFoundError,
    load_backbone_weights,
)
from hrnet_seg.models.pretrained import check_pretrained_in_config
from hrnet_seg.utils.torch_load import CheckpointReadError
from tests.conftest import mmseg_hrnet

IMAGENET_HEAD = {  # HRNet-Image-Classification's head, a few representative tensors
    "incre_modules.0.0.conv1.weight": (32, 18, 1, 1),
    "incre_modules.0.0.bn1.running_mean": (32,),
    "downsamp_modules.0.0.weight": (256, 128, 3, 3),
    "downsamp_modules.0.0.bias": (256,),
    "final_layer.0.weight": (2048, 1024, 1, 1),
    "final_layer.1.running_var": (2048,),
    "classifier.weight": (1000, 2048),
    "classifier.bias": (1000,),
}


def backbone_state(arch="W18"):
    return mmseg_hrnet(arch).state_dict()


def official_imagenet_checkpoint(path, arch="W18"):
    """The official ImageNet file: a bare state dict, saved before PyTorch 0.4.1 (no
    num_batches_tracked), with the classification head."""
    state = {k: v for k, v in backbone_state(arch).items() if "num_batches_tracked" not in k}
    state.update({k: torch.randn(shape) for k, shape in IMAGENET_HEAD.items()})
    torch.save(state, path)
    return state


def timm_checkpoint(path, arch="W18"):
    """timm's hrnet_w* state dict: the official names, with num_batches_tracked."""
    state = dict(backbone_state(arch))
    state.update({k: torch.randn(shape) for k, shape in IMAGENET_HEAD.items()})
    torch.save(state, path)
    return state


def mmseg_checkpoint(path, arch="W18"):
    """An mmseg segmentor checkpoint as mmengine writes it: meta with numpy values,
    a message hub with HistoryBuffers, optimizer state."""
    from mmengine.runner.checkpoint import save_checkpoint

    state = backbone_state(arch)
    hub = MessageHub.get_instance("test_pretrained")
    hub.update_scalar("train/loss", np.float64(0.5))
    hub.update_info("iter", 8000)
    checkpoint = {
        "meta": {"seed": np.int64(3), "iter": 8000, "dataset_meta": {"classes": ("a", "b")}},
        "state_dict": {
            **{f"backbone.{k}": v for k, v in state.items()},
            "decode_head.conv_seg.weight": torch.randn(19, 270, 1, 1),
        },
        "message_hub": hub.state_dict(),
        "optimizer": {"state": {}, "param_groups": [{"lr": np.float64(0.01), "params": []}]},
    }
    save_checkpoint(checkpoint, str(path))
    return state


def assert_weights_equal(model, state):
    own = model.state_dict()
    for key, value in state.items():
        if key in own:
            torch.testing.assert_close(own[key], value, msg=key)


@pytest.mark.parametrize(
    "make, layout, dropped",
    [
        (official_imagenet_checkpoint, "hrnet-official-imagenet/timm", len(IMAGENET_HEAD)),
        (timm_checkpoint, "hrnet-official-imagenet/timm", len(IMAGENET_HEAD)),
        (mmseg_checkpoint, "mmseg", 0),
    ],
)
def test_layouts_load(tmp_path, make, layout, dropped):
    path = str(tmp_path / "weights.pth")
    state = make(path)
    model = HighResolutionNet(arch="W18")
    report = load_backbone_weights(model, path)
    assert report.layout == layout
    assert len(report.dropped) == dropped
    assert report.missing == [] and report.unexpected == []
    assert report.loaded == len([k for k in state if k in model.state_dict()])
    assert_weights_equal(model, state)
    assert f"(layout: {layout})" in report.summary()


def test_pretrained_through_init_weights_and_init_cfg(tmp_path):
    path = str(tmp_path / "hrnetv2_w18_imagenet_pretrained.pth")
    state = official_imagenet_checkpoint(path)
    for kwargs in (dict(pretrained=path), dict(init_cfg=dict(type="Pretrained", checkpoint=path))):
        model = HighResolutionNet(arch="W18", **kwargs)
        model.init_weights()
        assert_weights_equal(model, state)


def test_wrong_width_names_the_first_mismatched_keys(tmp_path):
    path = str(tmp_path / "w48.pth")
    official_imagenet_checkpoint(path, arch="W48")
    with pytest.raises(CheckpointMismatchError) as info:
        load_backbone_weights(HighResolutionNet(arch="W18"), path)
    message = str(info.value)
    assert message.startswith(
        f"Checkpoint {path!r} (layout: hrnet-official-imagenet/timm) does not match "
        "HighResolutionNet(arch='W18'):\n  shape mismatch ("
    )
    # Stem and layer1 are identical across widths; the first difference is transition1.
    assert (
        "  shape mismatch (1450): transition1.0.0.weight: checkpoint (48, 256, 3, 3) vs model "
        "(18, 256, 3, 3), transition1.0.1.weight: checkpoint (48,) vs model (18,), " in message
    )
    assert "missing in checkpoint" not in message  # W18 and W48 share every key name
    assert message.endswith(
        "Set the backbone's arch to the checkpoint's (e.g. W48 weights need arch='W48'), "
        "or pass pretrained_strict=False to load only what matches."
    )


def test_fewer_modules_is_a_mismatch_too(tmp_path):
    # Same widths, fewer modules: no shape differs, keys do.
    path = str(tmp_path / "w18.pth")
    timm_checkpoint(path, arch="W18")
    with pytest.raises(CheckpointMismatchError) as info:
        load_backbone_weights(HighResolutionNet(arch="W18-Small-v2"), path)
    assert "unexpected in checkpoint (" in str(info.value)
    assert "stage3.3.branches.0.0.bn1.bias" in str(info.value) or "layer1.2" in str(info.value)
    # Asked for explicitly, a partial load goes through and reports what it skipped.
    model = HighResolutionNet(arch="W18-Small-v2")
    report = load_backbone_weights(model, path, strict=False)
    assert report.unexpected and not report.missing


def test_missing_pretrained_is_a_clear_error_before_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = (
        "Pretrained checkpoint not found: 'pretrained_models/none.pth' "
        f"(model.backbone.pretrained, resolved from {str(tmp_path)!r}). Nothing is downloaded: "
        "get the official HRNet ImageNet weights (README section 'Pretrained weights') and put "
        "the file at that path, or train from scratch with `--no-pretrained` "
        "(or `--cfg-options model.backbone.pretrained=None`)."
    )
    with pytest.raises(PretrainedNotFoundError) as info:
        check_pretrained_in_config({"backbone": {"pretrained": "pretrained_models/none.pth"}})
    assert str(info.value) == expected
    model = HighResolutionNet(arch="W18-Small-v1", pretrained="pretrained_models/none.pth")
    with pytest.raises(PretrainedNotFoundError) as info:
        model.init_weights()
    assert str(info.value) == expected


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/hrnet_seg_pwned",))


def test_untrusted_pickles_are_refused_not_run(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"conv1.weight": _Payload()}, f)
    with pytest.raises(CheckpointReadError, match=r"weights_only=True"):
        load_backbone_weights(HighResolutionNet(arch="W18-Small-v1"), str(path))
    assert not os.path.exists("/tmp/hrnet_seg_pwned")


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "cut.pth"
    timm_checkpoint(str(path), arch="W18-Small-v1")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointReadError) as info:
        load_backbone_weights(HighResolutionNet(arch="W18-Small-v1"), str(path))
    assert str(info.value).startswith(f"Could not read checkpoint {str(path)!r}: ")
    assert "truncated" in str(info.value)


def test_official_segmentation_heads_are_named_as_such(tmp_path):
    from tests.models.test_official_reference import official_checkpoint

    path = str(tmp_path / "hrnet_w18_fcn_official.pth")
    torch.save(official_checkpoint("HRNet-OCR", "W18", "fcn"), path)
    model = HighResolutionNet(arch="W18", upsample="official")
    report = load_backbone_weights(model, path)
    assert report.layout == "hrnet-official-seg"
    assert sorted({k.split(".")[0] for k in report.dropped}) == ["last_layer"]
    assert (
        f"dropped {len(report.dropped)} segmentation-head keys (official FCN `last_layer` / "
        "OCR heads)" in report.summary()
    )
    assert "classification" not in report.summary()


@pytest.mark.parametrize(
    "make, upsample, warns",
    [
        (mmseg_checkpoint, "official", "mmseg"),
        (mmseg_checkpoint, "mmseg", None),
        (official_imagenet_checkpoint, "official", None),  # no segmentation fusion in it
        (official_imagenet_checkpoint, "mmseg", None),
    ],
)
def test_a_checkpoint_of_the_other_fusion_warns_once(tmp_path, make, upsample, warns):
    import warnings

    from hrnet_seg.models.pretrained import FusionMismatchWarning

    path = str(tmp_path / "weights.pth")
    make(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_backbone_weights(HighResolutionNet(arch="W18", upsample=upsample), path)
    found = [w for w in caught if issubclass(w.category, FusionMismatchWarning)]
    if warns is None:
        assert found == []
    else:
        assert len(found) == 1
        assert str(found[0].message) == (
            f"{path} was trained with {warns}'s fusion upsampling and this backbone has "
            f"upsample={upsample!r}: outputs differ wherever an input side is not a multiple "
            f"of 32. To reproduce the checkpoint's model, set the config's "
            f"reproduce={warns!r} (the backbone's upsample={warns!r}; README 'Fidelity: "
            "mmseg or official')."
        )


@pytest.mark.parametrize(
    "meta, expected",
    [
        ({"cfg": "model = dict(backbone=dict(type='HRNet', extra=dict()))"}, "mmseg"),
        ({"cfg": "backbone=dict(type='HighResolutionNet', upsample='official')"}, "official"),
        ({"cfg": "backbone=dict(type='HighResolutionNet')"}, None),  # before the option
        ({"upsample": "official", "converted_from": "x.pth"}, "official"),
        ({}, "mmseg"),  # the layout decides
    ],
)
def test_trained_upsample(meta, expected):
    from hrnet_seg.models.pretrained import trained_upsample

    assert trained_upsample({"meta": meta, "state_dict": {}}, layout="mmseg") == expected
