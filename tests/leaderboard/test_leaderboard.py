"""Leaderboard: rows from work dirs and the shipped references, ranking, renderers, CLI."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hrnet_seg.errors import run_tool
from hrnet_seg.leaderboard import (
    NoResultsError,
    Row,
    SkippedRunWarning,
    UnknownDatasetError,
    UnknownMetricError,
    WorkDirNotFoundError,
    leaderboard,
    normalise_dataset,
    rank,
    reference_rows,
    rows_from_work_dirs,
    to_csv,
    to_json,
    to_markdown,
    to_records,
    to_terminal,
)
from hrnet_seg.leaderboard.rows import backbone_name, gpu_type, head_name
from tests.conftest import HANG_GUARD_S

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_run(
    work_dir: Path,
    *,
    miou: float | None = 70.0,
    dataset: str = "CheckedCityscapesDataset",
    heads=("HRNetV2FCNHead",),
    arch: str = "W48",
    device: str = "cuda",
    world_size: int = 4,
    wall_time_s: float = 7200.0,
    status: str = "finished",
    gpu_name: str | None = "Tesla V100-SXM2-32GB",
    benchmark: dict | None = None,
    data: str | None = "real",
    image_size=(1024, 2048),
    mode: str | None = "whole",
    checkpoint: str | None = None,
    iteration: int = 80000,
    config: str | None = None,
) -> Path:
    """A work dir as RunRecordHook leaves it (the keys of hooks/run_record.py); with
    ``checkpoint``, as tools/test.py leaves it. ``data=None`` and ``mode=None`` leave
    out those keys, as records written before they existed."""
    work_dir.mkdir(parents=True, exist_ok=True)
    results = {
        "iter": iteration,
        "aAcc": 95.0,
        "mAcc": 80.5,
        "best": {"mIoU": miou, "iter": 80000},
        "per_class": None,
        "config": config or work_dir.name,
        "model": {
            "segmentor": "EncoderDecoder",
            "backbone": "HighResolutionNet",
            "arch": arch,
            "heads": list(heads),
            "pretrained": None,
        },
        "dataset": dataset,
        "crop": [512, 1024],
        "iterations": iteration,
        "batch_per_gpu": 2,
        "batch_total": 2 * world_size,
        "world_size": world_size,
        "device_type": device,
        "amp": False,
        "status": status,
        "final_iter": 80000,
        "wall_time_s": wall_time_s,
        "work_dir": str(work_dir),
    }
    if data is not None:
        results["eval_data"] = {
            "kind": data,
            "root": "/data/cityscapes",
            "split": "leftImg8bit/val",
            "image_size": list(image_size),
            "image_sizes": 1,
        }
    if mode is not None:
        results["mode"] = mode
        results["tta"] = mode == "tta"
    if checkpoint is not None:
        results["checkpoint"] = {"path": str(checkpoint), "iter": iteration}
    if miou is not None:
        results["mIoU"] = miou
    (work_dir / "results.json").write_text(json.dumps(results))
    env = {"device": gpu_name if device == "cuda" else "x86_64"}
    (work_dir / "env.json").write_text(json.dumps(env))
    if benchmark is not None:
        (work_dir / "benchmark.json").write_text(json.dumps(benchmark))
    return work_dir


def ours(rows: list[Row]) -> list[Row]:
    return [r for r in rows if not r.is_reference]


# --- names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("CheckedCityscapesDataset", "cityscapes"),
        ("CityscapesDataset", "cityscapes"),
        ("cityscapes", "cityscapes"),
        ("ADE20KDataset", "ade20k"),
        ("CheckedADE20KDataset", "ade20k"),
        ("ade20k", "ade20k"),
        ("PascalVOCDataset", "pascalvoc"),
        ("CityscapesFoggyDataset", "cityscapesfoggy"),  # unregistered: not ranked as Cityscapes
        (None, None),
    ],
)
def test_normalise_dataset(name, expected):
    assert normalise_dataset(name) == expected


def test_head_backbone_and_gpu_names():
    assert head_name(["HRNetV2FCNHead"]) == "FCN"
    assert head_name(["FCNHead"]) == "FCN"
    assert head_name(["FCNHead", "OCRHead"]) == "OCR"  # the cascade's last head names it
    assert head_name([]) is None
    assert backbone_name("W48") == "HRNetV2-W48"
    assert backbone_name("W18-Small-v2") == "HRNetV2-W18-Small-v2"
    assert gpu_type("Tesla V100-SXM2-32GB") == "V100"
    assert gpu_type("NVIDIA A100-SXM4-80GB") == "A100"
    assert gpu_type("NVIDIA H100 80GB HBM3") == "H100"
    assert gpu_type("NVIDIA GeForce RTX 4090") == "RTX 4090"


# --- rows from work dirs -------------------------------------------------------------


def test_row_from_work_dir_reads_every_column(tmp_path):
    bench = {"params": 65_860_000, "gflops_official": 696.2, "options": {"batch": 2}}
    bench["infer_whole_ours_s"] = 0.5
    write_run(tmp_path / "w48", miou=80.1, heads=["FCNHead", "OCRHead"], benchmark=bench)
    (row,) = rows_from_work_dirs([tmp_path / "w48"])
    assert row.model == "w48"
    assert (row.head, row.backbone, row.dataset) == ("OCR", "HRNetV2-W48", "cityscapes")
    assert (row.crop, row.iterations, row.batch, row.gpus) == ("512x1024", 80000, 8, "4x V100")
    assert (row.mIoU, row.mAcc, row.mIoU_ms_flip) == (80.1, 80.5, None)
    assert row.gpu_hours == pytest.approx(8.0)  # 2 h wall x 4 GPUs
    assert (row.params, row.gflops, row.fps) == (65_860_000, 696.2, 4.0)  # 2 images / 0.5 s
    assert row.link == str(tmp_path / "w48")
    assert (row.source, row.is_reference, row.status) == ("local", False, "finished")


def test_cpu_runs_have_no_gpu_hours(tmp_path):
    write_run(tmp_path / "cpu", device="cpu", world_size=1)
    (row,) = rows_from_work_dirs([tmp_path])
    assert row.gpus == "1x cpu"
    assert row.gpu_hours is None


def test_folders_are_searched_recursively_and_unfinished_runs_kept(tmp_path):
    write_run(tmp_path / "a" / "run1", miou=60.0)
    write_run(tmp_path / "b" / "deep" / "run2", miou=65.0, status="running")
    rows = rows_from_work_dirs([tmp_path])
    assert {r.model: r.status for r in rows} == {"run1": "finished", "run2": "running"}


def test_bad_records_are_skipped_with_a_warning_naming_the_file(tmp_path):
    write_run(tmp_path / "good")
    write_run(tmp_path / "no_miou", miou=None, status="running")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text("{not json")
    with pytest.warns(SkippedRunWarning) as caught:
        rows = rows_from_work_dirs([tmp_path])
    assert [r.model for r in rows] == ["good"]
    messages = " ".join(str(w.message) for w in caught)
    assert str(tmp_path / "broken" / "results.json") in messages
    assert str(tmp_path / "no_miou" / "results.json") in messages


def test_missing_work_dir_is_an_error(tmp_path):
    with pytest.raises(WorkDirNotFoundError, match="nope"):
        rows_from_work_dirs([tmp_path / "nope"])


def test_tta_results_count_as_multi_scale_flip(tmp_path):
    write_run(tmp_path / "tta", miou=81.0, mode=None)  # an older record: no "mode"
    path = tmp_path / "tta" / "results.json"
    results = json.loads(path.read_text())
    results["model"] = {
        "segmentor": "SegTTAModel",
        "backbone": None,
        "arch": "custom",
        "heads": [],
        "pretrained": None,
    }
    path.write_text(json.dumps(results))
    (row,) = rows_from_work_dirs([tmp_path])
    assert (row.mIoU, row.mIoU_ms_flip) == (None, 81.0)


# --- references ----------------------------------------------------------------------


def test_reference_rows_match_the_shipped_csv():
    rows = reference_rows()
    shipped = REPO / "hrnet_seg" / "leaderboard" / "published_results.csv"
    with shipped.open() as f:
        records = list(csv.DictReader(f))
    # 30 HRNet rows, 2 HRFormer rows (issue 16), 10 of HRNet's peers (issue 14)
    assert len(rows) == len(records) == 42
    assert all(r.is_reference and r.link.startswith("https://") for r in rows)
    for row, rec in zip(rows, records):
        assert (row.model, row.source, row.link) == (rec["model"], rec["source"], rec["url"])
        assert row.mIoU == float(rec["mIoU"])
    by_key = {(r.source, r.model, r.dataset, r.iterations): r for r in rows}
    fcn48 = by_key[("mmsegmentation-1.2.2", "fcn_hr48", "cityscapes", 80000)]
    assert (fcn48.mIoU, fcn48.mIoU_ms_flip, fcn48.fps) == (79.93, 80.72, 6.42)
    assert (fcn48.head, fcn48.backbone, fcn48.gpus, fcn48.batch) == (
        "FCN",
        "HRNetV2-W48",
        "4x V100",
        8,
    )
    ocr48_ade = by_key[("mmsegmentation-1.2.2", "ocrnet_hr48", "ade20k", 160000)]
    assert ocr48_ade.mIoU == 43.25
    hrt_b = by_key[("hrformer-official", "hrt_base_ocr_v2", "cityscapes", 80000)]
    assert (hrt_b.mIoU, hrt_b.mIoU_ms_flip, hrt_b.head, hrt_b.backbone) == (
        81.4,
        82.0,
        "OCR",
        "HRFormer-B",
    )
    # A peer's row: figures of mmseg's metafile.yaml (.mim/configs/pidnet).
    pidnet_s = by_key[("mmsegmentation-1.2.2", "pidnet-s", "cityscapes", 120000)]
    assert (pidnet_s.mIoU, pidnet_s.mIoU_ms_flip, pidnet_s.crop) == (78.74, 80.87, "1024x1024")
    assert (pidnet_s.head, pidnet_s.backbone, pidnet_s.gpus) == ("PIDNet", "PIDNet-S", "2x A100")


# --- ranking -------------------------------------------------------------------------


def test_rank_groups_by_dataset_and_orders_by_metric(tmp_path):
    write_run(tmp_path / "city_low", miou=60.0)
    write_run(tmp_path / "city_high", miou=75.0)
    write_run(tmp_path / "city_tie", miou=60.0)
    write_run(tmp_path / "ade", miou=30.0, dataset="ADE20KDataset")
    ranked = rank(rows_from_work_dirs([tmp_path]))
    assert [(r.dataset, r.model, r.rank) for r in ranked] == [
        ("cityscapes", "city_high", 1),
        ("cityscapes", "city_low", 2),
        ("cityscapes", "city_tie", 2),
        ("ade20k", "ade", 1),
    ]
    assert [r.model for r in rank(ranked, dataset="ADE20K")] == ["ade"]
    assert all(r.rank is None for r in rows_from_work_dirs([tmp_path]))  # rank copies


def test_rank_against_references(tmp_path):
    write_run(tmp_path / "mine", miou=80.0)
    ranked = rank(rows_from_work_dirs([tmp_path]) + reference_rows(), dataset="cityscapes")
    assert {r.dataset for r in ranked} == {"cityscapes"}
    mine = next(r for r in ranked if not r.is_reference)
    # Above fcn_hr48 80k (79.93), tied with HRFormer-S + OCR (80.0), below fcn_hr48 160k
    # (80.65), ten other HRNet / HRFormer rows and five peers: SegFormer-B5, PIDNet-L,
    # Mask2Former-R50, PIDNet-M, DeepLabV3+-R50.
    assert mine.rank == 17
    assert next(r for r in ranked if r.model == "hrt_small_ocr_v2").rank == 17
    values = [r.mIoU for r in ranked]
    assert values == sorted(values, reverse=True)


def test_built_in_data_runs_never_rank_among_the_references(tmp_path):
    # The demo's case (issue 18): 89 mIoU on synthetic 128x256 scenes, CPU fps.
    cpu = {"fps": 30.0, "device": "cpu", "threads": 2}
    cpu["options"] = {"infer_size": [128, 256], "flops_size": [1024, 2048], "bf16": False}
    write_run(
        tmp_path / "demo", miou=89.1, data="built-in", image_size=(128, 256), device="cpu",
        world_size=1, benchmark=cpu,
    )  # fmt: skip
    write_run(tmp_path / "real", miou=75.0)
    board = leaderboard([tmp_path], dataset="cityscapes")
    demo = next(r for r in board if r.model == "demo")
    real = next(r for r in board if r.model == "real")
    assert (demo.data, demo.section, demo.eval_size) == (
        "built-in",
        "cityscapes (built-in)",
        "128x256",
    )
    assert demo.fps_at == "cpu 2 threads, 128x256"
    assert (real.data, real.section) == ("real", "cityscapes")
    published = [r for r in board if r.section == "cityscapes"]
    assert [r.rank for r in published] == sorted(r.rank for r in published)
    assert published[0].is_reference and published[0].rank == 1  # not the demo
    assert demo.rank == 1 and board[-1] is demo  # alone in its own section, last
    assert all(r.is_reference or r is real for r in published)
    # Every output says so: terminal and Markdown sections, CSV / JSON columns.
    text = to_terminal(board)
    assert sum("| demo " in line for line in text.splitlines()) == 1
    note = text.split("\n\n")[-1].splitlines()[0]
    assert note == (
        "cityscapes (built-in): built-in data (tools/make_demo_data.py, synthetic images at "
        "128x256); ranked among these runs only, not comparable with published figures"
    )
    assert "### cityscapes (built-in)" in to_markdown(board)
    (record,) = [r for r in to_records(board) if r["model"] == "demo"]
    assert (record["section"], record["data"], record["rank"]) == (
        "cityscapes (built-in)",
        "built-in",
        1,
    )
    assert (record["dataset"], record["fps_at"]) == ("cityscapes", "cpu 2 threads, 128x256")


def test_records_without_a_data_kind_read_as_before(tmp_path):
    write_run(tmp_path / "old", miou=70.0, data=None)
    (row,) = rows_from_work_dirs([tmp_path])
    assert (row.data, row.section, row.eval_size) == (None, "cityscapes", None)


def test_speed_figures_say_where_they_were_taken(tmp_path):
    bench = {
        "params": 1,
        "gflops_official": 3.2,
        "infer_whole_ours_s": 0.5,
        "device": "NVIDIA H100 80GB HBM3",
    }
    bench["options"] = {
        "batch": 2,
        "infer_size": [512, 1024],
        "flops_size": [1024, 2048],
        "bf16": True,
    }
    write_run(tmp_path / "h100", benchmark=bench)
    write_run(tmp_path / "old_bench", benchmark={"fps": 3.0})  # no conditions recorded
    rows = {r.model: r for r in rows_from_work_dirs([tmp_path])}
    assert (rows["h100"].fps, rows["h100"].fps_at) == (4.0, "H100, 512x1024, bf16")
    assert rows["h100"].gflops_at == "1024x2048"
    assert (rows["old_bench"].fps, rows["old_bench"].fps_at) == (3.0, None)
    refs = {(r.source, r.model, r.dataset, r.iterations): r for r in reference_rows()}
    fcn48 = refs[("mmsegmentation-1.2.2", "fcn_hr48", "cityscapes", 80000)]
    assert (fcn48.fps_at, fcn48.eval_size, fcn48.data) == ("V100, 1024x2048", "1024x2048", "real")
    ade = refs[("mmsegmentation-1.2.2", "fcn_hr48", "ade20k", 80000)]
    assert ade.fps_at == "V100, short side 512"
    official = refs[("hrnet-official", "seg_hrnet_w48", "cityscapes", 119548)]
    assert (official.fps, official.fps_at) == (None, None)


def test_rows_without_the_metric_go_last_unranked():
    rows = [
        Row(model="a", dataset="ade20k", source="x", link="", mIoU=40.0),
        Row(model="b", dataset="ade20k", source="x", link="", mIoU=41.0, mIoU_ms_flip=42.0),
    ]
    ranked = rank(rows, metric="mIoU_ms_flip")
    assert [(r.model, r.rank) for r in ranked] == [("b", 1), ("a", None)]


def test_rank_rejects_unknown_dataset_and_metric():
    with pytest.raises(UnknownDatasetError, match="cityscapes, ade20k"):
        rank([], dataset="coco")
    with pytest.raises(UnknownMetricError, match="mIoU"):
        rank([], metric="loss")


def test_leaderboard_errors_when_nothing_is_left(tmp_path):
    with pytest.raises(NoResultsError, match="references"):
        leaderboard([], references=False)
    write_run(tmp_path / "city")
    with pytest.raises(NoResultsError, match="ade20k"):
        leaderboard([tmp_path], references=False, dataset="ade20k")


# --- renderers -----------------------------------------------------------------------


@pytest.fixture
def board(tmp_path):
    bench = {"params": 9_640_000, "gflops_official": 137.3, "fps": 20.0}
    # Where tools/benchmark.py --json says it measured (hrnet_seg/benchmark/run.py).
    bench |= {"device": "Tesla V100-SXM2-32GB", "threads": 8}
    bench["options"] = {"infer_size": [1024, 2048], "flops_size": [1024, 2048], "bf16": False}
    write_run(tmp_path / "runs" / "w18_run", miou=79.0, arch="W18", benchmark=bench)
    write_run(tmp_path / "runs" / "slow_run", miou=70.0, status="running")
    return leaderboard([tmp_path / "runs"], dataset="cityscapes")


def _tables(text: str) -> list[list[str]]:
    """The prettytable blocks of a terminal board: (note line, table lines)."""
    return [block.splitlines() for block in text.split("\n\n")]


def test_terminal_tables_are_aligned(board):
    (block,) = _tables(to_terminal(board))  # one section: cityscapes
    note, table = block[0], block[1:]
    assert note == "cityscapes: ranked with the published references (ref)"
    rule = table[0]
    assert set(rule) == {"+", "-"}
    header = table[1].split("|")
    assert [h.strip() for h in header[1:5]] == ["#", "model", "head", "backbone"]
    assert len(table) == len(board) + 4  # rule, header, rule, rows, rule
    # Every line is as long as the rule and has its column borders where the rule has them.
    borders = [i for i, c in enumerate(rule) if c == "+"]
    for line in table:
        assert len(line) == len(rule), line
        assert all(line[i] in "|+" for i in borders), line
    mine = next(line for line in table if "w18_run" in line)
    assert "9.64 M" in mine and "137.3" in mine and "4x V100" in mine
    assert "20.00 (V100, 1024x2048)" in mine  # fps with where it was taken
    assert "(ref)" in next(line for line in table if "fcn_hr48" in line)
    assert "running" in next(line for line in table if "slow_run" in line)


def test_markdown_has_a_table_per_section(board):
    md = to_markdown(board)
    lines = md.strip().splitlines()
    assert lines[0] == "### cityscapes"
    assert lines[2] == "cityscapes: ranked with the published references (ref)"
    table = lines[4:]
    assert table[0].startswith("|  # | model ")
    # GitHub's alignment row: dashes, a colon on the aligned side.
    cells = [c.strip() for c in table[1].strip("|").split("|")]
    assert all(re.fullmatch(r":?-+:?", c) for c in cells), table[1]
    assert cells[0].endswith(":") and cells[1].startswith(":")  # "#" right, model left
    fcn48 = next(line for line in table if "fcn_hr48" in line and "|    80k |" in line)
    assert "*fcn_hr48* (ref)" in fcn48 and "79.93" in fcn48
    assert "[mmsegmentation-1.2.2](https://github.com/open-mmlab/" in fcn48
    mine = next(line for line in table if "w18_run" in line)
    assert "(ref)" not in mine and "`" in mine
    assert all(line.count("|") == table[0].count("|") for line in table)


def test_markdown_escapes_pipes():
    row = Row(model="a|b", dataset="cityscapes", source="local", link="/runs/x|y", mIoU=1.0)
    md = to_markdown(rank([row]))
    assert "a\\|b" in md and "`/runs/x\\|y`" in md


def test_csv_and_json_hold_raw_values(board, tmp_path):
    to_csv(board, tmp_path / "out" / "lb.csv")
    to_json(board, tmp_path / "out" / "lb.json")
    with (tmp_path / "out" / "lb.csv").open() as f:
        records = list(csv.DictReader(f))
    data = json.loads((tmp_path / "out" / "lb.json").read_text())
    assert len(records) == len(data) == len(board)
    mine_csv = next(r for r in records if r["model"] == "w18_run")
    mine_json = next(r for r in data if r["model"] == "w18_run")
    assert mine_csv["params"] == "9640000" and mine_csv["is_reference"] == "False"
    assert mine_json["params"] == 9_640_000 and mine_json["mIoU"] == 79.0
    assert mine_json["backbone"] == "HRNetV2-W18"
    ref = next(r for r in data if r["model"] == "fcn_hr48" and r["iterations"] == 80000)
    assert ref["is_reference"] is True and ref["mIoU"] == 79.93 and ref["params"] is None
    assert list(data[0])[0] == "rank" and data[0]["rank"] == 1


# The plot: tests/leaderboard/test_speed_plot.py


# --- CLI -----------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "leaderboard.py"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=HANG_GUARD_S,
    )


def test_cli_writes_every_output(tmp_path):
    write_run(tmp_path / "runs" / "mine", miou=79.5, benchmark={"fps": 7.0})
    (tmp_path / "runs" / "broken").mkdir()
    (tmp_path / "runs" / "broken" / "results.json").write_text("")
    out = tmp_path / "board"
    proc = run_cli(str(tmp_path / "runs"), "--dataset", "cityscapes", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "mine" in proc.stdout and "fcn_hr48 (ref)" in proc.stdout
    assert "ade20k" not in proc.stdout
    assert f"warning: {tmp_path / 'runs' / 'broken' / 'results.json'}" in proc.stderr
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.json", "leaderboard.png"):
        assert (out / name).is_file()
        assert f"wrote {out / name}" in proc.stdout
    assert (out / "leaderboard.png").read_bytes().startswith(PNG_MAGIC)


def load_tool():
    spec = importlib.util.spec_from_file_location("leaderboard_tool", REPO / "tools/leaderboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "args, message",
    [
        (["--no-references"], "nothing to rank"),
        (["--dataset", "coco"], "unknown dataset 'coco'"),
        (["--metric", "loss"], "unknown metric 'loss'"),
        (["does/not/exist"], "no such work dir"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(args, message, capsys):
    # In process (the subprocess test above covers the real entry point): seconds saved.
    tool = load_tool()
    assert run_tool(lambda: tool.main(args)) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [err.strip()]
    assert err.startswith("error: ") and message in err


@pytest.mark.slow
def test_real_training_run_joins_the_board(tmp_path):
    data = tmp_path / "data"
    subprocess.run(
        [
            sys.executable,
            "tools/make_demo_data.py",
            "--dataset",
            "cityscapes",
            "--out",
            str(data),
            # Few images: the test is about the record, not the score.
            "--num-train",
            "4",
            "--num-val",
            "2",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=HANG_GUARD_S,
    )
    work_dir = tmp_path / "runs" / "demo"
    subprocess.run(
        [
            sys.executable,
            "tools/train.py",
            "configs/demo/hrnet_w18s_demo_cityscapes.py",
            "--work-dir",
            str(work_dir),
            "--data-root",
            str(data),
            "--cfg-options",
            "train_cfg.max_iters=4",
            "train_cfg.val_interval=4",
            "param_scheduler.0.end=4",
            "train_dataloader.batch_size=2",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=HANG_GUARD_S,
    )
    (row,) = rows_from_work_dirs([tmp_path / "runs"])
    assert row.model == "hrnet_w18s_demo_cityscapes"
    assert (row.head, row.backbone, row.dataset) == ("FCN", "HRNetV2-W18-Small-v1", "cityscapes")
    assert (row.iterations, row.batch, row.gpus, row.status) == (4, 2, "1x cpu", "finished")
    assert 0 <= row.mIoU <= 100 and row.gpu_hours is None
    proc = run_cli(str(tmp_path / "runs"), "--no-references")
    assert proc.returncode == 0, proc.stderr
    assert "hrnet_w18s_demo_cityscapes" in proc.stdout
