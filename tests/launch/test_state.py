"""Run states from submitit's result files, the scheduler's word and the work dir."""

from __future__ import annotations

import json

import pytest
from submitit.core.utils import JobPaths, cloudpickle_dump

from hrnet_seg.launch import state as st
from hrnet_seg.launch.manifest import Manifest, ManifestError, RunRecord


def write_result(folder, job_id, outcome):
    path = JobPaths(folder, job_id=job_id, task_id=0).result_pickle
    path.parent.mkdir(parents=True, exist_ok=True)
    cloudpickle_dump(outcome, path)


def write_scalars(work_dir, start, rows):
    path = work_dir / start / "vis_data" / "scalars.json"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"iter": 9')  # torn line


def state_of(tmp_path, slurm_state=None, executor="slurm"):
    return st.run_state(job_id="7_1", folder=str(tmp_path / "slurm"), work_dir=str(tmp_path / "w"),
                        executor=executor, slurm_state=slurm_state)  # fmt: skip


def test_progress_reads_every_start_of_a_run(tmp_path):
    work = tmp_path / "w"
    # A long first start (its tail is all that is read), then a resumed one.
    rows = [{"iter": i, "loss": 1.0, "lr": 0.01} for i in range(1, 5001)]
    write_scalars(work, "20260101_000000", [*rows, {"mIoU": 10.0, "step": 5000}])
    assert st.progress(str(work))[:2] == (5000, None)  # no results.json yet
    (work / "results.json").write_text(json.dumps({"mIoU": 20.5, "final_iter": 5000}))
    write_scalars(work, "20260101_010000", [{"iter": 5001}, {"iter": 5002}])
    assert st.progress(str(work))[:2] == (5002, 20.5)
    # A start that has logged nothing yet: the earlier start's last iteration stands.
    (work / "20260101_020000" / "vis_data").mkdir(parents=True)
    (work / "20260101_020000" / "vis_data" / "scalars.json").write_text("")
    assert st.progress(str(work))[:2] == (5002, 20.5)


@pytest.mark.parametrize(
    ("slurm_state", "expected"),
    [
        ("PENDING", "queued"),
        ("REQUEUED", "queued"),
        ("RUNNING", "running"),
        ("COMPLETING", "running"),
        ("CANCELLED+", "failed"),
        ("TIMEOUT", "failed"),
        ("OUT_OF_MEMORY", "failed"),
        (None, "unknown"),
    ],  # fmt: skip
)
def test_scheduler_states(tmp_path, slurm_state, expected):
    assert state_of(tmp_path, slurm_state).state == expected


def test_result_files_decide_once_the_job_has_ended(tmp_path):
    write_result(tmp_path / "slurm", "7_1", ("error", "Traceback ...\nValueError: boom"))
    failed = state_of(tmp_path, "COMPLETED")
    assert failed.state == "failed" and "ValueError: boom" in failed.error
    assert state_of(tmp_path, None).state == "failed"  # scheduler forgot the job
    # A requeued job runs again: its earlier result is stale.
    assert state_of(tmp_path, "PENDING").state == "queued"
    write_result(tmp_path / "slurm", "7_1", ("success", {"mIoU": 1.0}))
    assert state_of(tmp_path, "COMPLETED").state == "done"


def test_completed_without_a_result_is_a_failure(tmp_path):
    s = state_of(tmp_path, "COMPLETED")
    assert s.state == "failed" and "no result from the job" in s.error


def test_manifest_round_trip_table_and_collect(tmp_path):
    runs = []
    for i, miou in enumerate([40.0, 60.0, None]):
        work = tmp_path / f"run{i}"
        work.mkdir()
        if miou is not None:
            (work / "results.json").write_text(
                json.dumps({"status": "finished", "mIoU": miou, "final_iter": 4})
            )
        runs.append(RunRecord(index=i, name=f"run{i}", job_id=f"7_{i}", config="c.py",
                              cfg_options={}, params={"lr": i}, work_dir=str(work), seed=0,
                              max_iters=4))  # fmt: skip
    manifest = Manifest(path=str(tmp_path / "manifest.json"), kind="sweep", name="s",
                        created="now", executor="slurm", folder=str(tmp_path / "slurm"),
                        array_job_id="7", resources={}, command=[], runs=runs)  # fmt: skip
    manifest.save()
    loaded = Manifest.load(str(tmp_path))
    assert loaded.runs[1].params == {"lr": 1}
    collected = loaded.collect()
    assert [c["name"] for c in collected] == ["run1", "run0"]  # best mIoU first
    assert json.loads((tmp_path / "collected.json").read_text())["runs"][0]["results"]["mIoU"] == 60
    loaded.runs[0].state, loaded.runs[0].last_iter, loaded.runs[0].miou = "done", 4, 40.0
    assert "run0  7_0  done    4/4   40.00  lr=0" in loaded.table().splitlines()


def test_missing_or_foreign_manifest_is_named(tmp_path):
    with pytest.raises(ManifestError, match="no manifest"):
        Manifest.load(str(tmp_path))
    (tmp_path / "manifest.json").write_text('{"runs": [], "oops": 1}')
    with pytest.raises(ManifestError, match="not a hrnet_seg manifest"):
        Manifest.load(str(tmp_path))
