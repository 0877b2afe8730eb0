"""One benchmark run: what ``tools/benchmark.py`` measures and prints."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch
from mmengine.config import Config

from ..evaluation.confusion import confusion_matrix
from ..models.fold_bn import fold_batch_norms
from ..models.inference import slide_test_cfg
from .flops import official_gflops, segmentor_macs
from .models import build, compile_segmentor, train_pipeline
from .models import num_classes as classes_of
from .profile import profile_step, profile_table
from .timing import (
    Inference,
    TrainStep,
    alternate,
    median,
    peak_memory_mib,
    synthetic_batch,
    timed,
)


@dataclass
class BenchmarkOptions:
    batch: int = 2
    crop: tuple[int, int] = (512, 1024)
    infer_size: tuple[int, int] = (1024, 2048)
    flops_size: tuple[int, int] = (1024, 2048)
    bf16: bool = False
    channels_last: bool = True
    compile: bool = False
    # inductor generates C++/Triton code; aot_eager traces the same graphs without code
    # generation; eager only captures them (the CPU dry run of tools/gpu_bench.sh).
    compile_backend: str = "inductor"
    vs_mmseg: bool = False
    train: bool = True
    infer: bool = True
    slide: bool = False
    warmup: int = 1
    repeats: int = 3
    device: str = "cpu"
    # torch.profiler: one more call of each timed function, by operator kind (CPU)
    profile: bool = False
    # also time inference of ours with every BN folded into its conv (models/fold_bn.py)
    fold_bn: bool = False
    # also time our inference in bf16 and exported to ONNX Runtime (benchmark/onnx_runtime.py)
    onnx: bool = False


@dataclass
class Result:
    rows: list[tuple[str, str]] = field(default_factory=list)
    record: dict = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)  # Markdown, printed after the rows

    def add(self, name: str, value, text: str) -> None:
        self.record[name] = value
        self.rows.append((name, text))


@dataclass(frozen=True)
class Variant:
    """One model in a side-by-side run, with the precision it runs in."""

    model: torch.nn.Module
    bf16: bool


def _variants(cfg: Config, opts: BenchmarkOptions, device: torch.device) -> dict[str, Variant]:
    """Ours with the chosen options and, with ``vs_mmseg``, mmseg's own HRNet at each of
    the settings a user of mmseg can pick without our code: its default (fp32, NCHW),
    channels_last, and bf16 autocast (NCHW and channels_last) when ours runs in bf16.
    Speed-ups are then stated against each, and against the fastest of them."""
    ours = build(cfg, channels_last=opts.channels_last, crop=opts.crop).to(device)
    if opts.compile:
        compile_segmentor(ours, backend=opts.compile_backend)
    variants = {"ours": Variant(ours, opts.bf16)}
    if opts.vs_mmseg:
        precisions = [False, True] if opts.bf16 else [False]
        for bf16 in precisions:
            for channels_last in (False, True):
                name = "mmseg" + ("_cl" if channels_last else "") + ("_bf16" if bf16 else "")
                model = build(cfg, reference=True, channels_last=channels_last, crop=opts.crop)
                variants[name] = Variant(model.to(device), bf16)
    return variants


def _describe(name: str, opts: BenchmarkOptions | None = None) -> str:
    if name == "onnxruntime":
        return "ONNX Runtime fp32 (tools/export.py's graph)"
    if name == "ours_bf16":
        return "ours channels_last bf16"
    if name.startswith("ours"):
        folded = ["BN folded"] if name == "ours_folded" else []
        if opts is None:
            return " ".join(["ours", *folded])
        parts = ["channels_last" if opts.channels_last else "NCHW", "bf16" if opts.bf16 else "fp32"]
        return " ".join(["ours", *parts, *folded] + (["compiled"] if opts.compile else []))
    parts = ["channels_last" if "_cl" in name else "NCHW", "bf16" if "bf16" in name else "fp32"]
    return f"mmseg {' '.join(parts)}"


def _speedups(prefix: str, times: dict[str, list[float]], result: Result, *, ours="ours") -> None:
    """Paired ratios (reference time / ours, run next to each other) against every mmseg
    variant: median with min and max, and the headline against mmseg's fastest.
    ``ours`` names which of our variants (``ours`` or ``ours_folded``) is compared."""
    references = [name for name in times if name.startswith("mmseg")]
    if not references:
        return
    for name in references:
        ratios = sorted(r / o for r, o in zip(times[name], times[ours]))
        spread = f"min {ratios[0]:.2f}, max {ratios[-1]:.2f}, {len(ratios)} pairs"
        result.add(
            f"{prefix}_speedup_vs_{name}",
            {"median": round(median(ratios), 3), "min": round(ratios[0], 3),
             "max": round(ratios[-1], 3)},
            f"{median(ratios):.2f}x vs {_describe(name)} ({spread})",
        )  # fmt: skip
    best = min(references, key=lambda name: median(times[name]))
    ratios = sorted(r / o for r, o in zip(times[best], times[ours]))
    ratio = median(ratios)
    result.add(f"{prefix}_speedup", round(ratio, 3), f"{ratio:.2f}x vs mmseg's fastest here")
    result.add(f"{prefix}_speedup_reference", best, f"the fastest mmseg: {_describe(best)}")
    result.add(f"{prefix}_speedup_min", round(ratios[0], 3), f"{ratios[0]:.2f}x at worst")
    result.add(f"{prefix}_speedup_max", round(ratios[-1], 3), f"{ratios[-1]:.2f}x at best")
    if ratios[-1] - ratios[0] > abs(ratio - 1.0):
        result.add(
            f"{prefix}_spread_warning",
            True,
            f"WARNING: the paired ratios spread ({ratios[0]:.2f}-{ratios[-1]:.2f}) more than "
            f"the effect ({ratio:.2f}x): run on a quiet machine with more --repeats",
        )


def _ratio_to_ours(
    key: str, times: dict[str, list[float]], name: str, result: Result, opts
) -> None:
    """Paired speed of ``name`` relative to ours as run (> 1: ``name`` is faster)."""
    ratios = sorted(o / t for o, t in zip(times["ours"], times[name]))
    result.add(
        f"{key}_vs_ours",
        {"median": round(median(ratios), 3), "min": round(ratios[0], 3),
         "max": round(ratios[-1], 3)},
        f"{median(ratios):.2f}x the speed of {_describe('ours', opts)} "
        f"(min {ratios[0]:.2f}, max {ratios[-1]:.2f}, {len(ratios)} pairs)",
    )  # fmt: skip


def run_benchmark(cfg: Config, opts: BenchmarkOptions) -> Result:
    device = torch.device(opts.device)
    result = Result()
    torch.manual_seed(0)
    models = _variants(cfg, opts, device)
    ours = models["ours"].model
    plain = ours
    num_classes = classes_of(plain)
    result.record.update(
        device=torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        threads=torch.get_num_threads(),
        options=vars(opts).copy(),
        timed_region={
            "train": "data preprocessor (normalise, pad) + forward + losses + backward + "
            "SGD step, one batch reused",
            "infer": "encode_decode on a normalised batch (forward + resize to input), no_grad",
            "onnxruntime": "session.run on a uint8 NHWC batch (normalise + forward + resize "
            "to input), the graph of tools/export.py",
        },
    )
    params = sum(p.numel() for p in plain.parameters())
    result.add("params", params, f"{params / 1e6:.2f} M")
    macs = segmentor_macs(plain.eval(), opts.flops_size)
    result.add(
        "gflops_official",
        round(official_gflops(macs), 1),
        f"{official_gflops(macs):.1f} (multiply-adds / 1024^3 at "
        f"{opts.flops_size[0]}x{opts.flops_size[1]}, the HRNet papers' unit)",
    )
    result.add("gmacs", round(macs / 1e9, 1), f"{macs / 1e9:.1f} GMACs")

    if opts.infer:
        _inference(models, opts, device, num_classes, result)
    if opts.train:
        _training(models, opts, device, num_classes, result, pipeline=train_pipeline(cfg))
    return result


def _inference(models, opts: BenchmarkOptions, device, num_classes: int, result: Result) -> None:
    x = torch.randn(opts.batch, 3, *opts.infer_size, device=device)
    modes = ["whole", "slide"] if opts.slide else ["whole"]
    if opts.fold_bn:
        # A copy: the training step that follows needs the model with its BN layers.
        folded = copy.deepcopy(models["ours"].model).eval()
        fold_batch_norms(folded)
        models = {"ours": models["ours"], "ours_folded": Variant(folded, models["ours"].bf16),
                  **{k: v for k, v in models.items() if k != "ours"}}  # fmt: skip
    if opts.onnx and not opts.bf16:
        # The same weights under bf16 autocast: torch's fast path beside ONNX Runtime.
        models = {**models, "ours_bf16": Variant(models["ours"].model, True)}
    for mode in modes:
        fns = {
            name: Inference(v.model, x, bf16=v.bf16, device=device, mode=mode)
            for name, v in models.items()
        }
        if opts.onnx and mode == "whole":
            from .onnx_runtime import OrtInference

            fns["onnxruntime"] = OrtInference(
                models["ours"].model, batch=opts.batch, size=opts.infer_size, device=device
            )
        if mode == "slide":
            for v in models.values():
                v.model.test_cfg = slide_test_cfg(opts.crop)
        times = alternate(fns, device=device, warmup=opts.warmup, repeats=opts.repeats)
        size = f"{opts.infer_size[0]}x{opts.infer_size[1]}"
        for name, values in times.items():
            t = median(values)
            result.add(
                f"infer_{mode}_{name}_s",
                round(t, 4),
                f"{t * 1000:.1f} ms / batch {opts.batch} at {size} "
                f"({opts.batch / t:.2f} fps), {_describe(name, opts)}",
            )
        _speedups(f"infer_{mode}", times, result)
        for name in ("ours_bf16", "onnxruntime"):
            if name in times:
                _ratio_to_ours(f"infer_{mode}_{name}", times, name, result, opts)
        if opts.fold_bn:
            _speedups(f"infer_{mode}_folded", times, result, ours="ours_folded")
        if opts.profile:
            _profile(fns, f"infer_{mode}", f"inference ({mode}, {size})", result, opts)
        if mode == "whole":
            t_metric = _metric_time(fns["ours"](), num_classes, device)
            share = 100 * t_metric / median(times["ours"])
            result.add(
                "metric_share_pct",
                round(share, 3),
                f"{share:.2f}% of inference time (confusion matrix on {device.type})",
            )


def _profile(fns: dict, prefix: str, title: str, result: Result, opts: BenchmarkOptions) -> None:
    """One profiled call of each (warmed-up) function: ms per operator kind."""
    profiles = {_describe(name, opts): profile_step(fn) for name, fn in fns.items()}
    result.record[f"{prefix}_profile_ms"] = {
        name: {kind: round(ms, 2) for kind, ms in p.ms_by_kind.items()}
        for name, p in profiles.items()
    }
    result.tables.append(profile_table(profiles, title=title))


def _metric_time(logits: torch.Tensor, num_classes: int, device) -> float:
    """Median time of accumulating one batch into the confusion matrix."""
    pred = logits.argmax(1)
    label = torch.randint(0, num_classes, pred.shape, device=device)

    def accumulate():
        return confusion_matrix(pred, label, num_classes=num_classes)

    return median([timed(accumulate, device) for _ in range(3)])


def _training(
    models, opts: BenchmarkOptions, device, num_classes: int, result: Result, *, pipeline
) -> None:
    batch = synthetic_batch(
        pipeline=pipeline,
        batch=opts.batch,
        crop=opts.crop,
        num_classes=num_classes,
        device=device,
    )
    steps = {
        name: TrainStep(v.model, batch, bf16=v.bf16, device=device) for name, v in models.items()
    }
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = alternate(steps, device=device, warmup=opts.warmup, repeats=opts.repeats)
    crop = f"{opts.crop[0]}x{opts.crop[1]}"
    for name, values in times.items():
        t = median(values)
        result.add(
            f"train_{name}_img_per_s",
            round(opts.batch / t, 3),
            f"{opts.batch / t:.2f} img/s ({t:.3f} s / step, batch {opts.batch} at {crop}), "
            f"{_describe(name, opts)}",
        )
    _speedups("train", times, result)
    if opts.profile:
        _profile(steps, "train", f"train step (batch {opts.batch}, {crop})", result, opts)
    memory = peak_memory_mib(device)
    if memory is not None:
        result.add("train_peak_mem_mib", round(memory), f"{memory:.0f} MiB peak (all variants)")


def data_throughput(cfg: Config, *, workers: int, batches: int = 20) -> float:
    """Images per second per worker of the config's training pipeline."""
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS
    from torch.utils.data import DataLoader

    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    loader = DataLoader(
        dataset,
        batch_size=cfg.train_dataloader.batch_size,
        num_workers=workers,
        shuffle=True,
        collate_fn=pseudo_collate,
        persistent_workers=False,
    )
    it = iter(loader)
    next(it)  # start the workers
    start, images = time.perf_counter(), 0
    for _ in range(batches):
        try:
            images += len(next(it)["inputs"])
        except StopIteration:
            it = iter(loader)
            images += len(next(it)["inputs"])
    return images / (time.perf_counter() - start) / max(workers, 1)


