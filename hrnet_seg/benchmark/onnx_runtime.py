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
from ..deploy.onnx import align_corners_of, require, trace_to_onnx


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
        # The model's own normalisation (the graph takes RGB; mmseg's preprocessor stores
        # its statistics in the order it normalises in) and its head's align_corners.
        pre = model.data_preprocessor
        mean, std = pre.mean.flatten().tolist(), pre.std.flatten().tolist()
        if not pre.channel_conversion:
            mean, std = mean[::-1], std[::-1]
        graph = InferenceGraph(
            model, mean=mean, std=std, align_corners=align_corners_of(model)
        ).eval()
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
