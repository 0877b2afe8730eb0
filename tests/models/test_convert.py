"""The official HRNet-Semantic-Segmentation checkpoints, converted, give the official
model's logits. The reference below rebuilds the official heads module for module
(``seg_hrnet.py``'s ``last_layer``, ``seg_hrnet_ocr.py``'s OCR modules) with random
weights; the backbone keys are the official ones (mmseg's HRNet shares them)."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

from hrnet_seg.models import build_segmentor
from hrnet_seg.models.convert import ConversionError, convert_official_segmentation
from tests.conftest import mmseg_hrnet, randomize, run_python

NUM_CLASSES = 19


def bn_relu(channels):  # official ModuleHelper.BNReLU
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU())


class OfficialFCN(nn.Module):
    """seg_hrnet.HighResolutionNet: backbone, upsample + concat, last_layer."""

    def __init__(self, arch):
        super().__init__()
        self.backbone = mmseg_hrnet(arch)
        c = sum(self.backbone.stage4_cfg["num_channels"])
        self.last_layer = nn.Sequential(
            nn.Conv2d(c, c, 1),  # with bias, followed by BN
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
            nn.Conv2d(c, NUM_CLASSES, 1),
        )
        randomize(self.last_layer, seed=1)

    def features(self, x):
        xs = self.backbone(x)
        size = xs[0].shape[-2:]
        ups = [F.interpolate(t, size=size, mode="bilinear", align_corners=False) for t in xs[1:]]
        return torch.cat([xs[0], *ups], 1)

    def forward(self, x):
        return self.last_layer(self.features(x))

    def official_state_dict(self):
        # FullModel(model, loss): `model.` prefix, plus the loss's class weights.
        state = {f"model.{k}": v for k, v in self.backbone.state_dict().items()}
        state.update({f"model.last_layer.{k}": v for k, v in self.last_layer.state_dict().items()})
        state["loss.criterion.weight"] = torch.ones(NUM_CLASSES)
        return state


class OfficialOCR(OfficialFCN):
    """seg_hrnet_ocr.HighResolutionNet's heads."""

    def __init__(self, arch, mid=512, key=256):
        super().__init__(arch)
        c = sum(self.backbone.stage4_cfg["num_channels"])
        del self.last_layer
        self.key = key
        self.conv3x3_ocr = nn.Sequential(
            nn.Conv2d(c, mid, 3, padding=1), nn.BatchNorm2d(mid), nn.ReLU()
        )
        block = nn.Module()
        block.f_pixel = nn.Sequential(
            nn.Conv2d(mid, key, 1, bias=False), bn_relu(key),
            nn.Conv2d(key, key, 1, bias=False), bn_relu(key),
        )  # fmt: skip
        block.f_object = nn.Sequential(
            nn.Conv2d(mid, key, 1, bias=False), bn_relu(key),
            nn.Conv2d(key, key, 1, bias=False), bn_relu(key),
        )  # fmt: skip
        block.f_down = nn.Sequential(nn.Conv2d(mid, key, 1, bias=False), bn_relu(key))
        block.f_up = nn.Sequential(nn.Conv2d(key, mid, 1, bias=False), bn_relu(mid))
        self.ocr_distri_head = nn.Module()
        self.ocr_distri_head.object_context_block = block
        self.ocr_distri_head.conv_bn_dropout = nn.Sequential(
            nn.Conv2d(2 * mid, mid, 1, bias=False), bn_relu(mid), nn.Dropout2d(0.05)
        )
        self.cls_head = nn.Conv2d(mid, NUM_CLASSES, 1)
        self.aux_head = nn.Sequential(
            nn.Conv2d(c, c, 1), nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, NUM_CLASSES, 1)
        )
        for i, m in enumerate(
            [self.conv3x3_ocr, self.ocr_distri_head, self.cls_head, self.aux_head]
        ):
            randomize(m, seed=10 + i)

    def forward(self, x):
        feats = self.features(x)
        out_aux = self.aux_head(feats)
        feats = self.conv3x3_ocr(feats)
        # SpatialGather_Module
        b, k = out_aux.shape[:2]
        probs = F.softmax(out_aux.view(b, k, -1), dim=2)
        context = torch.matmul(probs, feats.view(b, feats.shape[1], -1).permute(0, 2, 1))
        context = context.permute(0, 2, 1).unsqueeze(3)
        # ObjectAttentionBlock2D
        block = self.ocr_distri_head.object_context_block
        h, w = feats.shape[-2:]
        query = block.f_pixel(feats).view(b, self.key, -1).permute(0, 2, 1)
        key = block.f_object(context).view(b, self.key, -1)
        value = block.f_down(context).view(b, self.key, -1).permute(0, 2, 1)
        sim = F.softmax(self.key**-0.5 * torch.matmul(query, key), dim=-1)
        ctx = torch.matmul(sim, value).permute(0, 2, 1).contiguous().view(b, self.key, h, w)
        ctx = block.f_up(ctx)
        feats = self.ocr_distri_head.conv_bn_dropout(torch.cat([ctx, feats], 1))
        return out_aux, self.cls_head(feats)

    def official_state_dict(self):
        state = {f"model.{k}": v for k, v in self.state_dict().items()}
        state = {k.replace("model.backbone.", "model."): v for k, v in state.items()}
        state["loss.criterion.weight"] = torch.ones(NUM_CLASSES)
        return state


