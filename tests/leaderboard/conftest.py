"""A real tiny training run logged offline by WandbLoggerHook, shared by the leaderboard's
W&B tests (one run per session: ~4 s)."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import demo_root, train  # noqa: F401  (fixture)

# What tools/benchmark.py --json writes (the keys of hrnet_seg/benchmark/run.py):
# 2 images in 0.25 s is 8 fps.
BENCHMARK = {
    "config": "configs/demo/hrnet_w18s_demo_cityscapes.py",
    "params": 1_540_579,
    "gflops_official": 3.2,
    "gmacs": 3.4,
    "infer_whole_ours_s": 0.25,
    "options": {"batch": 2},
}
SWEEP = {"group": "sweep1", "job_type": "train", "tags": ["w18s", "demo"]}


@pytest.fixture(scope="session")
def wandb_work_dir(tmp_path_factory, demo_root):  # noqa: F811
    """A 2-iteration demo run of a sweep, with a benchmark.json: its work dir holds
    results.json and wandb/offline-run-*/run-<id>.wandb side by side."""
    from hrnet_seg.engine.hooks.wandb_logger import WandbLoggerHook

    work_dir = tmp_path_factory.mktemp("wandb_runs") / "w18s_sweep"
    work_dir.mkdir()
    (work_dir / "benchmark.json").write_text(json.dumps(BENCHMARK))
    with pytest.MonkeyPatch.context() as mp:
        # The suite turns W&B off (tests/conftest.py) and must never find real credentials.
        for var in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_DIR"):
            mp.delenv(var, raising=False)
        mp.setenv("NETRC", str(work_dir.parent / "no-netrc"))
        hook = WandbLoggerHook(mode="offline", num_images=0, **SWEEP)
        train(work_dir, demo_root, iters=2, hooks=[hook])
    return work_dir
