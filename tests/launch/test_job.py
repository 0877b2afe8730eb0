"""TrainJob: what it trains, how it refuses bad input, when it stops requeuing; a Slurm
task's threads and what a failed task does to its job."""

from __future__ import annotations

import os
import pickle
import signal

import pytest
import torch

from hrnet_seg.engine.cli import TrainOptions
from hrnet_seg.launch.distributed import end_job_after_failure, use_allocated_cpus
from hrnet_seg.launch.job import TrainJob
from hrnet_seg.launch.preemption import Preempted, RequeueLimitError
from tests.conftest import REPO

DEMO = str(REPO / "configs/demo/hrnet_w18s_demo_cityscapes.py")


def job(tmp_path, **kw):
    return TrainJob(config=DEMO, work_dir=str(tmp_path / "w"), options=TrainOptions(seed=5), **kw)


def test_config_resumes_and_stops_on_preemption(tmp_path):
    cfg = job(tmp_path, wandb={"name": "r", "group": "g", "tags": ("a",)}).build_config()
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.randomness["seed"] == 5
    hooks = [h["type"] for h in cfg.custom_hooks]
    assert hooks.count("PreemptionHook") == 1
    wandb = next(h for h in cfg.custom_hooks if h["type"] == "WandbLoggerHook")
    assert (wandb["name"], wandb["group"], wandb["tags"]) == ("r", "g", ["a"])


def test_the_job_pickles_and_requeues_with_a_count(tmp_path):
    j = job(tmp_path)
    again = pickle.loads(pickle.dumps(j.requeued()))
    assert again.requeues == 1 and again.config == j.config


def test_requeue_limit(tmp_path):
    stop = Preempted(signum=signal.SIGUSR2, iteration=6, checkpoint="/w/iter_6.pth")
    with pytest.raises(RequeueLimitError, match="--max-requeues 2") as info:
        job(tmp_path, max_requeues=2, requeues=2)._after_preemption(stop, rank=0)
    assert "same --work-dir" in str(info.value) and "iter_6.pth" in str(info.value)


def test_bad_fields_are_named(tmp_path):
    with pytest.raises(ValueError, match="absolute paths"):
        TrainJob(config="configs/x.py", work_dir=str(tmp_path))
    with pytest.raises(ValueError, match="max_requeues"):
        job(tmp_path, max_requeues=-1)
    with pytest.raises(ValueError, match="wandb accepts"):
        job(tmp_path, wandb={"project": "p"})


def test_a_resubmission_reuses_the_seed_of_the_earlier_submission(tmp_path):
    from hrnet_seg.launch.manifest import Manifest, SubmittedRun
    from hrnet_seg.launch.submit import SubmitOptions, make_jobs
    from hrnet_seg.launch.sweep import RunSpec

    run = RunSpec(name="r", config=DEMO, cfg_options={})

    def one_job(options):
        kw = dict(root=str(tmp_path), group=None, job_type="train", run_dirs=False)
        return make_jobs([run], options=options, **kw)[0]

    first = one_job(SubmitOptions())
    record = SubmittedRun(
        index=0,
        name="r",
        job_id="1",
        config=DEMO,
        cfg_options={},
        params={},
        work_dir=first.work_dir,
        seed=first.options.seed,
        max_iters=4,
    )
    Manifest(
        path=str(tmp_path / "manifest.json"),
        kind="train",
        name="r",
        created="",
        executor="slurm",
        folder="",
        array_job_id=None,
        resources={},
        command=[],
        runs=[record],
    ).save()
    again = one_job(SubmitOptions())
    assert again.options.seed == first.options.seed
    given = one_job(SubmitOptions(train=TrainOptions(seed=7)))
    assert given.options.seed == 7


def fake_command(tmp_path, monkeypatch, name):
    """`name` on PATH records its arguments in tmp_path/name.args."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / (name + ".args")}\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return tmp_path / f"{name}.args"


def test_a_failed_task_ends_the_whole_job(tmp_path, monkeypatch, capsys):
    calls = fake_command(tmp_path, monkeypatch, "scancel")
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    end_job_after_failure(RuntimeError("Timed out waiting 20000ms for recv"), rank=1)
    # The batch step, SIGKILL: the job ends FAILED (srun would wait for a lost node).
    assert calls.read_text() == "--batch --signal=KILL 4242\n"
    err = capsys.readouterr().err
    assert "rank 1: RuntimeError: Timed out waiting 20000ms" in err
    assert "ending Slurm job 4242" in err
    monkeypatch.delenv("SLURM_JOB_ID")  # not a Slurm job: nothing to end
    end_job_after_failure(RuntimeError("x"), rank=0)
    assert calls.read_text().count("\n") == 1


def test_task_threads_follow_cpus_per_task(monkeypatch):
    threads = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
        assert use_allocated_cpus() == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's explicit choice wins
        assert use_allocated_cpus() is None
        monkeypatch.delenv("SLURM_CPUS_PER_TASK")
        monkeypatch.delenv("OMP_NUM_THREADS")
        assert use_allocated_cpus() is None  # outside Slurm: torch's default stays
    finally:
        torch.set_num_threads(threads)
