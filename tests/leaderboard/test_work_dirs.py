"""Work dirs as a source: results.json and offline W&B run files, one row per run."""

from __future__ import annotations

import json
import shutil

import pytest

from hrnet_seg.leaderboard import (
    NoResultsError,
    RunFilter,
    SkippedRunWarning,
    WandbOnlyFilterError,
    leaderboard,
    rows_from_work_dirs,
)
from hrnet_seg.records.wandb_reader import find_run_files, read_run
from tests.leaderboard.conftest import SWEEP
from tests.leaderboard.test_leaderboard import write_run


def run_file(work_dir):
    (path,) = find_run_files(work_dir)
    return path


def copy_run_dir(work_dir, dest):
    """The offline-run-* dir alone, as copied off a cluster (no results.json with it)."""
    run_dir = run_file(work_dir).parent
    return shutil.copytree(run_dir, dest / run_dir.name)


@pytest.mark.slow  # the shared real run: ~4 s once
def test_results_json_and_offline_run_are_one_row(wandb_work_dir):
    run_id = (wandb_work_dir / "wandb_run_id.txt").read_text().strip()
    results = json.loads((wandb_work_dir / "results.json").read_text())
    (row,) = rows_from_work_dirs([wandb_work_dir])
    # results.json wins; the W&B run adds who it is.
    assert (row.source, row.link, row.model) == (
        "local",
        str(wandb_work_dir),
        "hrnet_w18s_demo_cityscapes",
    )
    assert row.mIoU == results["mIoU"] and row.gpus == "1x cpu"
    assert row.run_id == run_id
    assert (row.group, row.job_type, row.tags) == (
        SWEEP["group"],
        SWEEP["job_type"],
        tuple(SWEEP["tags"]),
    )
    assert (row.gflops, row.fps) == (3.2, 8.0)


@pytest.mark.slow  # the shared real run: ~4 s once
def test_overlapping_arguments_and_copies_count_a_run_once(wandb_work_dir, tmp_path):
    copy_run_dir(wandb_work_dir, tmp_path / "copy")  # the same W&B run id elsewhere
    given = [wandb_work_dir.parent, wandb_work_dir, run_file(wandb_work_dir), tmp_path / "copy"]
    rows = rows_from_work_dirs(given)
    assert len(rows) == 1 and rows[0].source == "local"
    (offline,) = rows_from_work_dirs([tmp_path / "copy", tmp_path / "copy"])
    assert offline.source == "wandb-offline"


@pytest.mark.slow  # the shared real run: ~4 s once
def test_hook_summary_feeds_an_offline_row(wandb_work_dir, tmp_path):
    """A copied wandb run dir, no results.json and no benchmark.json: every column from
    the run's config and summary, GFLOPs and fps included."""
    results = json.loads((wandb_work_dir / "results.json").read_text())
    summary = read_run(run_file(wandb_work_dir)).summary
    assert (summary["GFLOPs"], summary["fps"]) == (3.2, 8.0)  # the hook read benchmark.json
    assert summary["data"] == "built-in"  # the demo data's marker, as results.json says
    run_dir = copy_run_dir(wandb_work_dir, tmp_path / "from_cluster")
    (row,) = rows_from_work_dirs([tmp_path / "from_cluster"])
    assert (row.source, row.model, row.link, row.status) == (
        "wandb-offline",
        "w18s_sweep",  # the W&B run's name: the work dir's
        str(run_dir),
        "finished",
    )
    assert (row.dataset, row.head, row.backbone) == ("cityscapes", "FCN", "HRNetV2-W18-Small-v1")
    assert (row.crop, row.iterations, row.batch, row.gpus) == ("128x256", 2, 2, "cpu")
    assert row.mIoU == pytest.approx(results["mIoU"])
    assert row.mAcc == pytest.approx(results["mAcc"])
    assert (row.params, row.gflops, row.fps, row.gpu_hours) == (summary["params"], 3.2, 8.0, None)
    assert (row.group, row.tags) == ("sweep1", ("w18s", "demo"))
    assert (row.data, row.section) == ("built-in", "cityscapes (built-in)")
    assert row.run_id == read_run(run_file(wandb_work_dir)).run_id
    # The .wandb file itself is an argument too.
    (same,) = rows_from_work_dirs([next(run_dir.glob("run-*.wandb"))])
    assert same == row


@pytest.mark.slow  # the shared real run: ~4 s once
def test_killed_run_is_a_running_row(wandb_work_dir, tmp_path):
    """A run killed after its validation: no exit record, still a row."""
    killed = tmp_path / "killed"
    run_dir = shutil.copytree(run_file(wandb_work_dir).parent, killed / "wandb" / "offline-run-x")
    path = next(run_dir.glob("run-*.wandb"))
    path.write_bytes(path.read_bytes()[:-1])  # the exit record is the last one
    assert read_run(path).exit_code is None
    (row,) = rows_from_work_dirs([killed])
    assert (row.source, row.status, row.link) == ("wandb-offline", "running", str(killed))
    assert row.mIoU is not None


@pytest.mark.slow  # the shared real run: ~4 s once
def test_resumed_segments_are_one_run(wandb_work_dir, tmp_path):
    # A resumed training writes a second offline-run dir with the same run id.
    run_dir = run_file(wandb_work_dir).parent
    for name in (run_dir.name, run_dir.name.replace("offline-run-", "offline-run-9")):
        shutil.copytree(run_dir, tmp_path / "resumed" / "wandb" / name)
    assert len(rows_from_work_dirs([tmp_path / "resumed"])) == 1


def test_bad_and_empty_run_files_are_skipped_with_a_warning(tmp_path):
    bad = tmp_path / "bad" / "wandb" / "offline-run-1-abc" / "run-abc.wandb"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a wandb file")
    with pytest.warns(SkippedRunWarning, match="unreadable W&B run file") as caught:
        assert rows_from_work_dirs([tmp_path / "bad"]) == []
    assert str(bad) in str(caught[0].message)
    (tmp_path / "empty").mkdir()
    with pytest.warns(SkippedRunWarning, match="no results.json or W&B run file"):
        rows_from_work_dirs([tmp_path / "empty"])


@pytest.mark.slow  # the shared real run: ~4 s once
def test_filters_select_local_rows(wandb_work_dir, tmp_path):
    write_run(tmp_path / "other", miou=50.0)  # a results.json run, not in any sweep
    dirs = [wandb_work_dir, tmp_path / "other"]

    def models(*filters):
        rows = leaderboard(dirs, filters=[RunFilter.parse(f) for f in filters], references=False)
        return sorted(r.model for r in rows)

    assert models() == ["hrnet_w18s_demo_cityscapes", "other"]
    for selecting in ("group=sweep1", "tags=nope,demo", "job_type=train"):
        assert models(selecting) == ["hrnet_w18s_demo_cityscapes"], selecting
    assert models("state=finished", "dataset=Cityscapes") == ["hrnet_w18s_demo_cityscapes", "other"]
    with pytest.raises(NoResultsError, match="passes the filters"):
        models("group=sweep2")
    with pytest.raises(WandbOnlyFilterError, match="--wandb runs only"):
        models("config.train_cfg.max_iters=2")


def test_dataset_filter_narrows_references_too():
    rows = leaderboard(filters=[RunFilter.parse("dataset=ade20k")])
    assert rows and {r.dataset for r in rows} == {"ade20k"}
