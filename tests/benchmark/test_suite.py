"""The benchmark for any segmentor (issue 14): synthetic batches from the config's own
pipeline, FLOPs counted two ways, and the --suite table."""

from __future__ import annotations

import pytest
import torch

from hrnet_seg.benchmark.flops import segmentor_macs, segmentor_macs_all_ops
from hrnet_seg.benchmark.models import build, train_pipeline
from hrnet_seg.benchmark.run import BenchmarkOptions
from hrnet_seg.benchmark.suite import SuiteModel, flops_rule, run_suite, suite_table
from hrnet_seg.benchmark.timing import synthetic_batch
from hrnet_seg.engine.config import load_config
from tests.conftest import REPO

CPU = torch.device("cpu")


def test_pidnets_batch_has_the_edge_map_of_its_own_pipeline():
    """The hand-made HRNet-shaped batch had no gt_edge_map: PIDNet's loss failed with
    AttributeError. Its GenerateEdge step makes it now, at the benchmark's crop."""
    cfg = load_config(str(REPO / "configs/peers/pidnet_s_cityscapes.py"))
    batch = synthetic_batch(pipeline=train_pipeline(cfg), batch=2, crop=(32, 64),
                            num_classes=19, device=CPU)  # fmt: skip
    assert [tuple(x.shape) for x in batch["inputs"]] == [(3, 32, 64)] * 2
    assert batch["inputs"][0].dtype == torch.uint8
    sample = batch["data_samples"][0]
    assert sample.gt_sem_seg.data.shape == sample.gt_edge_map.data.shape == (1, 32, 64)
    assert set(sample.gt_edge_map.data.unique().tolist()) <= {0, 1}


@pytest.mark.slow  # builds SegFormer-B0 and HRNet: seconds
def test_attention_is_counted_only_by_the_all_ops_count():
    cfg = load_config(str(REPO / "configs/peers/segformer_b0_cityscapes.py"))
    model = build(cfg).eval()
    papers, every = segmentor_macs(model, (64, 64)), segmentor_macs_all_ops(model, (64, 64))
    assert every > papers
    assert flops_rule(papers, every).startswith("papers' count leaves out")
    hrnet = build(load_config(str(REPO / "configs/demo/hrnet_w18s_demo_cityscapes.py"))).eval()
    assert segmentor_macs(hrnet, (64, 64)) == segmentor_macs_all_ops(hrnet, (64, 64))


@pytest.mark.slow  # times a model
def test_suite_times_each_model_and_prints_one_table():
    opts = BenchmarkOptions(batch=2, crop=(32, 64), infer_size=(32, 64), warmup=0, repeats=1)
    models = [SuiteModel("demo", "configs/demo/hrnet_w18s_demo_cityscapes.py")]
    suite = run_suite(models, opts, load=load_config)
    (record,) = suite["models"]
    assert record["name"] == "demo" and record["params"] > 0
    assert record["infer_whole_ours_s"] > 0 and record["train_ours_img_per_s"] > 0
    assert record["gflops_official"] == record["gflops_all_ops"] > 0
    table = suite_table(suite).splitlines()
    assert table[0].startswith("| model | params (M) |") and table[2].startswith("| demo | 1.54 |")
