"""One row per checkpoint: a training run and the tools/test.py runs of its checkpoint."""

from __future__ import annotations

import pytest

from hrnet_seg.leaderboard import by_checkpoint, leaderboard, rows_from_work_dirs, to_terminal
from tests.leaderboard.test_leaderboard import write_run

CONFIG = "hrnet_w18s_demo_cityscapes"


def evaluate(tmp_path, name, *, mode, miou, checkpoint, iteration=300, **kw):
    """A tools/test.py work dir of ``checkpoint``."""
    return write_run(
        tmp_path / "tests" / name, miou=miou, mode=mode, checkpoint=checkpoint,
        iteration=iteration, config=CONFIG, data="built-in", image_size=(128, 256),
        device="cpu", world_size=1, **kw,
    )  # fmt: skip


@pytest.fixture
def demo_runs(tmp_path):
    """The demo's training dir (val mIoU at iteration 300) and its checkpoint tested
    whole, slide and tta, each in its own work dir."""
    train = write_run(
        tmp_path / "demo", miou=89.1, iteration=300, config=CONFIG, data="built-in",
        image_size=(128, 256), device="cpu", world_size=1,
    )  # fmt: skip
    checkpoint = train / "iter_300.pth"
    evaluate(tmp_path, "whole", mode="whole", miou=89.1, checkpoint=checkpoint)
    evaluate(tmp_path, "slide", mode="slide", miou=88.7, checkpoint=checkpoint)
    evaluate(tmp_path, "tta", mode="tta", miou=90.2, checkpoint=checkpoint)
    return tmp_path


def test_a_checkpoint_and_its_evaluations_are_one_row(demo_runs):
    assert len(rows_from_work_dirs([demo_runs])) == 4  # four records...
    board = leaderboard([demo_runs], references=False)
    (row,) = board  # ...one model
    assert (row.model, row.link, row.rank) == (CONFIG, str(demo_runs / "demo"), 1)
    assert (row.mIoU, row.mIoU_slide, row.mIoU_ms_flip) == (89.1, 88.7, 90.2)
    assert (row.checkpoint, row.checkpoint_iter) == (str(demo_runs / "demo/iter_300.pth"), 300)
    tests = demo_runs / "tests"
    assert row.evaluations == (
        f"whole: {tests / 'whole'}",
        f"slide: {tests / 'slide'}",
        f"tta: {tests / 'tta'}",
    )
    (line,) = [line for line in to_terminal(board).splitlines() if CONFIG in line]
    assert "| 89.10 | 88.70 |   90.20 |" in line


def test_other_checkpoints_and_other_data_stay_apart(demo_runs):
    train = demo_runs / "demo"
    # An earlier checkpoint of the same run, and the same checkpoint on real data.
    evaluate(
        demo_runs, "mid", mode="whole", miou=80.0, checkpoint=train / "iter_150.pth", iteration=150
    )
    write_run(
        demo_runs / "tests" / "real", miou=20.0, mode="whole", checkpoint=train / "iter_300.pth",
        iteration=300, config=CONFIG, data="real",
    )  # fmt: skip
    board = leaderboard([demo_runs], references=False)
    assert len(board) == 3
    by_iter = {(r.section, r.checkpoint_iter): r for r in board}
    assert by_iter[("cityscapes (built-in)", 300)].mIoU_ms_flip == 90.2
    assert by_iter[("cityscapes (built-in)", 150)].mIoU == 80.0
    assert by_iter[("cityscapes", 300)].mIoU == 20.0


def test_evaluations_without_their_training_run_merge_under_the_checkpoint(tmp_path):
    checkpoint = tmp_path / "elsewhere" / "iter_300.pth"  # a training dir not on the board
    evaluate(tmp_path, "a", mode="whole", miou=70.0, checkpoint=checkpoint)
    evaluate(tmp_path, "b", mode="tta", miou=72.0, checkpoint=checkpoint)
    (row,) = by_checkpoint(rows_from_work_dirs([tmp_path / "tests"]))
    assert (row.mIoU, row.mIoU_slide, row.mIoU_ms_flip) == (70.0, None, 72.0)
    assert (row.link, row.model) == (str(checkpoint), CONFIG)
    assert [e.split(":")[0] for e in row.evaluations] == ["whole", "tta"]


def test_relative_and_absolute_paths_name_the_same_checkpoint(demo_runs, monkeypatch):
    monkeypatch.chdir(demo_runs)
    # The leaderboard given relative paths; records hold absolute ones.
    (row,) = leaderboard(["demo", "tests"], references=False)
    assert row.mIoU_slide == 88.7 and len(row.evaluations) == 3
