"""Issue 18's acceptance, end to end and small: a demo run on built-in data, its
checkpoint evaluated by tools/test.py whole, slide and tta (default work dirs), then
tools/leaderboard.py over the work dirs. The demo is one row, marked as built-in data
and outside the published ranking, and the plot places every run without a label
colliding."""

from __future__ import annotations

import shutil

import pytest

from hrnet_seg.leaderboard import figure, leaderboard
from tests.conftest import REPO, run_python
from tests.integration.conftest import DEMO, read_json
from tests.leaderboard.test_speed_plot import assert_no_collisions

pytestmark = pytest.mark.slow

CONFIG = "hrnet_w18s_demo_cityscapes"


def test_demo_and_its_evaluations_join_the_board_once_as_built_in_data(
    trained, demo_root, tmp_path
):
    work_dirs = tmp_path / "work_dirs"
    shutil.copytree(trained, work_dirs / "demo")  # as `make demo` leaves it
    checkpoint = work_dirs / "demo" / "iter_12.pth"
    for flags in (["--mode", "whole"], ["--mode", "slide"], ["--tta"]):
        result = run_python(
            str(REPO / "tools/test.py"), str(REPO / DEMO), str(checkpoint),
            "--data-root", str(demo_root), *flags, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        # No stack warning between the progress lines (--tta printed one), and the
        # last lines say where the record went.
        assert "warning:" not in result.stderr + result.stdout, flags
        mode = flags[-1] if flags[0] == "--mode" else "tta"
        record = work_dirs / CONFIG / "test" / f"iter_12-{mode}" / "results.json"
        assert f"  results:    {record}" in result.stdout.splitlines()[-4:], result.stdout[-500:]
    # Each evaluation keeps its own record (default work dir per checkpoint and mode),
    # naming the checkpoint, its iteration (not the test runner's 0), mode and data.
    for mode in ("whole", "slide", "tta"):
        record = read_json(work_dirs / CONFIG / "test" / f"iter_12-{mode}" / "results.json")
        assert record["checkpoint"] == {"path": str(checkpoint), "iter": 12}
        assert record["iter"] == record["iterations"] == 12 and record["mode"] == mode
        assert record["eval_data"]["kind"] == "built-in"
        assert record["eval_data"]["image_size"] == [64, 128]

    board_dir = tmp_path / "board"
    cli = run_python(
        str(REPO / "tools/leaderboard.py"), "work_dirs", "--out", str(board_dir),
        cwd=tmp_path,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    sections = cli.stdout.split("\n\n")
    ours = [line for line in cli.stdout.splitlines() if f"| {CONFIG} " in line]
    assert len(ours) == 1  # four records, one row
    # Outside the published ranking: the published sections hold references only.
    published = [s for s in sections if s.startswith(("cityscapes:", "ade20k:"))]
    assert len(published) == 2 and all(CONFIG not in s for s in published)
    (built_in,) = [s for s in sections if s.startswith("cityscapes (built-in):")]
    assert "built-in data (tools/make_demo_data.py, synthetic images at 64x128)" in built_in
    assert ours[0] in built_in
    cells = [c.strip() for c in ours[0].split("|")]
    whole, slide, tta = (float(cells[i]) for i in (10, 11, 12))  # mIoU, slide, ms+flip
    scores = {
        mode: read_json(work_dirs / CONFIG / "test" / f"iter_12-{mode}" / "results.json")["mIoU"]
        for mode in ("whole", "slide", "tta")
    }
    assert (whole, slide, tta) == tuple(round(scores[m], 2) for m in ("whole", "slide", "tta"))
    assert cells[1] == "1"  # ranked among built-in runs only
    for name in ("md", "csv", "json", "png"):
        assert (board_dir / f"leaderboard.{name}").is_file()
    (record,) = [r for r in read_json(board_dir / "leaderboard.json") if r["model"] == CONFIG]
    assert (record["section"], record["data"]) == ("cityscapes (built-in)", "built-in")
    assert len(record["evaluations"]) == 3

    # The plot the CLI wrote, drawn again from the same rows: every run placed, no label
    # colliding with another or leaving the figure.
    rows = leaderboard([work_dirs])
    labels, _ = assert_no_collisions(figure(rows))
    assert len(labels) == len(rows)
    assert sum(t.get_text().startswith(f"{CONFIG} ") for t in labels) == 1
