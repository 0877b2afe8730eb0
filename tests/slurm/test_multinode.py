"""Training across the two nodes of the local cluster (make test-slurm): (f) 2 nodes x 2
tasks through submitit and through the sbatch template, (g) one 2-node job preempted three
times, (h) a node lost mid-run, (b, i) a sweep array spread over both nodes, with status
(with and without accounting), collect and the leaderboard.

What breaks on real clusters and not on one node: MASTER_ADDR/PORT across hosts, the
rendezvous, LOCAL_RANK per node, requeue of a multi-node job, a node that dies mid-run
(mmsegmentation #3591 and #1671, submitit #10, #1704, #1708)."""

from __future__ import annotations

import re
import subprocess
import time
from collections import defaultdict
from pathlib import Path

from tests.conftest import run_python
from tests.integration.conftest import DEMO
from tests.slurm.conftest import (
    cluster_script,
    job_info,
    read,
    scalars_by_start,
    submit,
    tiny,
    train_with_sbatch_template,
    wait_for_iteration,
    wait_manifest,
    without_accounting,
)


def work_dir_log(work_dir: Path) -> str:
    """mmengine's log of every start of the run (rank 0 writes it)."""
    return "".join(p.read_text() for p in sorted(Path(work_dir).glob("*/*.log")))


def check_four_ranks_on_two_nodes(results: dict, log: str, nodes: tuple[str, str]) -> None:
    assert results["world_size"] == 4 and results["batch_total"] == 8
    ranks = results["ranks"]
    assert [r["rank"] for r in ranks] == [0, 1, 2, 3]
    local = defaultdict(list)
    for r in ranks:
        local[r["host"]].append(r["local_rank"])
        # The log names each rank's host and LOCAL_RANK.
        assert f"rank {r['rank']}/4: host {r['host']}, LOCAL_RANK {r['local_rank']}" in log
    assert dict(local) == {nodes[0]: [0, 1], nodes[1]: [0, 1]}
    # Every rank ended with the same parameters (a digest of each rank's own copy).
    digests = {r["params_sha256"] for r in ranks}
    assert len(digests) == 1 and results["replicas_identical"] is True
    assert "Parameters identical on all 4 ranks at the end" in log


def test_f_two_nodes_of_two_tasks_through_submitit(tmp_path, data_root, two_nodes):
    out, manifest = submit(
        "slurm/submit.py", DEMO, "--nodes", "2", "--tasks-per-node", "2", "--cpus-per-task",
        "1", "--time", "10", "--work-dir-root", str(tmp_path), "--data-root", str(data_root),
        "--cfg-options", *tiny(6, 3),
    )  # fmt: skip
    done = wait_manifest(manifest)
    assert done.returncode == 0, done.stdout + done.stderr
    data = read(manifest)
    run = data["runs"][0]
    assert run["state"] == "done" and run["last_iter"] == 6 and run["nodes"] == "node[1-2]"
    results = read(Path(run["work_dir"]) / "results.json")
    log = work_dir_log(run["work_dir"])
    check_four_ranks_on_two_nodes(results, log, two_nodes)
    assert "4 process(es) on 2 node(s)" in log and "effective batch 8" in log
    # With accounting, submitit's own job-state watcher (sacct) works too.
    import submitit

    job = submitit.SlurmJob(folder=data["folder"], job_id=run["job_id"])
    assert job.state == "COMPLETED" and job.result()["world_size"] == 4
    assert job.get_info()["NodeList"] == "node[1-2]"


def test_f_two_nodes_of_two_tasks_through_the_sbatch_template(tmp_path, data_root, two_nodes):
    out, results = train_with_sbatch_template(
        tmp_path, data_root, "--nodes=2", "--ntasks-per-node=2"
    )
    assert "4 task(s) on node[1-2]" in out
    check_four_ranks_on_two_nodes(results, work_dir_log(tmp_path / "plain"), two_nodes)


