"""tools/convert_checkpoint.py: official HRNet-Semantic-Segmentation checkpoints to this
project's layout, and the config that reproduces them. That the converted model gives
the official code's outputs is tested against the official code's own outputs in
test_official_reference.py; the checkpoints here have the official layout taken from the
official models (fixtures/official_*.npz)."""

from __future__ import annotations

import pytest
import torch

from hrnet_seg.engine.config import load_config
from hrnet_seg.models.convert import ConversionError, convert_official_segmentation
from tests.conftest import run_python
from tests.models.test_official_reference import official_checkpoint


def test_not_an_official_checkpoint():
    with pytest.raises(ConversionError) as info:
        convert_official_segmentation({"conv1.weight": torch.zeros(64, 3, 3, 3)})
    assert str(info.value).startswith(
        "not an official HRNet-Semantic-Segmentation checkpoint: found neither `last_layer`"
    )


@pytest.mark.parametrize("wrapped", [False, True])
def test_every_official_key_is_used(wrapped):
    checkpoint = official_checkpoint("HRNet-OCR", "W18", "ocr")
    state, head = convert_official_segmentation(
        {"state_dict": checkpoint} if wrapped else checkpoint
    )
    assert head == "ocr"
    # The official conv biases before BN are folded into the BN means: one key fewer each.
    biases = ["aux_head.0.bias", "conv3x3_ocr.0.bias"]
    assert all(f"model.{k}" in checkpoint for k in biases)
    assert len(state) == len(checkpoint) - 1 - len(biases)  # and the loss's class weights


def convert(tmp_path, *args, arch="W18", head="ocr", branch="HRNet-OCR"):
    src = tmp_path / f"hrnet_{head}_{arch}_official.pth"
    torch.save(official_checkpoint(branch, arch, head), src)
    dst = tmp_path / "converted.pth"
    return run_python("tools/convert_checkpoint.py", str(src), str(dst), *args), src, dst


def test_convert_and_write_the_config(tmp_path):
    out = tmp_path / "configs" / "official_ocr.py"
    result, src, dst = convert(
        tmp_path, "--config", "configs/hrnet_w18_ocr_cityscapes.py", "--write-config", str(out)
    )
    assert result.returncode == 0, result.stderr
    saved = torch.load(dst, weights_only=True)
    assert result.stdout.splitlines() == [
        f"{src}: official OCR checkpoint, 19 classes, {len(saved['state_dict'])} tensors -> {dst}",
        f"config reproducing it (reproduce='official', align_corners=True) -> {out}",
        f"evaluate: python tools/test.py {out} {dst}",
    ]
    assert saved["meta"]["head"] == "ocr" and saved["meta"]["upsample"] == "official"
    assert "decode_head.1.object_context_block.query_project.0.conv.weight" in saved["state_dict"]
    cfg = load_config(str(out))  # from anywhere: _base_ is relative to the written file
    assert cfg.reproduce == "official" and cfg.align_corners is True
    assert cfg.model.backbone.upsample == "official" and cfg.model.backbone.pretrained is None
    assert [h.align_corners for h in cfg.model.decode_head] == [True, True]
    assert [h.dropout_ratio for h in cfg.model.decode_head] == [-1, 0.05]
    assert [h.num_classes for h in cfg.model.decode_head] == [19, 19]
    assert not list(out.parent.glob("*.tmp.py"))


def test_fcn_defaults_to_the_cityscapes_yamls_align_corners(tmp_path):
    out = tmp_path / "fcn.py"
    result, _, _ = convert(
        tmp_path, "--config", "configs/hrnet_w18_cityscapes.py", "--write-config", str(out),
        head="fcn",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    cfg = load_config(str(out))
    assert cfg.align_corners is False and cfg.model.backbone.upsample == "official"
    out2 = tmp_path / "fcn_ade.py"
    result, _, _ = convert(
        tmp_path, "--config", "configs/hrnet_w18_cityscapes.py", "--write-config", str(out2),
        "--align-corners", "true", head="fcn",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert load_config(str(out2)).model.decode_head.align_corners is True


@pytest.mark.parametrize(
    "config, message",
    [
        (
            "configs/hrnet_w18_cityscapes.py",
            "does not load into configs/hrnet_w18_cityscapes.py: it has an FCN model. Use an "
            "OCR config",
        ),
        (
            "configs/hrnet_w18_ocr_ade20k.py",
            "has 19 classes; configs/hrnet_w18_ocr_ade20k.py is set up for 150",
        ),
    ],
)
def test_a_config_that_does_not_fit_writes_nothing(tmp_path, config, message):
    out = tmp_path / "out.py"
    out.write_text("# an earlier config, kept\n")
    result, src, dst = convert(tmp_path, "--config", config, "--write-config", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")
    assert message in result.stderr
    assert out.read_text() == "# an earlier config, kept\n" and not dst.exists()
    assert not list(tmp_path.glob("*.tmp.py"))


def test_write_config_needs_a_base(tmp_path):
    result, _, dst = convert(tmp_path, "--write-config", str(tmp_path / "out.py"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: --write-config needs --config")
    assert not dst.exists()


def test_an_ocr_checkpoint_does_not_fit_an_fcn_config(tmp_path):
    result, _, dst = convert(tmp_path, "--config", "configs/hrnet_w18_cityscapes.py")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "does not load into configs/hrnet_w18_cityscapes.py" in result.stderr
    assert "Use an OCR config" in result.stderr
    assert not dst.exists()
