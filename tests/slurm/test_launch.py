"""The launching layer against real Slurm daemons (make test-slurm): (a) a 2-task DDP job
through submitit, (c) preemption and resume, (d) a failing run's error, (e) the plain sbatch
template, (f) its preemption with SIGUSR2. (b), a sweep as a job array with status and
collect, runs over both nodes with (i) in test_multinode.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hrnet_seg.records.wandb_reader import read_run
from tests.conftest import run_python
from tests.integration.conftest import DEMO
from tests.slurm.conftest import (
    finished_sbatch_template,
    job_info,
    read,
    sbatch_template,
    scalars_by_start,
    submit,
    tiny,
    train_with_sbatch_template,
    wait_for_iteration,
    wait_manifest,
)


def test_a_two_task_ddp_job_through_submitit(tmp_path, data_root):
    out, manifest = submit(
        "slurm/submit.py", DEMO, "--tasks-per-node", "2", "--cpus-per-task", "1",
        "--time", "10", "--work-dir-root", str(tmp_path), "--data-root", str(data_root),
        "--cfg-options", *tiny(6, 3),
    )  # fmt: skip
    job_id = read(manifest)["runs"][0]["job_id"]
    assert f"job {job_id}" in out and "work dir" in out and "_0_log.out" in out

    done = wait_manifest(manifest)
    assert done.returncode == 0, done.stdout + done.stderr
    run = read(manifest)["runs"][0]
    assert run["state"] == "done" and run["last_iter"] == 6
    results = read(Path(run["work_dir"]) / "results.json")
    assert results["world_size"] == 2 and results["batch_total"] == 4
    assert results["status"] == "finished" and 0 <= results["mIoU"] <= 100
    log = Path(run["work_dir"]).glob("*/*.log")
    text = "".join(p.read_text() for p in log)
    assert "2 process(es) on 1 node(s)" in text and "effective batch 4" in text


@pytest.mark.parametrize("how", ["usr2", "scontrol-requeue"])
def test_c_preempted_job_resumes_and_finishes(tmp_path, data_root, how, monkeypatch):
    # W&B on (offline files in the work dir): the restart must continue the same run.
    monkeypatch.setenv("WANDB_MODE", "offline")
    iters, every = 60, 10  # the signal comes at iteration >= 12: a margin of 48
    out, manifest = submit(
        "slurm/submit.py", DEMO, "--cpus-per-task", "1", "--time", "10",
        "--work-dir-root", str(tmp_path), "--data-root", str(data_root),
        "--cfg-options", *tiny(iters, every),
    )  # fmt: skip
    run = read(manifest)["runs"][0]
    job_id, work_dir = run["job_id"], Path(run["work_dir"])
    wait_for_iteration(work_dir, 12)
    wandb_id = (work_dir / "wandb_run_id.txt").read_text().strip()
    if how == "usr2":  # submitit's checkpoint signal: what Slurm sends before the time limit
        subprocess.run(["scancel", "--signal=USR2", job_id], check=True, timeout=30)
    else:  # an administrator's requeue: SIGTERM, then Slurm requeues the job itself
        subprocess.run(["scontrol", "requeue", job_id], check=True, timeout=30)

    done = wait_manifest(manifest, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(job_info(job_id)["Restarts"]) == 1

    results = read(work_dir / "results.json")
    starts = scalars_by_start(work_dir)
    assert len(starts) == 2, starts
    reached, resumed_from = starts[0][-1], results["resumed_from_iter"]
    assert results["final_iter"] == iters  # the configured total
    assert starts[1][0] == resumed_from + 1  # first iteration after the restart
    assert starts[1][-1] == iters
    assert 0 <= reached - resumed_from <= every  # at most one checkpoint interval lost
    ckpt = work_dir / f"iter_{resumed_from}.pth"
    assert ckpt.exists()
    # The job's log says why it stopped and where it saved.
    text = (Path(read(manifest)["folder"]) / f"{job_id}_0_log.out").read_text()
    signame = "SIGUSR2" if how == "usr2" else "SIGTERM"
    assert f"{signame}: checkpoint {ckpt}" in text
    # The same W&B run, continued: one offline file per start, all with its id.
    assert (work_dir / "wandb_run_id.txt").read_text().strip() == wandb_id
    files = sorted(work_dir.glob("wandb/**/run-*.wandb"))
    assert len(files) == 2 and all(wandb_id in p.name for p in files), files


def test_d_failing_run_reports_the_remote_traceback_and_log(tmp_path):
    out, manifest = submit(
        "slurm/submit.py", DEMO, "--cpus-per-task", "1", "--time", "10",
        "--work-dir-root", str(tmp_path), "--data-root", str(tmp_path / "no_such_data"),
        "--cfg-options", *tiny(4, 4),
    )  # fmt: skip
    done = wait_manifest(manifest)
    assert done.returncode == 1
    run = read(manifest)["runs"][0]
    assert run["state"] == "failed"
    assert "Traceback" in done.stdout and "no dataset at" in done.stdout
    assert (
        f"{run['job_id']}_0_log.out" in done.stdout and f"{run['job_id']}_0_log.err" in done.stdout
    )
    status = run_python("slurm/status.py", str(manifest))
    assert "failed" in status.stdout and "no dataset at" in status.stdout


def test_e_the_sbatch_template(tmp_path, data_root):
    out, results = train_with_sbatch_template(tmp_path, data_root, "--ntasks-per-node=2")
    assert results["world_size"] == 2
    assert "2 task(s)" in out


def test_f_the_sbatch_template_requeues_on_usr2_and_continues_the_wandb_run(
    tmp_path, data_root, monkeypatch
):
    # The same exit path as the submitit job (test c): checkpoint, close the W&B run,
    # `scontrol requeue`; the restart resumes and continues the same W&B run.
    monkeypatch.setenv("WANDB_MODE", "offline")  # sbatch exports the environment
    iters, every = 60, 10
    job_id = sbatch_template(tmp_path, data_root, iters=iters, checkpoint_every=every)
    work_dir = tmp_path / "plain"
    wait_for_iteration(work_dir, 12)
    wandb_id = (work_dir / "wandb_run_id.txt").read_text().strip()
    subprocess.run(["scancel", "--signal=USR2", job_id], check=True, timeout=30)

    out, results = finished_sbatch_template(tmp_path, job_id, iters=iters)
    assert int(job_info(job_id)["Restarts"]) == 1
    assert "requeued Slurm job" in out
    starts = scalars_by_start(work_dir)
    assert len(starts) == 2, starts
    resumed_from = results["resumed_from_iter"]
    assert starts[1][0] == resumed_from + 1 and starts[1][-1] == iters
    assert 0 <= starts[0][-1] - resumed_from <= every
    assert f"SIGUSR2: checkpoint {work_dir / f'iter_{resumed_from}.pth'}" in out
    assert (work_dir / "wandb_run_id.txt").read_text().strip() == wandb_id
    files = sorted(work_dir.glob("wandb/**/run-*.wandb"))
    assert len(files) == 2 and all(wandb_id in p.name for p in files), files
    # The first start closed its run (the hook's after_run: summary and a clean exit)
    # before the process went, rather than leaving it to wandb's exit handler.
    first = read_run(files[0])
    assert "gpu_hours" in first.summary and first.exit_code == 0, first.summary
