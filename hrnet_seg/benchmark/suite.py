"""``tools/benchmark.py --suite peers``: HRNet beside its published peers, one table.

Every model is timed the same way, one after the other in one process: built from its
config (ours in configs/, the peers' thin leaves over mmseg's configs in
configs/peers/), random weights, fp32, channels_last, eager; a training step on a batch
made by the model's own training pipeline and data preprocessor (timing.synthetic_batch).
FLOPs are given two ways, because the HRNet papers' convention (convolution and linear
multiply-adds) leaves out attention's matrix products, which SegFormer has.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..records.run_files import REPO_ROOT
from .flops import official_gflops, segmentor_macs, segmentor_macs_all_ops
from .models import build
from .run import BenchmarkOptions, run_benchmark


@dataclass(frozen=True)
class SuiteModel:
    name: str
    config: str  # relative to the repository root


# HRNet (ours, FCN and OCR heads) and the peers of issue 14 with a config of ours.
PEERS = (
    SuiteModel("HRNetV2-W18 FCN", "configs/hrnet_w18_cityscapes.py"),
    SuiteModel("HRNetV2-W48 FCN", "configs/hrnet_w48_cityscapes.py"),
    SuiteModel("HRNetV2-W18 OCR", "configs/hrnet_w18_ocr_cityscapes.py"),
    SuiteModel("HRNetV2-W48 OCR", "configs/hrnet_w48_ocr_cityscapes.py"),
    SuiteModel("OCRNet-HR48 (mmseg)", "configs/peers/ocrnet_hr48_mmseg_cityscapes.py"),
    SuiteModel("PIDNet-S", "configs/peers/pidnet_s_cityscapes.py"),
    SuiteModel("PIDNet-M", "configs/peers/pidnet_m_cityscapes.py"),
    SuiteModel("PIDNet-L", "configs/peers/pidnet_l_cityscapes.py"),
    SuiteModel("DDRNet-23-slim", "configs/peers/ddrnet_23_slim_cityscapes.py"),
    SuiteModel("DDRNet-23", "configs/peers/ddrnet_23_cityscapes.py"),
    SuiteModel("SegFormer-B0", "configs/peers/segformer_b0_cityscapes.py"),
    SuiteModel("SegFormer-B5", "configs/peers/segformer_b5_cityscapes.py"),
    SuiteModel("DeepLabV3+-R50", "configs/peers/deeplabv3plus_r50_cityscapes.py"),
)
SUITES = {"peers": PEERS}

_PAPERS = "conv + linear multiply-adds / 1024^3 (the HRNet papers' unit)"
_ALL = "every matrix product (torch FlopCounterMode) / 2 / 1024^3"


def flops_rule(official: float, all_ops: float) -> str:
    """How the two counts relate for one model: equal, or what the papers' count misses."""
    missed = 100 * (all_ops - official) / all_ops if all_ops else 0.0
    if missed < 0.05:
        return "same: all its products are convolutions and linear layers"
    return f"papers' count leaves out {missed:.1f}% (attention's matrix products)"


def run_suite(models, opts: BenchmarkOptions, *, load) -> dict:
    """Benchmark every model with the same options; ``load(path)`` reads a config.
    Returns ``{"options", "flops", "models": [per-model record]}``."""
    records = []
    for model in models:
        cfg = load(str(REPO_ROOT / model.config))
        result = run_benchmark(cfg, replace(opts, flops_size=opts.infer_size))
        network = build(cfg).eval()
        official = official_gflops(segmentor_macs(network, opts.infer_size))
        all_ops = official_gflops(segmentor_macs_all_ops(network, opts.infer_size))
        record = {"name": model.name, "config": model.config, **result.record}
        record["gflops_official"] = round(official, 3)  # run_benchmark's 0.1 is too coarse here
        record["gflops_all_ops"] = round(all_ops, 3)
        record["flops_counted"] = flops_rule(record["gflops_official"], all_ops)
        records.append(record)
    return {
        "options": vars(opts).copy(),
        "flops": {"gflops_official": _PAPERS, "gflops_all_ops": _ALL},
        "models": records,
    }


def suite_table(suite: dict) -> str:
    """The suite as one Markdown table."""
    opts = suite["options"]
    size = "x".join(str(v) for v in opts["infer_size"])
    crop = "x".join(str(v) for v in opts["crop"])
    head = (
        f"| model | params (M) | GFLOPs papers' @{size} | GFLOPs all @{size} | "
        f"inference ms (batch {opts['batch']}, {size}) | train step s (batch {opts['batch']}, "
        f"{crop}) | FLOPs counted |"
    )
    lines = [head, "|" + " --- |" * 7]
    for r in suite["models"]:
        infer = r.get("infer_whole_ours_s")
        train = r.get("train_ours_img_per_s")
        infer_text = "-" if infer is None else f"{infer * 1000:.0f}"
        train_text = "-" if not train else f"{opts['batch'] / train:.2f}"
        lines.append(
            f"| {r['name']} | {r['params'] / 1e6:.2f} | {r['gflops_official']:.2f} | "
            f"{r['gflops_all_ops']:.2f} | {infer_text} | {train_text} | {r['flops_counted']} |"
        )
    lines.append("")
    flops = suite["flops"]
    lines.append(
        f"GFLOPs papers': {flops['gflops_official']}; all: {flops['gflops_all_ops']}. fp32, "
        f"channels_last, eager, random weights; median of {opts['repeats']} after "
        f"{opts['warmup']} warm-up."
    )
    return "\n".join(lines)
