"""Run states from submitit's result files, the scheduler's word and the work dir."""

from __future__ import annotations

import json

import pytest
from submitit.core.utils import JobPaths, cloudpickle_dump

from hrnet_seg.launch import state as st
from hrnet_seg.launch.manifest import Manifest, ManifestError, SubmittedRun


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
        ("COMPLETING", "running"),  # ending; no result yet
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


def test_a_completing_job_with_a_result_has_ended(tmp_path):
    # The controller keeps a job COMPLETING until a lost node's cleanup is given up on;
    # the job's own error already says how it ended.
    write_result(tmp_path / "slurm", "7_1", ("error", "RuntimeError: Timed out waiting"))
    assert state_of(tmp_path, "COMPLETING").state == "failed"
    assert state_of(tmp_path, "RUNNING").state == "running"  # a restart's earlier result


class FakeSlurm:
    """Slurm's client commands as this cluster would answer (``st._run`` replaced)."""

    def __init__(self, *, sacct: str | None, squeue: str = "", scontrol=None, sinfo: str = ""):
        self.answers = {"sacct": sacct, "squeue": squeue, "sinfo": sinfo}
        self.scontrol = scontrol or {}
        self.calls: list[list[str]] = []

    def __call__(self, cmd, timeout):
        self.calls.append(cmd)
        if cmd[0] == "scontrol":
            return self.scontrol.get(cmd[-1])
        return self.answers[cmd[0]]


SACCT = """JobID|State|NodeList
100|COMPLETED|node[1-2]
101|CANCELLED by 0|node1
102_0|RUNNING|node2
102_[1-3%2]|PENDING|None assigned
"""


def test_accounting_answers_first_with_each_jobs_nodes(monkeypatch):
    fake = FakeSlurm(sacct=SACCT, squeue="103|RUNNING|node1\n")
    monkeypatch.setattr(st, "_run", fake)
    jobs = st.slurm_jobs(["100", "101", "102_0", "102_3", "103"])
    assert jobs["100"] == st.SlurmJob("COMPLETED", "node[1-2]", "sacct")
    assert jobs["101"].state == "CANCELLED by 0"
    assert jobs["102_0"] == st.SlurmJob("RUNNING", "node2", "sacct")
    assert jobs["102_3"] == st.SlurmJob("PENDING", None, "sacct")  # a pending array range
    # Not in accounting yet (slurmdbd lags the controller): the controller answers.
    assert jobs["103"] == st.SlurmJob("RUNNING", "node1", "squeue")
    assert fake.calls[0][0] == "sacct" and [c[0] for c in fake.calls] == ["sacct", "squeue"]


def test_without_accounting_the_controller_answers(monkeypatch):
    scontrol = {"101": "JobId=101 JobName=x JobState=FAILED Reason=NonZeroExitCode NodeList=node2"}
    fake = FakeSlurm(sacct=None, squeue="100|PENDING|\n", scontrol=scontrol)
    monkeypatch.setattr(st, "_run", fake)
    jobs = st.slurm_jobs(["100", "101", "102"])
    assert jobs == {
        "100": st.SlurmJob("PENDING", None, "squeue"),
        "101": st.SlurmJob("FAILED", "node2", "scontrol"),
    }


def test_node_trouble_names_the_nodes_that_are_down_or_unreachable(monkeypatch):
    sinfo = "node1|mixed|none\nnode2|mixed*|none\nnode2|mixed*|none\nnode3|down*|Not responding\n"
    monkeypatch.setattr(st, "_run", FakeSlurm(sacct=None, sinfo=sinfo))
    assert st.node_trouble("node[1-3]") == (
        "node node2 not responding, state mixed; "
        "node node3 not responding, state down (Not responding)"
    )
    monkeypatch.setattr(st, "_run", FakeSlurm(sacct=None, sinfo="node1|idle|none\n"))
    assert st.node_trouble("node1") is None


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
        runs.append(SubmittedRun(index=i, name=f"run{i}", job_id=f"7_{i}", config="c.py",
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
    loaded.runs[0].nodes = "node[1-2]"
    assert "run0  7_0  done    4/4   40.00  node[1-2]  lr=0" in loaded.table().splitlines()


def test_missing_or_foreign_manifest_is_named(tmp_path):
    with pytest.raises(ManifestError, match="no manifest"):
        Manifest.load(str(tmp_path))
    (tmp_path / "manifest.json").write_text('{"runs": [], "oops": 1}')
    with pytest.raises(ManifestError, match="not a hrnet_seg manifest"):
        Manifest.load(str(tmp_path))


def test_status_of_a_run_that_died_with_a_node(tmp_path, monkeypatch):
    write_result(tmp_path / "slurm", "7_1", ("error", "RuntimeError: Timed out waiting 20000ms"))
    run = SubmittedRun(index=0, name="r", job_id="7_1", config="c.py", cfg_options={}, params={},
                    work_dir=str(tmp_path / "w"), seed=0, max_iters=4)  # fmt: skip
    manifest = Manifest(path=str(tmp_path / "manifest.json"), kind="train", name="r",
                        created="now", executor="slurm", folder=str(tmp_path / "slurm"),
                        array_job_id=None, resources={}, command=[], runs=[run])  # fmt: skip
    sacct = "JobID|State|NodeList\n7_1|FAILED|node[1-2]\n"
    monkeypatch.setattr(st, "_run", FakeSlurm(sacct=sacct, sinfo="node2|idle*|none\n"))
    manifest.refresh()
    failures = manifest.failures()
    assert "r (job 7_1) failed on node[1-2]" in failures
    assert "node node2 not responding, state idle" in failures and "Timed out" in failures
    # The node is back by the next look: what was seen stays in the record.
    monkeypatch.setattr(st, "_run", FakeSlurm(sacct=sacct, sinfo="node2|idle|none\n"))
    assert "node node2 not responding" in Manifest.load(manifest.path).refresh().failures()


def test_another_tasks_error_when_task_0_left_none(tmp_path):
    # Rank 0 was on the lost node (killed, no result); rank 1 recorded why it stopped.
    write_result(tmp_path / "slurm", "7_1", ("success", {}))  # task 0 of job 7_1
    path = JobPaths(tmp_path / "slurm", job_id="7_1", task_id=0).result_pickle
    path.rename(path.with_name("7_1_1_result.pkl"))
    assert st.submitit_outcome(str(tmp_path / "slurm"), "7_1") is None  # a success is task 0's
    cloudpickle_dump(("error", "RuntimeError: Connection closed by peer"),
                     path.with_name("7_1_1_result.pkl"))  # fmt: skip
    cloudpickle_dump(("error", "not this job's"), path.with_name("7_11_0_result.pkl"))
    assert state_of(tmp_path, "FAILED").error == "RuntimeError: Connection closed by peer"