def our_model(config, *, width_cfg=None):
    cfg = Config.fromfile(config)
    cfg.model.backbone.pretrained = None
    return build_segmentor(cfg.model).eval()


@pytest.mark.parametrize("arch, config", [("W18", "configs/hrnet_w18_cityscapes.py")])
def test_official_fcn_checkpoint_gives_official_logits(arch, config):
    official = OfficialFCN(arch).eval()
    state, head = convert_official_segmentation(official.official_state_dict())
    assert head == "fcn"
    model = our_model(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert [k for k in missing if not k.endswith("num_batches_tracked")] == []
    assert unexpected == []
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        expected = official(x)
        actual = model.decode_head(model.extract_feat(x))
    assert expected.abs().mean() > 0.1
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)


def test_official_ocr_checkpoint_gives_official_logits():
    official = OfficialOCR("W18").eval()
    state, head = convert_official_segmentation({"state_dict": official.official_state_dict()})
    assert head == "ocr"
    model = our_model("configs/hrnet_w18_ocr_cityscapes.py")
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert [k for k in missing if not k.endswith("num_batches_tracked")] == []
    assert unexpected == []
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        expected_aux, expected = official(x)
        feats = model.extract_feat(x)
        aux = model.decode_head[0].forward(feats)
        actual = model.decode_head[1].forward(feats, aux)
    torch.testing.assert_close(aux, expected_aux, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)


def test_not_an_official_checkpoint():
    with pytest.raises(ConversionError) as info:
        convert_official_segmentation({"conv1.weight": torch.zeros(64, 3, 3, 3)})
    assert str(info.value).startswith(
        "not an official HRNet-Semantic-Segmentation checkpoint: found neither `last_layer`"
    )


def test_convert_checkpoint_cli(tmp_path):
    src = tmp_path / "hrnet_ocr_w18_official.pth"
    torch.save(OfficialOCR("W18").official_state_dict(), src)
    dst = tmp_path / "converted.pth"
    result = run_python(
        "tools/convert_checkpoint.py", str(src), str(dst),
        "--config", "configs/hrnet_w18_ocr_cityscapes.py",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "official OCR checkpoint" in result.stdout
    saved = torch.load(dst, weights_only=True)
    assert saved["meta"]["head"] == "ocr"
    assert "decode_head.1.object_context_block.query_project.0.conv.weight" in saved["state_dict"]

    # The OCR checkpoint does not fit an FCN config: a clear error, nothing written.
    wrong = tmp_path / "wrong.pth"
    result = run_python(
        "tools/convert_checkpoint.py", str(src), str(wrong),
        "--config", "configs/hrnet_w18_cityscapes.py",
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "does not load into configs/hrnet_w18_cityscapes.py" in result.stderr
    assert "Use an OCR config" in result.stderr
    assert not wrong.exists()
