"""slurm/submit.py --dry-run and slurm/sweep.py --dry-run: the batch script, guarded by
golden files (regenerate with UPDATE_GOLDEN=1 after a deliberate change)."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

GOLDEN = Path(__file__).parent / "golden"


def load_cli(name):
    spec = importlib.util.spec_from_file_location(f"slurm_{name}", REPO / "slurm" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def normalised(text: str) -> str:
    text = re.sub(r"/slurm/\d{8}-\d{6}-[0-9a-f]{6}", "/slurm/STAMP", text)
    text = text.replace(sys.executable, "PYTHON").replace(str(REPO), "REPO")
    return text


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def dry_run_golden(capsys, cli: str, argv: list[str], golden: str) -> str:
    """Runs ``slurm/<cli>.py`` on ``argv`` (a dry run), checks its normalised output
    against ``golden/<golden>`` and returns that output."""
    assert load_cli(cli).main(argv) == 0
    text = normalised(capsys.readouterr().out)
    check_golden(golden, text)
    return text


def test_two_nodes_of_four_gpus(capsys):
    argv = [
        "configs/hrnet_w48_cityscapes.py",
        "--nodes",
        "2",
        "--gpus-per-node",
        "4",
        "--cpus-per-task",
        "8",
        "--mem-gb",
        "256",
        "--time",
        "2880",
        "--partition",
        "gpu",
        "--account",
        "vision",
        "--qos",
        "high",
        "--constraint",
        "a100",
        "--job-name",
        "w48",
        "--sbatch",
        "exclusive",
        "mail-type=END",
        "--work-dir-root",
        "/scratch/runs",
        "--dry-run",
    ]
    text = dry_run_golden(capsys, "submit", argv, "submit_2nodes_4gpus.txt")
    # What the golden file asserts, spelled out:
    for line in (
        "#SBATCH --nodes=2",
        "#SBATCH --ntasks-per-node=4",
        "#SBATCH --gpus-per-node=4",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=256G",
        "#SBATCH --time=2880",
        "#SBATCH --signal=USR2@120",
        "#SBATCH --requeue",
        "#SBATCH --exclusive",
        "#SBATCH --mail-type=END",
    ):
        assert line in text.splitlines()
    assert "# world size 8 (2 node(s) x 4 task(s))" in text
    # One dead task (a crash, a lost node) ends the whole step.
    assert "--kill-on-bad-exit=1" in next(line for line in text.splitlines() if "srun" in line)
    assert (
        "PYTHON -u -m submitit.core._submit /scratch/runs/hrnet_w48_cityscapes/slurm/STAMP" in text
    )


def test_cpu_job_asks_for_no_gpus(capsys):
    argv = [
        "configs/demo/hrnet_w18s_demo_cityscapes.py",
        "--tasks-per-node",
        "2",
        "--cpus-per-task",
        "1",
        "--work-dir-root",
        "/tmp/runs",
        "--dry-run",
    ]
    assert load_cli("submit").main(argv) == 0
    text = capsys.readouterr().out
    assert "#SBATCH --ntasks-per-node=2" in text
    assert "gpu" not in text.replace(
        "hrnet_w18s_demo_cityscapes", ""
    )  # no gres: GPU-less nodes refuse it


def test_sweep_is_one_array_with_a_concurrency_limit(capsys):
    argv = [
        "configs/demo/hrnet_w18s_demo_cityscapes.py",
        "--grid",
        "optim_wrapper.optimizer.lr=0.001,0.002,0.004",
        "train_cfg.max_iters=10,20",
        "--max-parallel",
        "2",
        "--name",
        "lr",
        "--work-dir-root",
        "/scratch/runs",
        "--dry-run",
    ]
    text = dry_run_golden(capsys, "sweep", argv, "sweep_6runs.txt")
    assert "#SBATCH --array=0-5%2" in text.splitlines()
    assert "%A_%a_0_log.out" in text
    assert text.count("# run ") == 6


def test_bad_resources_are_named():
    from hrnet_seg.launch.resources import ResourceError, SlurmResources

    with pytest.raises(ResourceError, match="--gpus-per-node must be an integer >= 0"):
        SlurmResources(gpus_per_node=-1)
    with pytest.raises(ResourceError, match="GPU jobs run one task per GPU"):
        SlurmResources(gpus_per_node=4, tasks_per_node=2)
    with pytest.raises(ResourceError, match="--signal-delay-s"):
        SlurmResources(time_min=1, signal_delay_s=60)
    with pytest.raises(ResourceError, match="extra sbatch option"):
        SlurmResources(extra={"bad option": 1})


def test_unknown_cfg_option_fails_before_anything_is_submitted(tmp_path, capsys):
    argv = [
        "configs/demo/hrnet_w18s_demo_cityscapes.py",
        "--cfg-options",
        "train_cfg.max_iter=5",
        "--work-dir-root",
        str(tmp_path),
        "--dry-run",
    ]
    from hrnet_seg.errors import run_tool

    assert run_tool(lambda: load_cli("submit").main(argv)) == 2
    err = capsys.readouterr().err
    assert "train_cfg.max_iter" in err and "max_iters" in err
    assert not any(tmp_path.iterdir())


def test_a_bad_grid_value_fails_before_anything_is_queued(tmp_path, capsys):
    argv = [
        "configs/demo/hrnet_w18s_demo_cityscapes.py",
        "--grid",
        "optim_wrapper.optimizer.lr=0.001,abc,0.002",
        "--name",
        "lr",
        "--work-dir-root",
        str(tmp_path),
        "--dry-run",
    ]
    from hrnet_seg.errors import run_tool

    assert run_tool(lambda: load_cli("sweep").main(argv)) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "error: run hrnet_w18s_demo_cityscapes-lrabc (nothing was submitted): Bad value for "
        "optim_wrapper.optimizer.lr (--cfg-options): 'abc' is not a number (the config has "
        "0.002). Write e.g. optim_wrapper.optimizer.lr=0.002.\n"
    )
    assert "#SBATCH" not in captured.out and not any(tmp_path.iterdir())


def test_the_example_sweep_file(capsys):
    argv = ["--file", "slurm/sweeps/hrnet_lr_width.yaml", "--gpus-per-node", "4",
            "--work-dir-root", "/scratch/runs", "--dry-run"]  # fmt: skip
    assert load_cli("sweep").main(argv) == 0
    text = capsys.readouterr().out
    assert "#SBATCH --array=0-3%2" in text.splitlines()
    assert "# run hrnet_w48_cityscapes-lr0.005:" in text
    assert "# world size 4 (1 node(s) x 4 task(s))" in text


def test_the_hrnet_vs_peers_sweep_file(capsys):
    """HRNet and the peers' configs (thin leaves over mmseg's, package-scope bases) in one
    grid: every config resolves and the sweep is one array of 8 runs."""
    argv = ["--file", "slurm/sweeps/hrnet_vs_peers.yaml", "--gpus-per-node", "4",
            "--work-dir-root", "/scratch/runs", "--dry-run"]  # fmt: skip
    assert load_cli("sweep").main(argv) == 0
    text = capsys.readouterr().out
    assert "#SBATCH --array=0-7%4" in text.splitlines()
    assert text.count("#SBATCH --array") == 1
    assert "# run pidnet_s_cityscapes: " in text and "# run hrnet_w48_ocr_cityscapes: " in text
    assert "/configs/peers/segformer_b0_cityscapes.py -> /scratch/runs/hrnet_vs_peers/" in text


def test_a_package_scope_config_is_submitted_as_such(capsys):
    argv = ["mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py", "--gpus-per-node", "2",
            "--work-dir-root", "/scratch/runs", "--dry-run"]  # fmt: skip
    assert load_cli("submit").main(argv) == 0
    text = capsys.readouterr().out
    assert "# run pidnet-s_2xb6-120k_1024x1024-cityscapes: mmseg::pidnet/" in text
