"""--local: the same job through submitit's local executor, no Slurm needed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import HANG_GUARD_S, run_python
from tests.integration.conftest import DEMO, tiny_options

pytestmark = pytest.mark.slow


def test_local_executor_runs_two_ddp_tasks(tmp_path, demo_root):
    options = [f"{k}={v}" for k, v in tiny_options(4, checkpoint_every=2).items()]
    res = run_python(
        "slurm/submit.py", DEMO, "--local", "--tasks-per-node", "2", "--cpus-per-task", "1",
        "--wait", "--work-dir-root", str(tmp_path), "--data-root", str(demo_root),
        "--cfg-options", *options,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"hrnet_w18s_demo_cityscapes\s+\d+\s+done\s+4/4\s+\d+\.\d\d", res.stdout)
    manifest = json.loads(Path(re.search(r"^Manifest: (\S+)$", res.stdout, re.M)[1]).read_text())
    results = json.loads((Path(manifest["runs"][0]["work_dir"]) / "results.json").read_text())
    assert results["world_size"] == 2 and results["final_iter"] == 4


def test_gpu_job_check_script_dry_run(tmp_path):
    """slurm/gpu_job_check.sh (the device check: TrainJob in process, --amp), tiny on CPU."""
    import os
    import subprocess
    import sys

    res = subprocess.run(
        ["bash", "slurm/gpu_job_check.sh"], cwd=Path(__file__).parents[2], capture_output=True,
        text=True, timeout=HANG_GUARD_S,
        env={**os.environ, "DRY_RUN": "1", "OUT": str(tmp_path), "PY": sys.executable},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Finished in process" in res.stdout and "final_iter=2" in res.stdout
    results = json.loads(next(tmp_path.glob("*/results.json")).read_text())
    assert results["amp"] is True and results["final_iter"] == 2
