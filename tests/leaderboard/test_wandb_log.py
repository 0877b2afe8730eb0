"""The board logged to W&B (``--wandb-log``), offline here, read back without a server."""

from __future__ import annotations

import json
import os

import pytest

from hrnet_seg.engine.hooks.wandb_logger import WandbFallbackWarning
from hrnet_seg.leaderboard import leaderboard, log_leaderboard, plot
from hrnet_seg.leaderboard.render import FIELDS, flat_records
from hrnet_seg.records.wandb_reader import find_run_files, read_run
from hrnet_seg.utils import wandb_access
from tests.leaderboard.test_leaderboard import PNG_MAGIC, load_tool, write_run


@pytest.fixture(autouse=True)
def _wandb_dir(monkeypatch, tmp_path):
    for var in ("WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_DATA_DIR", "WANDB_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    wandb_access.teardown()  # wandb's process-wide settings keep the environment they first saw


@pytest.fixture
def board(tmp_path):
    write_run(
        tmp_path / "runs" / "mine", miou=79.5, benchmark={"fps": 7.0, "gflops_official": 90.0}
    )
    return leaderboard([tmp_path / "runs"], dataset="cityscapes")


def read_board(root):
    """The one offline run under ``root``, its table (columns, data) and plot path."""
    (path,) = find_run_files(root, recursive=True)
    run = read_run(path)
    (logged,) = [row for row in run.history if "leaderboard/path" in row]
    files = path.parent / "files"
    table = json.loads((files / logged["leaderboard/path"]).read_text())
    image = logged.get("leaderboard_plot/path")
    return run, table, files / image if image else None


def test_board_is_a_table_and_a_plot_in_a_leaderboard_run(board, tmp_path):
    png = plot(board, tmp_path / "board.png")
    logged = log_leaderboard(board, project="team/boards", plot=png, config={"dataset": "x"})
    assert logged.mode == "offline" and logged.url is None
    assert logged.run_dir.startswith(str(tmp_path / "wb"))
    run, table, image = read_board(tmp_path / "wb")
    assert (run.job_type, run.project, run.run_id) == ("leaderboard", "boards", logged.run_id)
    assert run.config["dataset"] == "x" and run.summary["rows"] == len(board)
    assert run.exit_code == 0
    assert table["columns"] == list(FIELDS)
    assert len(table["data"]) == len(board)
    expected = flat_records(board)  # lists joined, as in the CSV
    for got, want in zip(table["data"], expected):
        assert got == [want[name] for name in FIELDS]
    mine = next(r for r in table["data"] if r[FIELDS.index("model")] == "mine")
    assert mine[FIELDS.index("fps")] == 7.0 and mine[FIELDS.index("gflops")] == 90.0
    assert image.read_bytes().startswith(PNG_MAGIC)
    # Staging dirs were the run's own, and the user's environment is as it was.
    assert (tmp_path / "wb" / "wandb" / "data").is_dir()
    assert "WANDB_DATA_DIR" not in os.environ and "WANDB_CACHE_DIR" not in os.environ


def test_without_credentials_the_board_goes_offline_with_a_warning(board, monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_MODE")
    with pytest.warns(WandbFallbackWarning, match="no W&B API key.*wandb sync"):
        logged = log_leaderboard(board, project="boards")
    assert logged.mode == "offline"
    run, table, image = read_board(tmp_path / "wb")
    assert run.job_type == "leaderboard" and len(table["data"]) == len(board)
    assert image is None  # no plot asked for


def test_disabled_logs_nothing(board, monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert log_leaderboard(board, project="team/boards") is None
    assert not (tmp_path / "wb").exists()


def test_cli_logs_the_board(tmp_path, capsys):
    write_run(tmp_path / "runs" / "mine", miou=79.5)
    args = [str(tmp_path / "runs"), "--dataset", "cityscapes", "--wandb-log", "team/boards"]
    assert load_tool().main(args) == 0
    out = capsys.readouterr().out
    assert "logged the board to an offline W&B run: " + str(tmp_path / "wb") in out
    run, table, image = read_board(tmp_path / "wb")
    assert run.config["dataset"] == "cityscapes" and run.config["references"] is True
    assert any(r[FIELDS.index("model")] == "mine" for r in table["data"])
    assert image.read_bytes().startswith(PNG_MAGIC)  # plotted without --out
