"""One slide-window rule (mmseg's 2/3 stride) for tools/test.py and the benchmark."""

import pytest

from hrnet_seg.engine.config import configure_test, load_config
from hrnet_seg.models.inference import slide_test_cfg
from tests.conftest import REPO

DEMO = REPO / "configs/demo/hrnet_w18s_demo_cityscapes.py"


@pytest.mark.parametrize(
    ("crop", "stride"),
    # mmseg 1.2.2's configs: 480 -> 320 (HRNet, Pascal Context), 512 -> 341, 640 -> 426,
    # 768 -> 512, 256 -> 170; ours: 512x1024 -> 341x682; a 1-pixel crop still moves.
    [((480, 480), (320, 320)), ((512, 512), (341, 341)), ((640, 640), (426, 426)),
     ((768, 768), (512, 512)), ((256, 256), (170, 170)), ((512, 1024), (341, 682)),
     ((1, 2), (1, 1))],
)  # fmt: skip
def test_stride_is_two_thirds_of_the_crop(crop, stride):
    cfg = slide_test_cfg(crop)
    assert cfg == dict(mode="slide", crop_size=crop, stride=stride)
    assert cfg.stride == stride  # mmseg's slide_inference reads attributes


@pytest.mark.parametrize("crop", [(512,), (0, 512), (512.0, 512), "512"])
def test_bad_crops(crop):
    with pytest.raises(ValueError, match="crop_size: expected two positive integers"):
        slide_test_cfg(crop)


def test_test_tool_uses_the_rule():
    cfg = configure_test(load_config(str(DEMO)), checkpoint="c.pth", mode="slide")
    crop = tuple(cfg.model.data_preprocessor.size)
    assert cfg.model.test_cfg == slide_test_cfg(crop)
