"""mmseg's own CrossEntropyLoss with class weights, with and without our fix
(compat/mmseg_losses.py): unchanged where mmseg's code runs, PyTorch's weighted mean
where it fails (ignored pixels, open-mmlab/mmsegmentation#3734)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from mmseg.models.losses import CrossEntropyLoss, cross_entropy_loss

# PIDNet's and DDRNet's Cityscapes class weights (mmseg's configs), 19 classes.
WEIGHTS = [0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786, 1.0023,
           0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529, 1.0507]  # fmt: skip


def _inputs(seed: int = 0, *, ignored: bool):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 19, 8, 16, generator=gen)
    label = torch.randint(0, 19, (2, 8, 16), generator=gen)
    if ignored:
        label[:, :2] = 255  # a padded border, as every Cityscapes crop has
    return logits, label


def test_the_fix_is_installed_by_importing_hrnet_seg():
    assert getattr(cross_entropy_loss.cross_entropy, "hrnet_seg_fix", False)


def test_mmseg_unpatched_fails_on_ignored_pixels():
    """The bug the fix exists for; when mmseg fixes it, this fails and the fix can go."""
    original = cross_entropy_loss.cross_entropy.__wrapped__
    logits, label = _inputs(ignored=True)
    weight = logits.new_tensor(WEIGHTS)
    with pytest.raises(IndexError, match="index 255 is out of bounds"):
        original(logits, label, class_weight=weight, ignore_index=255)


@pytest.mark.parametrize("avg_non_ignore", [False, True])
def test_unchanged_where_mmseg_runs(avg_non_ignore):
    original = cross_entropy_loss.cross_entropy.__wrapped__
    logits, label = _inputs(ignored=False)
    loss = CrossEntropyLoss(class_weight=WEIGHTS, loss_weight=0.4, avg_non_ignore=avg_non_ignore)
    expected = 0.4 * original(logits, label, class_weight=logits.new_tensor(WEIGHTS),
                              ignore_index=255, avg_non_ignore=avg_non_ignore)  # fmt: skip
    assert torch.equal(loss(logits, label, ignore_index=255), expected)


@pytest.mark.parametrize("avg_non_ignore", [False, True])
def test_ignored_pixels_give_pytorchs_weighted_mean(avg_non_ignore):
    logits, label = _inputs(ignored=True)
    loss = CrossEntropyLoss(class_weight=WEIGHTS, loss_weight=0.4, avg_non_ignore=avg_non_ignore)
    got = loss(logits, label, ignore_index=255)
    expected = 0.4 * F.cross_entropy(logits, label, weight=torch.tensor(WEIGHTS), ignore_index=255)
    torch.testing.assert_close(got, expected)


def test_without_class_weights_mmseg_is_untouched():
    logits, label = _inputs(ignored=True)
    original = cross_entropy_loss.cross_entropy.__wrapped__
    assert torch.equal(CrossEntropyLoss()(logits, label, ignore_index=255),
                       original(logits, label, ignore_index=255))  # fmt: skip
