"""The HRFormer zoo configs state the official recipe (HRNet/HRFormer seg scripts and
configs, see configs/_base_/models/ocr_hrformer.py and schedule_80k_adamw.py), build,
and give the optimizer the official weight-decay groups."""

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from hrnet_seg.engine.config import load_config
from hrnet_seg.models import HighResolutionTransformer, build_segmentor
from tests.conftest import REPO

ZOO = {
    "configs/hrformer_s_ocr_cityscapes.py": ("S", "hrt_small"),
    "configs/hrformer_b_ocr_cityscapes.py": ("B", "hrt_base"),
}


@pytest.mark.parametrize("config", sorted(ZOO))
def test_config_states_the_official_recipe(config):
    arch, weights = ZOO[config]
    cfg = load_config(str(REPO / config))
    backbone = cfg.model.backbone
    assert backbone.type == "HighResolutionTransformer" and backbone.arch == arch
    assert backbone.pretrained == f"pretrained_models/{weights}.pth"
    channels = list(HighResolutionTransformer(arch=arch).out_channels)
    aux, ocr = cfg.model.decode_head
    assert cfg.model.type == "CascadeEncoderDecoder"
    assert (aux.type, ocr.type) == ("HRNetV2FCNHead", "HRNetV2OCRHead")
    assert aux.in_channels == ocr.in_channels == channels
    # official aux_head: 3x3 conv to 512; OCR: 512 wide, 256-wide object attention.
    assert (aux.kernel_size, aux.channels, ocr.channels, ocr.ocr_channels) == (3, 512, 512, 256)
    assert [h.loss_decode.loss_weight for h in (aux, ocr)] == [0.4, 1.0]
    # No class weights: mmseg 1.2.2 cannot (configs/_base_/models/ocr_hrformer.py).
    assert all("class_weight" not in h.loss_decode for h in (aux, ocr))
    assert ocr.sampler == dict(type="OHEMPixelSampler", thresh=0.9, min_kept=100000)
    # The "official" switch: align_corners=True everywhere, Dropout2d(0.05) in OCR.
    assert aux.align_corners and ocr.align_corners and ocr.dropout_ratio == 0.05
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == ("AdamW", 1e-4, 0.01)
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end) == ("LinearLR", 1e-6, 1500)
    assert (poly.type, poly.power, poly.begin, poly.end) == ("PolyLR", 0.9, 1500, 80000)
    assert cfg.train_cfg.max_iters == 80000
    assert cfg.model.data_preprocessor.size == (512, 1024)
    assert cfg.train_dataloader.batch_size == 2  # x 4 GPUs = the official batch 8
    with open(REPO / config) as f:
        assert "Published mIoU" in f.read()


def test_weight_decay_only_on_conv_and_linear_weights():
    """As the official ``group_weight``: no decay on biases, norms (BN and LayerNorm) or
    the relative position bias tables."""
    cfg = load_config(str(REPO / "configs/hrformer_s_ocr_cityscapes.py"))
    cfg.model.backbone.pretrained = None
    model = build_segmentor(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    decay_of = {}
    for group in wrapper.optimizer.param_groups:
        for p in group["params"]:
            decay_of[id(p)] = group["weight_decay"]
    for name, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            weighted = isinstance(module, torch.nn.Conv2d | torch.nn.Linear) and pname == "weight"
            assert decay_of[id(p)] == (0.01 if weighted else 0.0), f"{name}.{pname}"
