"""ONNX Runtime in the benchmark (``tools/benchmark.py --onnx``): our model exported as
``tools/export.py`` exports it, run by ONNX Runtime next to torch on the same size.

The exported graph takes uint8 NHWC pixels and normalises them itself, and resizes the
logits to the input size, as torch's timed ``encode_decode`` does; the normalisation is
one multiply-add per pixel, under 0.1 % of HRNet's inference.
"""

from __future__ import annotations

import copy
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn

from ..deploy.graph import INPUT_NAME, InferenceGraph
from ..deploy.onnx import require, trace_to_onnx

# ImageNet statistics, as every zoo config normalises (the values do not change speed).
_MEAN, _STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)


def providers_for(device: torch.device) -> list[str]:
    """CPU: ONNX Runtime's CPU provider; CUDA: its CUDA provider (onnxruntime-gpu)."""
    ort = require("onnxruntime")
    if device.type != "cuda":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        from ..deploy.model import DeployError

        raise DeployError(
            "--onnx on CUDA needs onnxruntime-gpu (pip install onnxruntime-gpu); "
            f"this onnxruntime has {ort.get_available_providers()}"
        )
    return ["CUDAExecutionProvider"]


class OrtInference:
    """A callable like :class:`hrnet_seg.benchmark.timing.Inference`: one whole-image
    batch of ``size`` through ONNX Runtime, ``threads`` intra-op threads (torch's)."""

    def __init__(
        self, segmentor: nn.Module, *, batch: int, size: tuple[int, int], device: torch.device
    ) -> None:
        ort = require("onnxruntime")
        model = copy.deepcopy(segmentor).to("cpu").float().eval()
        model = model.to(memory_format=torch.contiguous_format)
        graph = InferenceGraph(model, mean=_MEAN, std=_STD, align_corners=False).eval()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.onnx")
            trace_to_onnx(graph, path)
            options = ort.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            options.log_severity_level = 3
            self.session = ort.InferenceSession(path, options, providers=providers_for(device))
        self.provider = self.session.get_providers()[0]
        rng = np.random.default_rng(0)
        self.image = rng.integers(0, 256, size=(batch, *size, 3), dtype=np.uint8)

    def __call__(self) -> np.ndarray:
        return self.session.run(None, {INPUT_NAME: self.image})[0]
