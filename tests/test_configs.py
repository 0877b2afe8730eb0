"""Every zoo config builds and trains one real step (forward, loss, backward, SGD) on
CPU, on a tiny input; and the published recipe is what the config says."""

import glob
import os
import warnings

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from hrnet_seg.engine.config import load_config
from hrnet_seg.models import HighResolutionNet, SyncBNFallbackWarning, build_segmentor
from tests.conftest import REPO

CONFIGS = sorted(os.path.relpath(p, REPO) for p in glob.glob(str(REPO / "configs" / "hrnet_*.py")))
DATASETS = {  # dataset class, classes, crop, iterations, batch per GPU (4 GPUs)
    "cityscapes": ("CheckedCityscapesDataset", 19, (512, 1024), 80000, 2),
    "ade20k": ("CheckedADE20KDataset", 150, (512, 512), 160000, 4),
}
ZOO = {  # config: (arch, head, dataset)
    "configs/hrnet_w48_cityscapes.py": ("W48", "FCN", "cityscapes"),
    "configs/hrnet_w18_cityscapes.py": ("W18", "FCN", "cityscapes"),
    "configs/hrnet_w48_ocr_cityscapes.py": ("W48", "OCR", "cityscapes"),
    "configs/hrnet_w18_ocr_cityscapes.py": ("W18", "OCR", "cityscapes"),
    "configs/hrnet_w48_ade20k.py": ("W48", "FCN", "ade20k"),
    "configs/hrnet_w18_ade20k.py": ("W18", "FCN", "ade20k"),
    "configs/hrnet_w48_ocr_ade20k.py": ("W48", "OCR", "ade20k"),
    "configs/hrnet_w18_ocr_ade20k.py": ("W18", "OCR", "ade20k"),
}


def test_the_zoo_is_complete():
    assert sorted(ZOO) == CONFIGS


def heads(cfg):
    head = cfg.model.decode_head
    return list(head) if isinstance(head, list) else [head]


@pytest.mark.parametrize("config", sorted(ZOO))
def test_config_states_the_published_recipe(config):
    arch, head, dataset_key = ZOO[config]
    dataset, classes, crop, iters, batch = DATASETS[dataset_key]
    cfg = load_config(str(REPO / config))
    channels = list(HighResolutionNet(arch=arch).out_channels)
    assert cfg.model.backbone.type == "HighResolutionNet" and cfg.model.backbone.arch == arch
    assert cfg.model.backbone.pretrained == (
        f"pretrained_models/hrnetv2_{arch.lower()}_imagenet_pretrained.pth"
    )
    assert cfg.model.data_preprocessor.size == crop
    assert cfg.train_dataloader.dataset.type == dataset
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.train_cfg.max_iters == iters
    assert cfg.param_scheduler[0].end == iters
    assert all(h.num_classes == classes and h.in_channels == channels for h in heads(cfg))
    assert heads(cfg)[0].type == "HRNetV2FCNHead" and heads(cfg)[0].channels == sum(channels)
    if head == "OCR":
        assert cfg.model.type == "CascadeEncoderDecoder"
        assert [h.type for h in heads(cfg)] == ["HRNetV2FCNHead", "HRNetV2OCRHead"]
        assert [h.loss_decode.loss_weight for h in heads(cfg)] == [0.4, 1.0]
    else:
        assert cfg.model.type == "EncoderDecoder" and len(heads(cfg)) == 1
    with open(REPO / config) as f:
        assert "Published mIoU" in f.read()


# mmseg 1.2.2's fcn_hr18 / fcn_hr48 / ocrnet_hr18 / ocrnet_hr48 have exactly these.
PARAMS = {
    "configs/hrnet_w18_cityscapes.py": 9_640_849,
    "configs/hrnet_w48_cityscapes.py": 65_858_659,
    "configs/hrnet_w18_ocr_cityscapes.py": 12_080_036,
    "configs/hrnet_w48_ocr_cityscapes.py": 70_371_446,
    "configs/hrnet_w18_ade20k.py": 9_676_350,
    "configs/hrnet_w48_ade20k.py": 65_953_110,
    "configs/hrnet_w18_ocr_ade20k.py": 12_182_740,
    "configs/hrnet_w48_ocr_ade20k.py": 70_533_100,
}


def tiny_batch(num_classes, size=(64, 128), n=2):
    gen = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(n):
        sample = SegDataSample(
            metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size, flip=False)
        )
        labels = torch.randint(0, num_classes, (1, *size), generator=gen)
        labels[:, :4] = 255  # ignore_index, as in real labels
        sample.gt_sem_seg = PixelData(data=labels)
        samples.append(sample)
    inputs = [torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=gen) for _ in range(n)]
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize("config", sorted(ZOO))
def test_config_builds_and_trains_one_step(config):
    cfg = load_config(str(REPO / config))
    cfg.model.backbone.pretrained = None  # the switch that trains from scratch
    cfg.model.data_preprocessor.size = (64, 128)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build_segmentor(cfg.model)
    fallbacks = [w for w in caught if issubclass(w.category, SyncBNFallbackWarning)]
    assert len(fallbacks) == 1  # one warning per model, not one per layer
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
    assert sum(p.numel() for p in model.parameters()) == PARAMS[config]
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    classes = heads(cfg)[0].num_classes
    before = model.backbone.conv1.weight.detach().clone()

    log_vars = model.train_step(tiny_batch(classes), optim_wrapper)

    assert torch.isfinite(log_vars["loss"])
    expected_losses = {"decode.loss_ce"} if len(heads(cfg)) == 1 else {
        "decode_0.loss_ce", "decode_1.loss_ce"
    }  # fmt: skip
    assert expected_losses <= set(log_vars)
    assert not torch.equal(model.backbone.conv1.weight, before)  # the step updated weights

    results = model.test_step(tiny_batch(classes, n=1))
    assert results[0].pred_sem_seg.data.shape == (1, 64, 128)


def test_syncbn_fallback_message():
    cfg = load_config(str(REPO / "configs/hrnet_w18_cityscapes.py"))
    cfg.model.backbone.pretrained = None
    count = sum(isinstance(m, torch.nn.SyncBatchNorm) for m in MODELS.build(cfg.model).modules())
    with pytest.warns(SyncBNFallbackWarning) as record:
        model = build_segmentor(cfg.model)
    fallbacks = [w for w in record if issubclass(w.category, SyncBNFallbackWarning)]
    assert len(fallbacks) == 1
    assert str(fallbacks[0].message) == (
        f"SyncBN falls back to BN ({count} layers): the run is not distributed. Each process "
        "normalises over its own batch; set norm_cfg=dict(type='BN') in the config to silence "
        "this."
    )
    # The model then trains in train mode on CPU, where SyncBatchNorm cannot.
    model.train()
    model.backbone(torch.rand(2, 3, 64, 64))


def test_no_warning_when_there_is_no_syncbn():
    cfg = load_config(str(REPO / "configs/hrnet_w18_cityscapes.py"))
    cfg.model.backbone.pretrained = None
    cfg.model.backbone.norm_cfg = dict(type="BN", requires_grad=True)
    cfg.model.decode_head.norm_cfg = dict(type="BN", requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SyncBNFallbackWarning)
        build_segmentor(cfg.model)
