"""The fast path changes speed, not results: channels_last to float32 rounding, bf16
autocast to bf16 tolerance, the lean heads bit for bit; and the counts the papers use."""

import copy

import pytest
import torch

from hrnet_seg.benchmark.flops import official_gflops, segmentor_macs
from hrnet_seg.benchmark.models import build, compile_segmentor
from hrnet_seg.engine.config import load_config
from tests.conftest import HANG_GUARD_S, REPO, randomize

W18 = REPO / "configs/hrnet_w18_cityscapes.py"
OCR = REPO / "configs/hrnet_w18_ocr_cityscapes.py"


def twins(config):
    """Our model and mmseg's reference with the same random weights."""
    cfg = load_config(str(config))
    ours = randomize(build(cfg), seed=3).eval()
    reference = build(cfg, reference=True).eval()
    reference.load_state_dict(ours.state_dict())
    return ours, reference


def logits(model, x):
    metas = [dict(img_shape=x.shape[-2:], ori_shape=x.shape[-2:])] * x.shape[0]
    with torch.no_grad():
        return model.encode_decode(x, metas)


@pytest.mark.parametrize("config", [W18, OCR])
def test_lean_heads_equal_mmseg_exactly(config):
    ours, reference = twins(config)
    x = torch.randn(2, 3, 64, 128)
    assert torch.equal(logits(ours, x), logits(reference, x))


def test_channels_last_matches_fp32_to_rounding():
    # Both float32 layouts against a float64 reference: channels_last may round
    # differently (other kernels, other summation order; which ones depends on the CPU's
    # instruction set), but it must not add more error than float32 NCHW itself has.
    # The forward pass is continuous, so rounding differences stay rounding-sized.
    ours, reference = twins(W18)
    x = torch.randn(2, 3, 64, 128, generator=torch.Generator().manual_seed(0))
    exact = logits(copy.deepcopy(reference).double(), x.double())
    nchw = logits(reference, x).double()
    fast = logits(ours.to(memory_format=torch.channels_last), x).double()
    scale = exact.abs().max().item()
    nchw_error = (nchw - exact).abs().max().item() / scale
    fast_error = (fast - exact).abs().max().item() / scale
    # float32 rounding through ~100 layers: well above eps32 (1.2e-7), far below 1e-4.
    assert nchw_error < 1e-4
    assert fast_error < max(10 * nchw_error, 1e-6), (fast_error, nchw_error)


