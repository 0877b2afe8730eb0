"""benchmark/profile.py: a step's CPU time by operator kind, from torch.profiler."""

import time

import pytest
import torch
import torch.nn.functional as F
from torch.profiler import record_function

from hrnet_seg.benchmark.profile import PHASE_PREFIX, kind_of, profile_step, profile_table
from hrnet_seg.benchmark.run import BenchmarkOptions, run_benchmark
from hrnet_seg.engine.config import load_config
from tests.conftest import REPO

DEMO = REPO / "configs/demo/hrnet_w18s_demo_cityscapes.py"


@pytest.mark.parametrize(
    "name, kind",
    [
        ("aten::mkldnn_convolution", "convolution"),
        ("aten::convolution_backward", "convolution"),
        ("autograd::engine::evaluate_function: ConvolutionBackward0", "convolution"),
        ("aten::native_batch_norm", "batch norm"),
        ("NativeBatchNormBackward0", "batch norm"),
        ("aten::upsample_bilinear2d", "interpolate"),
        ("UpsampleBilinear2DBackward0", "interpolate"),
        ("aten::nll_loss2d_forward", "loss + softmax"),
        ("NllLoss2DBackward0", "loss + softmax"),
        ("aten::_log_softmax", "loss + softmax"),
        ("aten::relu_", "ReLU"),
        ("aten::threshold_backward", "ReLU"),
        ("aten::add", "add"),
        ("aten::add_", "add"),
        ("autograd::engine::evaluate_function: AddBackward0", "add"),
        ("aten::cat", "concatenate"),
        ("aten::copy_", "memory-format copy"),
        ("aten::contiguous", "memory-format copy"),
        ("aten::_to_copy", "memory-format copy"),
        ("aten::empty_strided", "allocation"),
        ("aten::bmm", "matmul (OCR attention)"),
        ("aten::addmm", "matmul (OCR attention)"),
        ("aten::argmax", "other"),
    ],
)
def test_operators_fall_in_their_kind(name, kind):
    assert kind_of(name) == kind


def test_a_profile_counts_each_operator_once_and_phases_as_phases():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(16, 16, 3, padding=1)
    bn = torch.nn.BatchNorm2d(16)
    x = torch.randn(2, 16, 96, 96)
    optim = torch.optim.SGD([*conv.parameters(), *bn.parameters()], lr=0.1, momentum=0.9)

    def step():
        y = F.interpolate(bn(conv(x)).relu(), scale_factor=2.0, mode="bilinear")
        y.square().mean().backward()
        with record_function(f"{PHASE_PREFIX}optimizer"):
            optim.step()
            optim.zero_grad()

    step()  # warm up (allocator, oneDNN primitives)
    start = time.perf_counter()
    prof = profile_step(step, runs=2)
    wall_ms_per_run = (time.perf_counter() - start) * 1000 / 2
    kinds = prof.ms_by_kind
    for kind in ("convolution", "batch norm", "interpolate", "ReLU", "optimizer (SGD)"):
        assert kinds.get(kind, 0) > 0, kind
    assert min(kinds.values()) >= 0
    # Self times of one thread's operators, each counted once, cannot add up to more
    # than the wall time around them; inclusive times (conv2d -> convolution ->
    # mkldnn_convolution, the step's own phases) would count the same time 2-4 times.
    assert prof.total_ms <= wall_ms_per_run
    table = profile_table({"a": prof, "b": prof}, title="toy step")
    lines = table.splitlines()
    assert lines[0] == "| toy step | a ms | a % | b ms | b % |"
    assert any(line.startswith("| convolution | ") for line in lines)
    assert lines[-1].startswith("| **total (profiled CPU time)** |")


def test_the_benchmark_profiles_every_model_it_times():
    torch.manual_seed(0)
    opts = BenchmarkOptions(batch=1, crop=(32, 64), infer_size=(32, 64), flops_size=(32, 32),
                            vs_mmseg=True, warmup=1, repeats=1, profile=True,
                            fold_bn=True)  # fmt: skip
    result = run_benchmark(load_config(str(DEMO)), opts)
    models = {"ours channels_last fp32", "mmseg NCHW fp32", "mmseg channels_last fp32"}
    assert set(result.record["train_profile_ms"]) == models
    # inference also times ours with BN folded, which has no BN time left
    infer = result.record["infer_whole_profile_ms"]
    assert set(infer) == models | {"ours channels_last fp32 BN folded"}
    assert infer.pop("ours channels_last fp32 BN folded").get("batch norm", 0.0) == 0.0
    for kinds in [*infer.values(), *result.record["train_profile_ms"].values()]:
        assert kinds["convolution"] > 0 and kinds["batch norm"] > 0
    assert {"infer_whole_speedup", "infer_whole_folded_speedup"} <= set(result.record)
    assert "train_folded_speedup" not in result.record  # training keeps its BN
    train = result.record["train_profile_ms"]["ours channels_last fp32"]
    assert train["optimizer (SGD)"] > 0 and train["data preprocessor"] > 0
    assert len(result.tables) == 2
