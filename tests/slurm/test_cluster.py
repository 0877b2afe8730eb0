"""The local Slurm cluster itself: batch jobs run, and srun starts several tasks."""

from __future__ import annotations

import socket

from tests.slurm.conftest import sbatch, wait_for_job


def test_batch_job_runs(tmp_path):
    out = tmp_path / "hello.out"
    job_id = sbatch("-o", str(out), "--wrap", "echo hello from $SLURM_JOB_ID")
    assert wait_for_job(job_id, timeout=60) == "COMPLETED"
    assert out.read_text().strip() == f"hello from {job_id}"


def test_srun_starts_two_tasks(tmp_path):
    out = tmp_path / "hosts.out"
    job_id = sbatch("-n", "2", "-o", str(out), "--wrap", "srun hostname")
    assert wait_for_job(job_id, timeout=60) == "COMPLETED"
    lines = out.read_text().split()
    assert len(lines) == 2, out.read_text()
    assert set(lines) == {socket.gethostname()}