def test_g_a_two_node_job_preempted_three_times(tmp_path, data_root, two_nodes, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")  # W&B files in the work dir: one run id
    iters, every = 30, 5  # preempted near iterations 4, 8 and 12: a margin of 18
    out, manifest = submit(
        "slurm/submit.py", DEMO, "--nodes", "2", "--cpus-per-task", "1", "--time", "20",
        "--work-dir-root", str(tmp_path), "--data-root", str(data_root),
        "--cfg-options", *tiny(iters, every),
    )  # fmt: skip
    run = read(manifest)["runs"][0]
    job_id, work_dir = run["job_id"], Path(run["work_dir"])
    # A mix of what a cluster sends: submitit's checkpoint signal (the job requeues itself)
    # and an administrator's requeue (SIGTERM; Slurm requeues).
    how = ["usr2", "scontrol-requeue", "usr2"]
    resumed_at = 0
    for start, signal in enumerate(how):
        # Each time after the (restarted) job has made progress.
        wait_for_iteration(work_dir, resumed_at + 3, start=start)
        if start == 0:
            wandb_id = (work_dir / "wandb_run_id.txt").read_text().strip()
        if signal == "usr2":
            subprocess.run(["scancel", "--signal=USR2", job_id], check=True, timeout=30)
        else:
            subprocess.run(["scontrol", "requeue", job_id], check=True, timeout=30)
        wait_for_iteration(work_dir, 1, start=start + 1, timeout=400)  # the next start runs
        resumed_at = scalars_by_start(work_dir)[start + 1][0] - 1

    done = wait_manifest(manifest, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(job_info(job_id)["Restarts"]) == 3
    starts = scalars_by_start(work_dir)
    assert len(starts) == 4, [(s[0], s[-1]) for s in starts]
    text = (Path(read(manifest)["folder"]) / f"{job_id}_0_log.out").read_text()
    for k, signal in enumerate(how):
        reached, first_after = starts[k][-1], starts[k + 1][0]
        resumed_from = first_after - 1  # each restart begins at a checkpoint + 1
        assert (work_dir / f"iter_{resumed_from}.pth").exists()
        assert 0 <= reached - resumed_from <= every  # at most one checkpoint interval lost
        signame = "SIGUSR2" if signal == "usr2" else "SIGTERM"
        assert f"{signame}: checkpoint {work_dir / f'iter_{resumed_from}.pth'}" in text
    results = read(work_dir / "results.json")
    assert results["final_iter"] == starts[-1][-1] == iters  # the configured total
    assert results["world_size"] == 2 and results["replicas_identical"] is True
    # One W&B run across all four starts: one offline file per start, all with its id.
    assert (work_dir / "wandb_run_id.txt").read_text().strip() == wandb_id
    files = sorted(work_dir.glob("wandb/**/run-*.wandb"))
    assert len(files) == 4 and all(wandb_id in p.name for p in files), files


# The collective timeout of the node-loss test: the bound the project sets on how long a
# rank waits for a peer (env_cfg.dist_cfg.timeout, 600 s by default; short here).
COLLECTIVE_TIMEOUT_S = 20


def test_h_a_node_lost_mid_run(tmp_path, data_root, two_nodes):
    iters, every = 15, 3
    args = [
        "slurm/submit.py", DEMO, "--nodes", "2", "--cpus-per-task", "1", "--time", "20",
        "--name", "lost", "--work-dir-root", str(tmp_path), "--data-root", str(data_root),
        "--cfg-options", *tiny(iters, every),
        f"env_cfg.dist_cfg.timeout={COLLECTIVE_TIMEOUT_S}",
    ]  # fmt: skip
    out, manifest = submit(*args)
    run = read(manifest)["runs"][0]
    job_id, work_dir = run["job_id"], Path(run["work_dir"])
    wait_for_iteration(work_dir, every + 2)
    lost = two_nodes[1]  # rank 1's node; rank 0 (node1) sees its peer vanish
    try:
        killed = cluster_script("kill-node", lost)
        assert killed.returncode == 0, killed.stdout + killed.stderr
        # The job ends by the collective timeout; this loop is only a hang guard.
        deadline = time.monotonic() + COLLECTIVE_TIMEOUT_S + 240
        while True:
            status = run_python("slurm/status.py", str(manifest))
            failed = read(manifest)["runs"][0]
            if failed["state"] == "failed" and failed["node_trouble"]:
                break
            assert time.monotonic() < deadline, status.stdout + status.stderr
            time.sleep(2)
    finally:
        revived = cluster_script("revive-node", lost)
    assert revived.returncode == 0, revived.stdout + revived.stderr
    # status: failed, on which nodes, which node is gone, and the remote error (the
    # collective that timed out on the surviving rank).
    assert status.returncode == 0
    assert re.search(rf"lost\s+{job_id}\s+failed", status.stdout), status.stdout
    assert "failed on node[1-2]" in status.stdout
    assert f"node {lost} not responding" in status.stdout
    assert "Timed out" in status.stdout or "timed out" in status.stdout
    # Ended by the job itself (a FAILED run), not by Slurm declaring the node dead.
    assert failed["slurm_state"].startswith("FAILED"), failed
    checkpoints = sorted(int(p.stem.split("_")[1]) for p in work_dir.glob("iter_*.pth"))
    last_complete = checkpoints[-1]

    # Resubmitting the same run resumes from the last complete checkpoint.
    out, manifest = submit(*args)
    done = wait_manifest(manifest)
    assert done.returncode == 0, done.stdout + done.stderr
    starts = scalars_by_start(work_dir)
    assert starts[-1][0] == last_complete + 1 and starts[-1][-1] == iters
    assert read(work_dir / "results.json")["final_iter"] == iters


def test_b_i_a_sweep_array_over_both_nodes_then_status_and_collect(tmp_path, data_root, two_nodes):
    # Each run takes a whole node (--exclusive): with %2, the two at a time take one node each.
    out, manifest = submit(
        "slurm/sweep.py", DEMO, "--grid", "optim_wrapper.optimizer.lr=0.001,0.002,0.003,0.004",
        "--max-parallel", "2", "--name", "lr", "--cpus-per-task", "1", "--time", "10",
        "--sbatch", "exclusive",
        "--work-dir-root", str(tmp_path), "--data-root", str(data_root),
        "--cfg-options", *tiny(4, 4),
    )  # fmt: skip
    data = read(manifest)
    array = data["array_job_id"]
    assert [r["job_id"] for r in data["runs"]] == [f"{array}_{i}" for i in range(4)]
    # One array, at most 2 tasks at a time (the %2 of --array=0-3%2).
    shown = subprocess.run(["scontrol", "show", "job", array], capture_output=True, text=True,
                           timeout=30).stdout  # fmt: skip
    assert "ArrayTaskThrottle=2" in shown, shown

    done = wait_manifest(manifest)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = read(manifest)["runs"]
    assert {r["nodes"] for r in runs} == set(two_nodes)  # both nodes took runs
    status = run_python("slurm/status.py", str(manifest))
    assert status.returncode == 0
    # The same answer from a cluster without accounting (squeue/scontrol, no sacct).
    blind = run_python("slurm/status.py", str(manifest), env=without_accounting(tmp_path))
    for text in (status.stdout, blind.stdout):
        for run in runs:
            row = rf"{run['name']}\s+{run['job_id']}\s+done \(COMPLETED\)\s+4/4\s+\d+\.\d\d"
            assert re.search(rf"{row}\s+{re.escape(run['nodes'])}\s", text), text
    # Each run: its own work dir, W&B name, the sweep as group, its values as tags.
    for run in runs:
        cfg_dump = next(Path(run["work_dir"]).glob("*.py")).read_text()
        assert f"name='{run['name']}'" in cfg_dump and "group='lr'" in cfg_dump
        assert f"lr={run['params']['optim_wrapper.optimizer.lr']:g}" in cfg_dump

    collect = run_python("slurm/collect.py", str(manifest))
    assert collect.returncode == 0, collect.stderr
    collected = read(manifest.parent / "collected.json")["runs"]
    assert len(collected) == 4 and {c["name"] for c in collected} == {r["name"] for r in runs}
    assert all(c["results"]["world_size"] == 1 for c in collected)
    mious = [c["results"]["mIoU"] for c in collected]
    assert mious == sorted(mious, reverse=True)
    board = run_python("tools/leaderboard.py", str(manifest.parent), "--no-references")
    assert board.returncode == 0, board.stderr
    # Ranked by mIoU, best first, each run linked to its work dir.
    positions = [board.stdout.index(c["work_dir"]) for c in collected]
    assert positions == sorted(positions)
