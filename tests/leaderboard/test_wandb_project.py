"""A W&B project as a source, through a stand-in for ``wandb.Api`` (no server here)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import pytest
import wandb

from hrnet_seg.errors import run_tool
from hrnet_seg.leaderboard import (
    BadProjectError,
    ProjectQuery,
    RunFilter,
    SkippedRunWarning,
    WandbQueryError,
    leaderboard,
    rows_from_wandb_project,
)
from hrnet_seg.leaderboard.wandb_project import normalise_order
from hrnet_seg.utils import wandb_access
from tests.leaderboard.test_leaderboard import load_tool

FAKE_KEY = "0123456789abcdef0123456789abcdef01234567"  # wandb wants 40+ characters
URL = "https://wandb.example/team/hrnet/runs/"

# The config and summary WandbLoggerHook logs (the keys it writes, trimmed).
CONFIG = {
    "model": {
        "type": "EncoderDecoder",
        "backbone": {"type": "HRNet", "arch": "W48"},
        "decode_head": [{"type": "FCNHead"}, {"type": "OCRHead"}],
        "data_preprocessor": {"type": "SegDataPreProcessor", "size": [512, 1024]},
    },
    "train_dataloader": {"batch_size": 2, "dataset": {"type": "CityscapesDataset"}},
    "train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 80000},
    "env": {"git": {"commit": "abc"}},
}
SUMMARY = {
    "mIoU": 80.9,
    "best_mIoU": 81.2,
    "val/mAcc": 88.1,
    "params": 70_371_446,
    "GFLOPs": 1206.3,
    "fps": 3.1,
    "gpu_type": "NVIDIA A100-SXM4-80GB",
    "gpu_count": 4,
    "gpu_hours": 36.5,
}


@dataclass
class FakeRun:
    """The attributes of ``wandb.apis.public.Run`` that the leaderboard reads."""

    id: str
    name: str
    summary_metrics: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    group: str | None = None
    job_type: str | None = "train"
    tags: list = field(default_factory=list)
    state: str = "finished"

    @property
    def url(self) -> str:
        return URL + self.id


class FakeApi:
    """Records each ``runs()`` call; answers with the given runs, or raises ``error``."""

    def __init__(self, runs=(), error: Exception | None = None):
        self._runs, self.error, self.calls = list(runs), error, []

    def runs(self, path=None, filters=None, order="+created_at", per_page=50, lazy=True):
        self.calls.append({"path": path, "filters": filters, "order": order, "lazy": lazy})
        if self.error:
            raise self.error
        return iter(self._runs)


FULL = FakeRun(
    id="ocr48",
    name="ocrnet_hr48_sweep_lr0.01",
    summary_metrics=SUMMARY,
    config=CONFIG,
    group="sweep1",
    tags=["w48", "ocr"],
)
PARTIAL = FakeRun(id="bare", name="bare_run", summary_metrics={"mIoU": 70.0}, job_type=None)
NO_MIOU = FakeRun(id="crashed", name="crashed_run", summary_metrics={"params": 5}, state="crashed")


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch, tmp_path):
    for var in ("WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))  # wandb-core's logs
    # wandb's process-wide settings keep the key they saw first: start each test afresh.
    wandb_access.teardown()
    yield
    wandb_access.teardown()


def test_filters_and_order_reach_the_api_and_rows_come_from_summary_and_config():
    api = FakeApi([FULL, PARTIAL, NO_MIOU])
    filters = ("dataset=cityscapes", "group=sweep1", "tags=w48,ocr", "state=finished")
    query = ProjectQuery(
        path="team/hrnet", filters=tuple(RunFilter.parse(f) for f in filters), order="mIoU"
    )
    with pytest.warns(SkippedRunWarning, match=f"{URL}crashed.*no mIoU.*'crashed'"):
        rows = leaderboard(project=query, api=api)
    assert api.calls == [
        {
            "path": "team/hrnet",
            "filters": {
                "$and": [
                    {
                        "config.train_dataloader.dataset.type": {
                            "$regex": "[cC][iI][tT][yY][sS][cC][aA][pP][eE][sS]"
                        }
                    },
                    {"group": "sweep1"},
                    {"tags": {"$in": ["w48", "ocr"]}},
                    {"state": "finished"},
                    # Boards logged with --wandb-log are runs too, but not results.
                    {"jobType": {"$ne": "leaderboard"}},
                ]
            },
            "order": "-summary_metrics.mIoU",
            "lazy": False,
        }
    ]
    ours = [r for r in rows if not r.is_reference]
    assert {r.model for r in ours} == {"ocrnet_hr48_sweep_lr0.01", "bare_run"}
    full = next(r for r in ours if r.run_id == "ocr48")
    assert (full.source, full.link, full.status) == ("wandb", URL + "ocr48", "finished")
    assert (full.dataset, full.head, full.backbone) == ("cityscapes", "OCR", "HRNetV2-W48")
    assert (full.crop, full.iterations, full.batch, full.gpus) == ("512x1024", 80000, 8, "4x A100")
    assert (full.mIoU, full.mAcc, full.mIoU_ms_flip) == (80.9, 88.1, None)
    assert (full.params, full.gflops, full.fps, full.gpu_hours) == (70_371_446, 1206.3, 3.1, 36.5)
    assert (full.group, full.job_type, full.tags) == ("sweep1", "train", ("w48", "ocr"))
    assert full.rank is not None  # ranked among the Cityscapes references
    # Missing keys are empty cells, not errors.
    bare = next(r for r in ours if r.run_id == "bare")
    assert bare.mIoU == 70.0
    empty = ("dataset", "head", "backbone", "crop", "iterations", "batch", "gpus", "params")
    assert all(getattr(bare, name) is None for name in empty)
    assert (bare.group, bare.job_type, bare.tags) == (None, None, ())
    assert any(r.is_reference for r in rows)


def test_best_mIoU_stands_in_and_max_runs_keeps_the_first_in_order():
    runs = [
        FakeRun(id=f"r{i}", name=f"r{i}", summary_metrics={"best_mIoU": 60.0 + i}) for i in range(3)
    ]
    api = FakeApi(runs)
    rows = rows_from_wandb_project(ProjectQuery(path="team/hrnet", max_runs=2), api=api)
    assert [(r.model, r.mIoU) for r in rows] == [("r0", 60.0), ("r1", 61.0)]
    assert api.calls[0]["filters"] == {"jobType": {"$ne": "leaderboard"}}


def test_a_job_type_filter_replaces_the_default_one():
    api = FakeApi([])
    query = ProjectQuery(path="team/hrnet", filters=(RunFilter.parse("job_type=leaderboard"),))
    rows_from_wandb_project(query, api=api)
    assert api.calls[0]["filters"] == {"jobType": "leaderboard"}


@pytest.mark.parametrize(
    "given, order",
    [
        ("mIoU", "-summary_metrics.mIoU"),
        ("+fps", "+summary_metrics.fps"),
        ("-summary_metrics.GFLOPs", "-summary_metrics.GFLOPs"),
        ("config.train_cfg.max_iters", "-config.train_cfg.max_iters"),
        ("+created_at", "+created_at"),
    ],
)
def test_order_reads_like_wandb(given, order):
    assert normalise_order(given) == order


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"path": "hrnet"}, "not ENTITY/PROJECT"),
        ({"path": "team/hrnet/extra"}, "not ENTITY/PROJECT"),
        ({"path": "team/hrnet", "order": "- mIoU"}, "not a W&B sort key"),
        ({"path": "team/hrnet", "timeout": 0}, "timeout must be > 0"),
        ({"path": "team/hrnet", "max_runs": 0}, "--max-runs must be >= 1"),
    ],
)
def test_query_validates(kwargs, message):
    with pytest.raises(BadProjectError, match=message):
        ProjectQuery(**kwargs)


def test_query_is_keyword_only_and_typed():
    with pytest.raises(TypeError):
        ProjectQuery("team/hrnet")
    with pytest.raises(TypeError, match="RunFilter"):
        ProjectQuery(path="team/hrnet", filters=("group=x",))


def test_a_failed_query_is_a_user_error():
    api = FakeApi(error=wandb.errors.CommError("Could not find project hrnet"))
    with pytest.raises(WandbQueryError, match="team/hrnet.*Could not find project"):
        rows_from_wandb_project(ProjectQuery(path="team/hrnet"), api=api)


# --- CLI -----------------------------------------------------------------------------


def test_cli_reads_a_project(monkeypatch, tmp_path, capsys):
    made = []

    def fake_api(**kwargs):
        made.append(kwargs)
        return FakeApi([FULL])

    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setattr(wandb, "Api", fake_api)
    args = ["--wandb", "team/hrnet", "--filter", "group=sweep1", "--dataset", "cityscapes"]
    args += ["--wandb-timeout", "7", "--out", str(tmp_path / "board")]
    assert load_tool().main(args) == 0
    assert made == [{"timeout": 7}]
    out = capsys.readouterr().out
    assert "ocrnet_hr48_sweep_lr0.01" in out and "fcn_hr48 (ref)" in out
    records = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    mine = next(r for r in records if r["source"] == "wandb")
    assert (mine["link"], mine["group"], mine["tags"], mine["run_id"]) == (
        URL + "ocr48",
        "sweep1",
        ["w48", "ocr"],
        "ocr48",
    )
    assert (mine["gflops"], mine["fps"]) == (1206.3, 3.1)
    md = (tmp_path / "board" / "leaderboard.md").read_text()
    assert f"[wandb]({URL}ocr48)" in md


def test_cli_without_a_key_fails_fast_without_a_network_call(monkeypatch, capsys):
    def no_api(**kwargs):
        raise AssertionError("wandb.Api() was called without credentials")

    monkeypatch.setattr(wandb, "Api", no_api)
    tool = load_tool()
    start = time.perf_counter()
    assert run_tool(lambda: tool.main(["--wandb", "team/hrnet"])) == 2
    assert time.perf_counter() - start < 5
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "WANDB_API_KEY" in err and "`wandb login`" in err and "needs a W&B API key" in err


def test_cli_with_an_unreachable_server_fails_within_its_timeout(monkeypatch, capsys):
    # The real wandb.Api: it signs in over the network, and nothing listens on port 9.
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    tool = load_tool()
    start = time.perf_counter()
    code = run_tool(lambda: tool.main(["--wandb", "team/hrnet", "--wandb-timeout", "2"]))
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2, err
    assert "could not sign in to W&B at http://127.0.0.1:9 within 2 s" in err
    # 2 s asked for; the bound leaves room for a loaded machine (a hang guard, generous).
    assert elapsed < 60, elapsed


@pytest.mark.parametrize(
    "args, message",
    [
        (["--wandb", "hrnet"], "not ENTITY/PROJECT"),
        (["--filter", "group"], "is not KEY=VALUE"),
        (["--filter", "colour=red"], "unknown filter key 'colour'"),
        (["--wandb", "team/hrnet", "--max-runs", "0"], "--max-runs must be >= 1"),
        (["--wandb", "team/hrnet", "--dataset", "coco"], "unknown dataset 'coco'"),
    ],
)
def test_cli_bad_wandb_arguments_exit_2(args, message, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setattr(wandb, "Api", lambda **kw: FakeApi([FULL]))
    tool = load_tool()
    assert run_tool(lambda: tool.main(args)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
