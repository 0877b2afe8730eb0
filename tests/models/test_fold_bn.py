"""models/fold_bn.py: eval-mode BN folded into the convolutions, outputs to rounding."""

import pytest
import torch
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from hrnet_seg.benchmark.models import build
from hrnet_seg.models.fold_bn import FoldBatchNormError, fold_batch_norms
from tests.conftest import REPO


def _randomise_bn(model: torch.nn.Module, seed: int = 0) -> int:
    """Non-trivial BN statistics and affine parameters (fresh ones are identities)."""
    gen = torch.Generator().manual_seed(seed)
    count = 0
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)
            count += 1
    return count


@pytest.mark.parametrize(
    "config, channels_last",
    [
        ("configs/demo/hrnet_w18s_demo_cityscapes.py", True),
        ("configs/hrnet_w18_ocr_cityscapes.py", False),
    ],
)
def test_every_bn_is_folded_and_the_logits_agree_to_rounding(config, channels_last):
    torch.manual_seed(0)
    cfg = Config.fromfile(str(REPO / config))
    model = build(cfg, channels_last=channels_last).eval()
    bns = _randomise_bn(model)
    metas = [dict(img_shape=(72, 136), ori_shape=(72, 136), pad_shape=(72, 136))]  # not /32
    x = torch.randn(1, 3, 72, 136)
    with torch.no_grad():
        expected = model.encode_decode(x, metas)
        folded = fold_batch_norms(model)
        got = model.encode_decode(x, metas)
    assert folded == bns  # every BN of backbone and heads sat right after a conv
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    # One rounding of the products instead of two, through ~60 layers: float32 noise,
    # far below what a prediction could notice.
    scale = expected.abs().max()
    assert (got - expected).abs().max() <= 1e-4 * scale
    assert (got.argmax(1) == expected.argmax(1)).float().mean() >= 0.999


def test_a_model_in_training_mode_is_refused():
    cfg = Config.fromfile(str(REPO / "configs/demo/hrnet_w18s_demo_cityscapes.py"))
    model = build(cfg).train()
    with pytest.raises(FoldBatchNormError, match="eval mode"):
        fold_batch_norms(model)
