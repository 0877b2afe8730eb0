"""The calls into submitit's private API (launch/submitit_private.py) against the installed
submitit: a new version that moved or changed them fails here, not on a cluster."""

from __future__ import annotations

import submitit

from hrnet_seg.launch import submitit_private
from hrnet_seg.launch.submitit_private import read_sacct, sbatch_string


def test_the_installed_submitit_is_the_series_these_calls_were_read_in():
    series = submitit_private.CHECKED_VERSION.rsplit(".", 1)[0]
    assert submitit.__version__.startswith(series + "."), submitit.__version__


def test_sbatch_string_renders_the_parameters(tmp_path):
    text = sbatch_string(command="python -m x", folder=str(tmp_path), nodes=2, time=90)
    assert text.startswith("#!/bin/bash") and "#SBATCH --nodes=2" in text
    assert "#SBATCH --time=90" in text and "python -m x" in text


def test_read_sacct_expands_pending_array_ranges():
    out = "JobID|State|NodeList\n7_[1-2%1]|PENDING|None assigned\n8|RUNNING|n1\n"
    info = read_sacct(out)
    assert info["7_1"]["State"] == info["7_2"]["State"] == "PENDING"
    assert info["8"]["State"] == "RUNNING"
