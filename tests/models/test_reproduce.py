"""One switch (``reproduce`` / ``align_corners``, top level of every zoo config) sets the
resampling of the backbone, every head, the loss and the final resize together."""

from __future__ import annotations

import pytest
import torch

from hrnet_seg.engine.config import load_config
from hrnet_seg.models import build_segmentor
from hrnet_seg.models.convert import convert_official_segmentation
from hrnet_seg.models.reproduce import ReproduceError
from tests.conftest import REPO, run_python
from tests.models.official_reference import assert_matches, random_input
from tests.models.test_official_reference import fixture, official_checkpoint

FCN = str(REPO / "configs/hrnet_w18_cityscapes.py")
OCR = str(REPO / "configs/hrnet_w18_ocr_cityscapes.py")


def resampling(cfg):
    heads = cfg.model.decode_head
    heads = heads if isinstance(heads, list) else [heads]
    return (
        cfg.model.backbone.upsample,
        cfg.model.backbone.align_corners,
        [h.align_corners for h in heads],
        [h.get("dropout_ratio") for h in heads],
    )


def test_the_zoo_reproduces_mmseg():
    assert resampling(load_config(OCR)) == ("mmseg", False, [False, False], [-1, -1])
    assert resampling(load_config(FCN)) == ("mmseg", False, [False], [-1])


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"reproduce": "official"}, ("official", True, [True, True], [-1, 0.05])),
        (
            {"reproduce": "official", "align_corners": False},
            ("official", False, [False, False], [-1, 0.05]),
        ),
        # A regulariser, not resampling: an explicit dropout wins.
        (
            {"reproduce": "official", "model.decode_head.1.dropout_ratio": 0.1},
            ("official", True, [True, True], [-1, 0.1]),
        ),
    ],
)
def test_one_switch_sets_every_resampling(options, expected):
    cfg = load_config(OCR, options)
    assert resampling(cfg) == expected
    model = build_segmentor(cfg.model)
    # The final resize (EncoderDecoder.postprocess_result) and the loss follow the heads.
    assert model.align_corners is expected[1]
    assert all(m.align_corners is expected[1] for m in model.backbone.stage4)


def test_the_switch_alone_reproduces_an_official_model():
    """No converter: a zoo config with reproduce='official' and the converted weights
    gives the official OCR model's outputs (fixture made by the official code)."""
    manifest, arrays = fixture("HRNet-OCR")
    case = next(c for c in manifest["cases"] if c["name"] == "W18/ocr/ac=True/eval/72x100")
    state, _ = convert_official_segmentation(official_checkpoint("HRNet-OCR", "W18", "ocr"))
    cfg = load_config(OCR, {"reproduce": "official"})
    model = build_segmentor(cfg.model).eval()
    model.load_state_dict(state, strict=False)
    x = random_input((1, 3, 72, 100), manifest["input_seed"])
    with torch.no_grad():
        logits = model.encode_decode(x, [dict(img_shape=(72, 100), ori_shape=(72, 100))])
    fields = ("shape", "max_abs", "probes", "projections")
    summary = {f: arrays[f"{case['name']}/main/{f}"] for f in fields}
    assert_matches(logits, summary, manifest["input_seed"], case["name"])
    # ... which the zoo's mmseg reproduction does not (align_corners differs).
    cfg = load_config(OCR)
    model = build_segmentor(cfg.model).eval()
    model.load_state_dict(state, strict=False)
    with torch.no_grad():
        mmseg_logits = model.encode_decode(x, [dict(img_shape=(72, 100), ori_shape=(72, 100))])
    with pytest.raises(AssertionError, match="differ"):
        assert_matches(mmseg_logits, summary, manifest["input_seed"], case["name"])


@pytest.mark.parametrize(
    "options, message",
    [
        (
            # The old recipe: the backbone alone, the heads and the final resize left False.
            {"model.backbone.align_corners": True},
            "model.backbone.align_corners=True contradicts the config's switch "
            "(reproduce='mmseg', align_corners=None, which gives align_corners=False).",
        ),
        (
            {"reproduce": "official", "model.decode_head.0.align_corners": False},
            "model.decode_head.0.align_corners=False contradicts the config's switch "
            "(reproduce='official', align_corners=None, which gives align_corners=True).",
        ),
        (
            {"align_corners": True},
            "reproduce='mmseg' resamples with align_corners=False everywhere (mmseg's HRNet "
            "has no other); align_corners=True exists in the official code: set "
            "reproduce='official'",
        ),
        ({"reproduce": "paper"}, "reproduce='paper': expected one of ['mmseg', 'official']"),
    ],
)
def test_contradictions_are_errors(options, message):
    with pytest.raises(ReproduceError) as info:
        load_config(OCR, options)
    assert message in str(info.value)


def test_print_config_shows_the_resolved_keys():
    result = run_python(
        "tools/print_config.py", "configs/hrnet_w18_cityscapes.py",
        "--cfg-options", "reproduce=official", "align_corners=False",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "upsample='official'" in result.stdout
    assert "align_corners=True" not in result.stdout


def test_a_contradiction_is_one_error_line_from_the_tools(tmp_path):
    result = run_python(
        "tools/test.py", "configs/hrnet_w18_cityscapes.py", str(tmp_path / "none.pth"),
        "--cfg-options", "model.decode_head.align_corners=True",
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: model.decode_head.align_corners=True contradicts")
