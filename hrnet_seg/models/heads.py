"""mmseg's FCN and OCR heads with a leaner HRNetV2 representation step.

HRNetV2 (paper Sec. 4) upsamples the four branch outputs to the highest resolution and
concatenates them. mmseg's ``resize_concat`` also "resizes" the first branch to its own
size (a full bilinear pass that copies the largest tensor), and in the OCR cascade both
heads redo the whole upsample-and-concatenate on the same features. Here the identity
resize is skipped and the cascade's second head reuses the first head's result. The
outputs are bit-identical to mmseg's heads (an identity bilinear resize with
either ``align_corners`` reproduces its input exactly); parameters and state-dict keys
are the same, so checkpoints are interchangeable.
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F
from mmseg.models.decode_heads import FCNHead, OCRHead
from mmseg.registry import MODELS

# id(first backbone output) -> (weakref to it, inputs and settings, result). An entry
# is dropped when that tensor is freed, i.e. with the forward pass (and its graph).
_CONCAT_CACHE: dict[int, tuple] = {}


def resize_concat(
    inputs: list[torch.Tensor] | tuple[torch.Tensor, ...], *, align_corners: bool
) -> torch.Tensor:
    """Upsample every input to the first one's size and concatenate along channels."""
    first = inputs[0]
    if torch.compiler.is_compiling():
        # The cache is Python state keyed on tensor identity, which a compiled graph
        # cannot guard on; inside a compiled head the concat is simply part of its graph.
        return _upsample_concat(inputs, align_corners=align_corners)
    key = (tuple((id(t), t._version) for t in inputs), align_corners)
    hit = _CONCAT_CACHE.get(id(first))
    if hit is not None and hit[0]() is first and hit[1] == key:
        return hit[2]
    result = _upsample_concat(inputs, align_corners=align_corners)
    if id(first) not in _CONCAT_CACHE:
        weakref.finalize(first, _CONCAT_CACHE.pop, id(first), None)
    _CONCAT_CACHE[id(first)] = (weakref.ref(first), key, result)
    return result


def _upsample_concat(inputs, *, align_corners: bool) -> torch.Tensor:
    size = inputs[0].shape[-2:]
    parts = [inputs[0]]
    parts += [
        t if t.shape[-2:] == size
        else F.interpolate(t, size=size, mode="bilinear", align_corners=align_corners)
        for t in inputs[1:]
    ]  # fmt: skip
    return torch.cat(parts, dim=1)


class _HRNetV2Inputs:
    def _transform_inputs(self, inputs):
        if self.input_transform != "resize_concat":
            return super()._transform_inputs(inputs)
        return resize_concat([inputs[i] for i in self.in_index], align_corners=self.align_corners)


@MODELS.register_module()
class HRNetV2FCNHead(_HRNetV2Inputs, FCNHead):
    """mmseg's ``FCNHead`` with the lean HRNetV2 upsample-and-concatenate."""


@MODELS.register_module()
class HRNetV2OCRHead(_HRNetV2Inputs, OCRHead):
    """mmseg's ``OCRHead`` with the lean HRNetV2 upsample-and-concatenate."""
