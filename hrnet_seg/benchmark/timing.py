"""Timing a model's inference and training step, fairly on CPU and GPU."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from torch.profiler import record_function

from .profile import PHASE_PREFIX


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def autocast(device: torch.device, bf16: bool):
    if not bf16:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


# Pipeline steps that would change the benchmark's crop (resize, crop, pad): the
# synthetic image already has the crop size; the benchmark times the model, not the
# augmentation, so what a step *adds* (PIDNet's GenerateEdge: gt_edge_map) is what counts.
_SIZE_ARGUMENTS = ("scale", "scale_factor", "crop_size", "ratio_range", "size", "size_divisor")


def _synthetic_steps(pipeline) -> list[dict]:
    """The config's training pipeline without its loading steps (the synthetic image and
    label replace them) and without the steps that set a size."""
    steps = []
    for step in pipeline or ():
        kind = str(step.get("type", ""))
        if kind.startswith("Load") or any(key in step for key in _SIZE_ARGUMENTS):
            continue
        steps.append(dict(step))
    return steps


def synthetic_batch(
    *,
    pipeline,
    batch: int,
    crop: tuple[int, int],
    num_classes: int,
    device: torch.device,
    seed: int = 0,
) -> dict:
    """A training batch as the config's dataloader gives it: a random uint8 image and
    label map of ``crop`` per sample, through ``pipeline`` (the config's
    ``train_dataloader.dataset.pipeline``) from its first step after loading, so that
    every field its model's losses read is there (PIDNet's ``gt_edge_map``)."""
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    gen = np.random.default_rng(seed)
    with DefaultScope.overwrite_default_scope("mmseg"):
        steps = Compose(_synthetic_steps(pipeline))
        samples = []
        for i in range(batch):
            h, w = crop
            results = dict(
                img=gen.integers(0, 256, (h, w, 3), dtype=np.uint8),
                gt_seg_map=gen.integers(0, num_classes, (h, w), dtype=np.uint8),
                seg_fields=["gt_seg_map"],
                img_path=f"synthetic_{i}.png",
                seg_map_path=f"synthetic_{i}.png",
                img_shape=(h, w),
                ori_shape=(h, w),
                reduce_zero_label=False,
            )
            samples.append(steps(results))
    if not samples or "inputs" not in samples[0]:
        raise ValueError(
            "train_dataloader.dataset.pipeline does not end in PackSegInputs: the benchmark "
            "needs the packed inputs and data samples it gives"
        )
    data = pseudo_collate(samples)
    return dict(
        inputs=[x.to(device) for x in data["inputs"]],
        data_samples=[sample.to(device) for sample in data["data_samples"]],
    )


class TrainStep:
    """One real training iteration: data preprocessor, loss, backward, SGD step."""

    def __init__(self, model: nn.Module, batch: dict, *, bf16: bool, device: torch.device):
        self.model = model.train()
        self.batch = batch
        self.ctx = lambda: autocast(device, bf16)
        self.optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9))

    def __call__(self) -> None:
        # OptimWrapper.update_params, spelt out so that a profile can tell the phases
        # apart (record_function costs nothing when no profiler runs).
        with self.ctx():
            with record_function(f"{PHASE_PREFIX}data preprocessor"):
                data = self.model.data_preprocessor(self.batch, training=True)
            losses = self.model._run_forward(data, mode="loss")
        loss, _ = self.model.parse_losses(losses)
        self.optim.backward(loss)
        with record_function(f"{PHASE_PREFIX}optimizer"):
            self.optim.step()
            self.optim.zero_grad()


class Inference:
    """Whole-image (or sliding-window) logits for a normalised batch, as at test time."""

    def __init__(self, model: nn.Module, x: torch.Tensor, *, bf16: bool, device, mode="whole"):
        self.model = model.eval()
        self.x = x
        h, w = x.shape[-2:]
        self.metas = [dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w))] * x.shape[0]
        self.ctx = lambda: autocast(device, bf16)
        self.mode = mode

    def __call__(self) -> torch.Tensor:
        with torch.no_grad(), self.ctx():
            if self.mode == "slide":
                return self.model.slide_inference(self.x, self.metas)
            return self.model.encode_decode(self.x, self.metas)


def median(values: list[float]) -> float:
    return statistics.median(values)


def alternate(
    fns: dict[str, Callable[[], object]], *, device: torch.device, warmup: int, repeats: int
) -> dict[str, list[float]]:
    """Run each function ``warmup`` times, then interleave ``repeats`` timed runs so
    that drifts of the machine (clocks, other load) hit every variant alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn, device))
    return times


def peak_memory_mib(device: torch.device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return None