def test_bf16_autocast_matches_within_bf16_tolerance():
    ours, reference = twins(W18)
    x = torch.randn(2, 3, 64, 128)
    expected = logits(reference, x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        actual = logits(ours.to(memory_format=torch.channels_last), x).float()
    # bf16 keeps 8 bits of mantissa (~0.4% per op); after ~100 layers the logits agree
    # to a few percent of their range and the predicted classes almost everywhere.
    scale = expected.abs().max().item()
    assert (actual - expected).abs().max().item() < 0.1 * scale
    agreement = (actual.argmax(1) == expected.argmax(1)).float().mean().item()
    assert agreement > 0.95


def test_gradients_match_in_channels_last():
    # In float64. A float32 comparison of gradients is ill-posed: where a pre-activation
    # lies within rounding of 0, the two layouts' kernels (which differ by CPU instruction
    # set: AVX-512 vs AVX2) take different sides of a ReLU, and the gradients of the
    # parameters behind it jump by ~1e-3 relative, a discontinuity, not rounding. In
    # float64 no pre-activation is that close to 0, so the layouts must agree to float64
    # rounding (eps64 = 2.2e-16; ~1e-15 is seen): 1e-10 leaves five orders of margin and
    # still catches any wrongly permuted weight or activation (errors of order 1).
    # Eval-mode BN: train-mode BN on a 2x4-pixel branch amplifies rounding by orders of
    # magnitude, which would test BN, not layout.
    ours, reference = twins(W18)
    ours = ours.double().to(memory_format=torch.channels_last)
    reference = reference.double()
    x = torch.randn(2, 3, 64, 128, generator=torch.Generator().manual_seed(2)).double()
    for model in (ours, reference):
        metas = [dict(img_shape=(64, 128), ori_shape=(64, 128))] * 2
        model.encode_decode(x, metas).square().mean().backward()
    assert ours.backbone.conv1.weight.grad.is_contiguous(memory_format=torch.channels_last)
    for (name, a), b in zip(ours.named_parameters(), reference.parameters()):
        error = ((a.grad - b.grad).norm() / (b.grad.norm() + 1e-300)).item()
        assert error < 1e-10, (name, error)


@pytest.mark.parametrize(
    "config, params, gflops, macs",
    [
        ("configs/hrnet_w48_cityscapes.py", 65_858_659, 696.2, 747_513_053_184),
        ("configs/hrnet_w18_cityscapes.py", 9_640_849, 137.3, 147_401_048_064),
    ],
)
def test_params_and_official_flops(config, params, gflops, macs):
    cfg = load_config(str(REPO / config))
    model = build(cfg).eval()
    assert sum(p.numel() for p in model.parameters()) == params
    # The count is linear in the pixels: count at 1/16 of the area, then scale.
    counted = segmentor_macs(model, (256, 512)) * 16
    assert counted == macs
    assert round(official_gflops(counted), 1) == gflops


GPU_STEPS = [
    f"w48_{model}_{step}"
    for model in ("fcn", "ocr")
    for step in ("bf16_cl_vs_mmseg", "bf16_cl_compile", "bf16_cl_maxbatch", "fp32_vs_mmseg")
] + ["w48_ocr_onnx_infer"]


# One step per test (the script's STEPS), so that parallel workers share the eight.
@pytest.mark.slow
@pytest.mark.parametrize("step", GPU_STEPS)
def test_gpu_script_dry_run_on_cpu(tmp_path, step):
    import json
    import os
    import subprocess
    import sys

    # The script's time budget guards the GPU run; here it must not decide the outcome
    # (a loaded or slow CPU would skip steps): the budget logic has its own test below.
    env = {**os.environ, "DRY_RUN": "1", "OUT": str(tmp_path), "PY": sys.executable}
    env.update(BUDGET_S="100000", STEPS=step)
    result = subprocess.run(
        ["bash", "tools/gpu_bench.sh"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=HANG_GUARD_S,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [f"{step}.json"], result.stdout
    record = json.loads((tmp_path / f"{step}.json").read_text())
    if step.endswith("vs_mmseg"):
        assert {"train_speedup_vs_mmseg", "train_speedup_vs_mmseg_cl"} <= set(record)
    if step == "w48_fcn_bf16_cl_vs_mmseg":
        expected = {"train_speedup", "infer_whole_speedup", "train_mmseg_img_per_s"}
        expected |= {f"train_speedup_vs_{name}" for name in ("mmseg", "mmseg_cl", "mmseg_cl_bf16")}
        assert expected <= set(record)
    if step == "w48_ocr_fp32_vs_mmseg":
        assert "train_speedup_vs_mmseg_bf16" not in record
    if step.endswith("compile"):
        assert record["options"]["compile"] and record["train_mfu_pct"] > 0
    if step == "w48_ocr_onnx_infer":
        assert {"infer_whole_onnxruntime_s", "infer_whole_onnxruntime_vs_ours"} <= set(record)
        assert {"infer_whole_ours_bf16_vs_ours", "infer_whole_ours_s"} <= set(record)


def test_gpu_script_stops_at_its_budget(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DRY_RUN": "1", "OUT": str(tmp_path), "PY": sys.executable}
    env["BUDGET_S"] = "0"
    result = subprocess.run(
        ["bash", "tools/gpu_bench.sh"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=HANG_GUARD_S,
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stdout.count("skipped: the 0s budget is spent") == len(GPU_STEPS) == 9


def test_gpu_script_names_a_misspelt_step(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DRY_RUN": "1", "OUT": str(tmp_path), "PY": sys.executable}
    env.update(BUDGET_S="0", STEPS="w48_fcn_fp32_vs_mmseg w48_fcn_fp23_vs_mmseg")
    result = subprocess.run(
        ["bash", "tools/gpu_bench.sh"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=HANG_GUARD_S,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: STEPS names 'w48_fcn_fp23_vs_mmseg', which is no step")
    assert "w48_fcn_fp32_vs_mmseg" in result.stderr.splitlines()[0]  # the list of steps


def test_compile_reaches_the_networks_the_segmentor_calls():
    # torch.compile(segmentor) compiles only segmentor.forward, which encode_decode and
    # the heads' loss bypass: the benchmark's --compile once timed eager code. The
    # "eager" backend runs dynamo's capture without code generation (fast on CPU).
    from torch._dynamo.utils import counters

    ours, reference = twins(OCR)
    compile_segmentor(ours, backend="eager")
    x = torch.randn(1, 3, 64, 128)
    counters.clear()
    actual = logits(ours, x)
    assert counters["stats"]["unique_graphs"] >= 3  # backbone and both cascade heads
    assert torch.equal(actual, logits(reference, x))
