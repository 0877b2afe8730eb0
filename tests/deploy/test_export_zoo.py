"""Every zoo config exports and its ONNX model agrees with torch: ONNX Runtime CPU vs the
torch graph on the same images, max |dlogit| <= 1e-4 x max |logit| and argmax agreement
>= 99.99 %, at two sizes (one not divisible by 32) through the one dynamic-shape model.

Random weights (``tests.conftest.randomize``: well-scaled, so the logits vary), exported
at 64x128 and checked at 64x128 and 72x136 (72 and 136 are not multiples of 32, where
HRNet's fusion resizes to the next branch's size and a traced graph that froze a size
would be wrong).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from hrnet_seg.deploy.model import load_model
from hrnet_seg.deploy.onnx import check_parity, export_onnx
from tests.conftest import REPO, randomize

pytestmark = pytest.mark.slow

ZOO = sorted(
    str(p.relative_to(REPO))
    for p in (REPO / "configs").glob("hrnet_*.py")  # the 8 HRNetV2 FCN / OCR configs
)
SIZES = [(64, 128), (72, 136)]


def test_the_zoo_is_the_eight_hrnet_configs():
    assert len(ZOO) == 8, ZOO


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    cache = {}

    def export(config: str, **kw):
        key = (config, tuple(sorted(kw.items())))
        if key not in cache:
            loaded = load_model(str(REPO / config), None)
            randomize(loaded.segmentor, seed=len(cache))
            path = tmp_path_factory.mktemp("onnx") / "model.onnx"
            meta = export_onnx(loaded, str(path), **kw)
            cache[key] = (loaded, path, meta)
        return cache[key]

    return export


@pytest.mark.parametrize("config", ZOO)
def test_zoo_config_exports_with_parity_at_two_sizes(exported, config):
    loaded, path, meta = exported(config)
    results = check_parity(loaded, str(path), SIZES)
    for parity in results:
        assert parity.ok, f"{config}: {parity.line()}"
    assert [p.size for p in results] == SIZES
    assert meta["hrnet_seg.shape"] == "dynamic N,H,W"


def test_metadata_props_say_what_the_model_is(exported):
    config = "configs/hrnet_w48_ocr_cityscapes.py"
    loaded, path, meta = exported(config)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props == meta
    assert props["hrnet_seg.classes"].startswith('["road", "sidewalk"')
    assert props["hrnet_seg.mean"] == "[123.675, 116.28, 103.53]"
    assert props["hrnet_seg.align_corners"] == "false"
    assert props["hrnet_seg.input_layout"] == "NHWC uint8 RGB"
    assert props["hrnet_seg.opset"] == "17"
    assert len(props["hrnet_seg.config_sha256"]) == 64
    model = onnx.load(str(path))
    assert model.opset_import[0].version == 17
    (image,) = model.graph.input
    dims = [d.dim_param or d.dim_value for d in image.type.tensor_type.shape.dim]
    assert dims == ["batch", "height", "width", 3]


def test_argmax_and_static_models(exported):
    from hrnet_seg.deploy.onnx import OnnxModel, parity_image

    config = "configs/hrnet_w18_cityscapes.py"
    loaded, logits_path, _ = exported(config)
    labels_loaded, labels_path, meta = exported(config, argmax=True, static_size=(72, 136))
    assert meta["hrnet_seg.output"] == "labels" and meta["hrnet_seg.shape"] == "static 72x136"
    image = parity_image((72, 136), seed=5)[None]
    labels = OnnxModel(str(labels_path)).run(image)
    assert labels.dtype == np.uint8 and labels.shape == (1, 72, 136)
    from hrnet_seg.deploy.onnx import inference_graph

    with torch.no_grad():
        ref = inference_graph(labels_loaded)(torch.from_numpy(image)).argmax(1).numpy()
    assert (labels == ref).mean() >= 0.9999
    # A static model refuses another size rather than computing a wrong one.
    with pytest.raises(Exception, match="(?i)dimension|shape|invalid"):
        OnnxModel(str(labels_path)).run(parity_image((64, 128))[None])


def test_tta_mode_is_not_exported(tmp_path):
    from hrnet_seg.deploy import DeployError

    loaded = load_model(str(REPO / "configs/hrnet_w18_cityscapes.py"), None, mode="tta")
    with pytest.raises(DeployError, match="tta"):
        export_onnx(loaded, str(tmp_path / "m.onnx"))
    assert not any(Path(tmp_path).iterdir())


def test_hrformer_exports_with_a_dynamic_size(exported):
    """HRFormer's window attention pads to whole windows and its fusion resizes when
    sizes differ: both take their shape-free path while tracing."""
    loaded, path, _ = exported("configs/hrformer_s_ocr_cityscapes.py")
    for parity in check_parity(loaded, str(path), SIZES):
        assert parity.ok, parity.line()


def test_lite_hrnet_exports_static_and_says_why_not_dynamic(exported, tmp_path):
    """Lite-HRNet pools every branch adaptively to the smallest branch's size, which ONNX
    cannot express at a dynamic size: a clear error naming --static, no file left; the
    static export at a multiple of 32 has parity."""
    from hrnet_seg.deploy import DeployError

    config = "configs/lite_hrnet_18_cityscapes.py"
    loaded = load_model(str(REPO / config), None)
    with pytest.raises(DeployError, match=r"adaptively.*--static H W"):
        export_onnx(loaded, str(tmp_path / "m.onnx"))
    assert not any(Path(tmp_path).iterdir())
    loaded, path, _ = exported(config, static_size=(64, 128))
    (parity,) = check_parity(loaded, str(path), [(64, 128)])
    assert parity.ok, parity.line()
