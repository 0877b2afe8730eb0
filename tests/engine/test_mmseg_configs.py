"""mmseg's own configs in our tools (issue 14): package-scope paths resolve to the
installed files, and any config gets our metric and run record, or a clear error."""

from __future__ import annotations

from pathlib import Path

import mmseg
import pytest

from hrnet_seg.engine.config import (
    ConfigError,
    ConfigValueError,
    adopt_mmseg_config,
    load_config,
    resolve_config_path,
)

PIDNET = "mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py"
MMSEG_CONFIGS = Path(mmseg.__file__).parent / ".mim" / "configs"


def test_package_scope_is_the_installed_file():
    assert resolve_config_path(PIDNET) == str(
        MMSEG_CONFIGS / "pidnet" / "pidnet-s_2xb6-120k_1024x1024-cityscapes.py"
    )
    assert resolve_config_path("configs/hrnet_w18_cityscapes.py") == (
        "configs/hrnet_w18_cityscapes.py"
    )
    by_scope, by_path = load_config(PIDNET), load_config(resolve_config_path(PIDNET))
    assert by_scope.model == by_path.model


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscape.py",
         "Did you mean 'pidnet-s_2xb6-120k_1024x1024-cityscapes.py'"),
        ("mmseg::pidnett/x.py", "Did you mean 'pidnet'"),
        ("mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",
         "'mmdet', which is not installed: `pip install mmdet`"),
        ("nosuch::a/b.py", "not a package config path"),
    ],
)  # fmt: skip
def test_bad_package_paths_say_what_is_wrong(path, message):
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)


def test_mmsegs_evaluator_becomes_ours():
    cfg = load_config(PIDNET)
    assert cfg.val_evaluator.type == "IoUMetric"
    adopt_mmseg_config(cfg)
    assert cfg.val_evaluator == {"type": "ConfusionMatrixMetric"}
    assert cfg.test_evaluator == {"type": "ConfusionMatrixMetric"}
    assert cfg.val_dataloader.sampler.round_up is False
    assert [h["type"] for h in cfg.custom_hooks] == ["RunRecordHook"]
    adopt_mmseg_config(cfg)  # twice: nothing more
    assert [h["type"] for h in cfg.custom_hooks] == ["RunRecordHook"]


def test_other_metrics_are_named():
    cfg = load_config(PIDNET, {"val_evaluator.iou_metrics": ["mDice"]})
    with pytest.raises(ConfigValueError, match=r"val_evaluator is 'IoUMetric'.*ConfusionMatrix"):
        adopt_mmseg_config(cfg)


def test_a_class_of_a_missing_package_says_what_to_install():
    with pytest.raises(ConfigError, match=r"mmdet.MSDeformAttnPixelDecoder.*`pip install mmdet`"):
        load_config("mmseg::mask2former/mask2former_r50_8xb2-90k_cityscapes-512x1024.py")


@pytest.mark.parametrize(
    ("config", "key"),
    [("configs/peers/segformer_b0_cityscapes.py", "model.backbone.init_cfg.checkpoint"),
     ("configs/peers/deeplabv3plus_r50_cityscapes.py", "model.pretrained")],
)  # fmt: skip
def test_mmsegs_download_urls_are_named_before_anything_starts(config, key):
    from hrnet_seg.models.pretrained import PretrainedNotFoundError, check_pretrained_in_config

    with pytest.raises(PretrainedNotFoundError, match=rf"\({key}\) is a URL.*--no-pretrained"):
        check_pretrained_in_config(load_config(config).model)
