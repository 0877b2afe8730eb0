"""tools/benchmark.py's inference timings, sliding windows included."""

import pytest
import torch

from hrnet_seg.benchmark.run import BenchmarkOptions, run_benchmark
from hrnet_seg.engine.config import load_config
from tests.conftest import REPO

DEMO = REPO / "configs/demo/hrnet_w18s_demo_cityscapes.py"


def test_benchmark_times_slide_inference():
    """tools/benchmark.py --slide set a plain dict, and mmseg's slide_inference failed on
    ``test_cfg.stride``."""
    torch.manual_seed(0)
    opts = BenchmarkOptions(batch=1, crop=(32, 64), infer_size=(64, 128), flops_size=(32, 32),
                            train=False, slide=True, warmup=0, repeats=1)  # fmt: skip
    result = run_benchmark(load_config(str(DEMO)), opts)
    assert result.record["infer_slide_ours_s"] > 0


@pytest.mark.parametrize(
    "config",
    [
        "configs/lite_hrnet_18_cityscapes.py",
        "configs/hrformer_s_ocr_cityscapes.py",
        "configs/peers/pidnet_s_cityscapes.py",
    ],
)
def test_vs_mmseg_says_which_backbones_have_no_mmseg_counterpart(config):
    from hrnet_seg.benchmark.models import model_config
    from hrnet_seg.engine.config import load_config
    from hrnet_seg.errors import ConfigValueError

    cfg = load_config(str(REPO / config))
    with pytest.raises(ConfigValueError, match="no mmseg counterpart.*--suite peers"):
        model_config(cfg, reference=True)
