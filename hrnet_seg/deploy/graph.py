"""The whole-image inference graph that is exported: image in, logits (or labels) out.

An exported model must be usable without this package, so everything between a decoded
image and the class scores is inside the graph: the data preprocessor's normalisation
(uint8 RGB in, as images come from PIL, imageio or a video decoder), the backbone, the
decode head(s) and the head's resize back to the input size. What stays outside is what
depends on the original image and the config's test pipeline (the keep-ratio resize
before the model and the resize of the logits back to the original image), which
:class:`hrnet_seg.deploy.Segmenter` applies exactly as ``tools/test.py`` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

#: The graph's input: one name, uint8, N x H x W x 3, RGB (PIL / imageio order).
INPUT_NAME = "image"
INPUT_LAYOUT = "NHWC uint8 RGB"
LOGITS_NAME = "logits"
LABELS_NAME = "labels"


class InferenceGraph(nn.Module):
    """A segmentor's whole-image inference, from uint8 pixels to full-size class scores.

    Args:
        segmentor: an mmseg ``EncoderDecoder`` / ``CascadeEncoderDecoder`` in eval mode.
        mean, std: the data preprocessor's per-channel statistics, RGB order.
        align_corners: the last decode head's ``align_corners`` (mmseg resizes the
            logits with it).
        argmax: output the label map (uint8 when there are at most 256 classes, else
            int64) instead of the logits.
    """

    def __init__(
        self,
        segmentor: nn.Module,
        *,
        mean: Sequence[float],
        std: Sequence[float],
        align_corners: bool,
        argmax: bool = False,
    ) -> None:
        super().__init__()
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f"mean and std: expected 3 values each, got {mean!r} and {std!r}")
        if any(s <= 0 for s in std):
            raise ValueError(f"std: expected positive values, got {std!r}")
        self.segmentor = segmentor
        # (x - mean) / std as one multiply-add: x * scale + shift.
        std_t = torch.tensor(std, dtype=torch.float32)
        self.register_buffer("scale", (1.0 / std_t).view(1, 3, 1, 1), persistent=False)
        mean_t = torch.tensor(mean, dtype=torch.float32)
        self.register_buffer("shift", (-mean_t / std_t).view(1, 3, 1, 1), persistent=False)
        self.align_corners = bool(align_corners)
        self.argmax = bool(argmax)
        heads = getattr(segmentor, "decode_head", None)
        self.num_classes = int(
            (heads[-1] if isinstance(heads, nn.ModuleList) else heads).out_channels
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.permute(0, 3, 1, 2).float() * self.scale + self.shift
        logits = self.decode(x)
        logits = F.interpolate(
            logits, size=x.shape[-2:], mode="bilinear", align_corners=self.align_corners
        )
        if not self.argmax:
            return logits
        labels = logits.argmax(dim=1)
        return labels.to(torch.uint8) if self.num_classes <= 256 else labels

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """mmseg's ``encode_decode`` without its resize: a cascade feeds each head the
        previous head's output (OCR: the FCN's soft object regions)."""
        segmentor = self.segmentor
        features = segmentor.extract_feat(x)
        heads = segmentor.decode_head
        if isinstance(heads, nn.ModuleList):
            out = heads[0].forward(features)
            for head in heads[1:]:
                out = head.forward(features, out)
            return out
        return heads.forward(features)
