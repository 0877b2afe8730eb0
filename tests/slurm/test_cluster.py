"""The local Slurm cluster itself (slurm/local_cluster.sh --nodes 2): batch jobs run, srun
starts tasks on both nodes, each node is its own host on its own address, accounting
answers, and verify-clean sees everything the running cluster made."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.slurm.conftest import cluster_script, sbatch, wait_for_job, without_accounting


def test_batch_job_runs(tmp_path):
    out = tmp_path / "hello.out"
    job_id = sbatch("-o", str(out), "--wrap", "echo hello from $SLURM_JOB_ID")
    assert wait_for_job(job_id, timeout=60) == "COMPLETED"
    assert out.read_text().strip() == f"hello from {job_id}"


def test_srun_starts_two_tasks(tmp_path, slurm_cluster):
    out = tmp_path / "hosts.out"
    job_id = sbatch("-n", "2", "-o", str(out), "--wrap", "srun hostname")
    assert wait_for_job(job_id, timeout=60) == "COMPLETED"
    lines = out.read_text().split()
    assert len(lines) == 2, out.read_text()
    assert len(set(lines)) == 1 and lines[0] in slurm_cluster.nodes


# Each task: its hostname, its address, and the addresses it resolves the node names to.
PROBE = """echo "$(hostname) $(ip -4 -o addr show eth0 | awk '{print $4}')" \\
    "$(getent hosts node1 | cut -d' ' -f1) $(getent hosts node2 | cut -d' ' -f1)"
"""


def test_two_nodes_are_two_hosts_on_a_private_network(tmp_path, two_nodes):
    machine_hosts = Path("/etc/hosts").read_text()
    out, probe = tmp_path / "probe.out", tmp_path / "probe.sh"
    probe.write_text(PROBE)
    job_id = sbatch("-N", "2", "--ntasks-per-node", "1", "-o", str(out),
                    "--wrap", f"srun bash {probe}")  # fmt: skip
    assert wait_for_job(job_id, timeout=60) == "COMPLETED", out.read_text()
    seen = {}
    for line in out.read_text().splitlines():
        host, cidr, node1, node2 = line.split()
        seen[host] = (cidr.split("/")[0], node1, node2)
    assert set(seen) == set(two_nodes)
    addr1, addr2 = seen["node1"][0], seen["node2"][0]
    assert addr1 != addr2
    # Every node resolves every node's name to that node's own address.
    assert seen["node1"][1:] == seen["node2"][1:] == (addr1, addr2)
    # ... through the nodes' private /etc/hosts: the machine's file is untouched.
    assert Path("/etc/hosts").read_text() == machine_hosts
    assert "node1" not in machine_hosts.split()


def test_accounting_answers_and_its_absence_is_real(tmp_path):
    job_id = sbatch("-o", str(tmp_path / "x.out"), "--wrap", "true")
    assert wait_for_job(job_id, timeout=60) == "COMPLETED"
    sacct = ["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", job_id]
    # slurmdbd records the end a moment after slurmctld: ask until it has.
    for _ in range(60):
        res = subprocess.run(sacct, capture_output=True, text=True, timeout=30)
        if res.stdout.strip() == f"{job_id}|COMPLETED":
            break
        time.sleep(0.5)
    assert res.stdout.strip() == f"{job_id}|COMPLETED", res.stdout + res.stderr
    # The view of a cluster without accounting (tests/slurm/conftest.py): sacct fails there.
    env = {**os.environ, **without_accounting(tmp_path)}
    res = subprocess.run(sacct, capture_output=True, text=True, timeout=30, env=env)
    assert res.returncode != 0 and "accounting storage is disabled" in res.stderr.lower()


def test_status_lists_every_node_and_verify_clean_sees_the_running_cluster(two_nodes):
    status = cluster_script("status")
    assert status.returncode == 0, status.stdout + status.stderr
    for node in two_nodes:
        assert any(line.split()[:1] == [node] for line in status.stdout.splitlines())
    assert "accounting: slurmdbd (pid" in status.stdout
    # While the cluster runs, verify-clean must name what it made (it is the check that
    # `make test-slurm` runs after stop, and a check that cannot fail checks nothing).
    verify = cluster_script("verify-clean")
    assert verify.returncode == 1
    for leftover in ("network namespace hrnetseg-node1", "network namespace hrnetseg-node2",
                     "link hsbr0", "process slurmctld", "process slurmd-node2",
                     "process slurmdbd", "process mariadbd"):  # fmt: skip
        assert leftover in verify.stderr, verify.stderr


def test_a_bad_start_changes_nothing(two_nodes):
    res = cluster_script("start", "--nodes", "two")
    assert res.returncode != 0
    assert "--nodes needs a number from 1 to 99, got 'two'" in res.stderr
    assert cluster_script("status").returncode == 0  # the running cluster is untouched