def largest_batch(cfg: Config, opts: BenchmarkOptions, *, limit: int = 64) -> int:
    """The largest power-of-two batch whose training step fits in GPU memory."""
    device = torch.device(opts.device)
    if device.type != "cuda":
        return opts.batch
    model = build(cfg, channels_last=opts.channels_last, crop=opts.crop).to(device)
    num_classes = classes_of(model)
    best, batch = 0, 1
    while batch <= limit:
        try:
            data = synthetic_batch(
                pipeline=train_pipeline(cfg),
                batch=batch,
                crop=opts.crop,
                num_classes=num_classes,
                device=device,
            )
            TrainStep(model, data, bf16=opts.bf16, device=device)()
            torch.cuda.synchronize(device)
            best = batch
            batch *= 2
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            torch.cuda.empty_cache()
    del model
    torch.cuda.empty_cache()
    return max(best, 1)


def matmul_peak_tflops(device: torch.device, *, n: int = 8192, repeats: int = 10) -> float:
    """Measured bf16 matrix-multiply throughput of the device (the MFU denominator)."""
    dtype = torch.bfloat16
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    t = median([timed(lambda: a @ b, device) for _ in range(repeats)])
    return 2 * n**3 / t / 1e12


def model_flops_utilisation(img_per_s: float, macs_per_image: int, peak_tflops: float) -> float:
    """Training MFU: forward + backward is ~3 forward passes, 2 FLOPs per multiply-add."""
    return img_per_s * 6 * macs_per_image / (peak_tflops * 1e12)
