"""Leaderboard rows: what one entry is, our runs' ``results.json`` records, the published
references, and ranking.

A row is one (model, schedule, dataset) result. Our runs come from the work dirs that
``RunRecordHook`` (training) and ``tools/test.py`` fill (and from W&B, see
:mod:`.wandb_rows`); the references are the model zoo figures shipped with the package
(``published_results.csv``: mmseg 1.2.2, official HRNet, openseg.pytorch, PaddleSeg),
each with its source URL.

Rows are ranked within a *section*: a dataset, or a dataset's built-in data
(``cityscapes (built-in)``, runs on ``tools/make_demo_data.py`` output). Built-in-data
runs never rank among the published references: a score on synthetic scenes at 1/8
resolution says nothing about Cityscapes.
"""

from __future__ import annotations

import csv
import dataclasses
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..datasets.formats import DATASETS, format_of
from ..datasets.identity import BUILTIN, REAL
from ..errors import UserError
from ..records.benchmark_file import (
    benchmark_figures,
    finite_number,
    gpu_type,
    size_text,
    speed_conditions,
)
from ..records.run_files import ENV_FILE, RESULTS_FILE, gpu_hours, read_json

METRICS = ("mIoU", "mIoU_slide", "mIoU_ms_flip", "mAcc", "fps", "gflops", "params")
REFERENCE_CSV = "published_results.csv"
# The inference modes of tools/test.py and the column each one's mIoU goes to: the
# published single-scale figures are whole-image, ms+flip is --tta.
MODE_COLUMNS = {"whole": "mIoU", "slide": "mIoU_slide", "tta": "mIoU_ms_flip"}

# The heads our configs use, by the names a results.json records; the OCR cascade lists
# its FCN auxiliary head first, so the last head names the model.
_HEADS = {
    "HRNetV2FCNHead": "FCN",
    "FCNHead": "FCN",
    "OCRHead": "OCR",
    "HRNetV2OCRHead": "OCR",
    # The peers' heads (configs/peers/), by the names of published_results.csv.
    "PIDHead": "PIDNet",
    "DDRHead": "DDRNet",
    "SegformerHead": "SegFormer",
    "DepthwiseSeparableASPPHead": "DeepLabV3+",
    "Mask2FormerHead": "Mask2Former",
}
# Backbones that are ours (their presets name them); any other is named by its type,
# or by the papers' name where published_results.csv uses one.
_OUR_BACKBONES = ("HighResolutionNet", "LiteHighResolutionNet", "HighResolutionTransformer")
_PEER_BACKBONES = {"MixVisionTransformer": "MiT", "ResNetV1c": "ResNet", "HRNet": "HRNetV2 (mmseg)"}


class SkippedRunWarning(UserWarning):
    """A results.json that cannot give a row (unreadable, or without mIoU)."""


class WorkDirNotFoundError(UserError, FileNotFoundError):
    """A path given as a work dir does not exist."""


class UnknownDatasetError(UserError, ValueError):
    """A dataset name that is not one the leaderboard knows."""


class UnknownMetricError(UserError, ValueError):
    """A ranking metric that is not a numeric column."""


class NoResultsError(UserError, LookupError):
    """Nothing to rank: no run, no reference, or none for the asked dataset."""


@dataclass(frozen=True)
class Row:
    """One leaderboard entry. Numbers are percent (metrics), a count (params), official
    GFLOPs (multiply-adds / 1024^3), images per second (fps); None when unknown.

    ``data`` is ``real`` or ``built-in`` (None: not recorded, e.g. runs recorded before
    the marker existed); ``eval_size`` the evaluated images' size; ``fps_at`` and
    ``gflops_at`` the conditions of those figures. ``mIoU`` / ``mIoU_slide`` /
    ``mIoU_ms_flip`` are the whole-image, sliding-window and multi-scale + flip
    evaluations. A ``tools/test.py`` row names the ``checkpoint`` it evaluated;
    ``checkpoint_iter`` is that checkpoint's iteration (a training row's: the iteration
    of its latest validation). ``evaluations`` lists ``"mode: work dir"`` of the test
    runs merged into a row (:mod:`.checkpoints`)."""

    model: str
    dataset: str | None
    source: str
    link: str
    is_reference: bool = False
    rank: int | None = None
    head: str | None = None
    backbone: str | None = None
    crop: str | None = None
    iterations: int | None = None
    batch: int | None = None
    gpus: str | None = None
    data: str | None = None
    eval_size: str | None = None
    mIoU: float | None = None
    mIoU_slide: float | None = None
    mIoU_ms_flip: float | None = None
    mAcc: float | None = None
    params: int | None = None
    gflops: float | None = None
    gflops_at: str | None = None
    fps: float | None = None
    fps_at: str | None = None
    gpu_hours: float | None = None
    status: str | None = None
    checkpoint: str | None = None
    checkpoint_iter: int | None = None
    evaluations: tuple[str, ...] = ()
    # W&B identity (sweeps set group, job_type and tags): from a W&B run, online or offline.
    group: str | None = None
    job_type: str | None = None
    tags: tuple[str, ...] = ()
    run_id: str | None = None

    @property
    def section(self) -> str:
        """Where the row is ranked: its dataset, or ``<dataset> (built-in)``."""
        name = self.dataset or "unknown dataset"
        return f"{name} (built-in)" if self.data == BUILTIN else name


def normalise_dataset(name: str | None) -> str | None:
    """A known dataset's key (:func:`~hrnet_seg.datasets.formats.format_of`:
    ``CheckedCityscapesDataset``, ``CityscapesDataset``, ``Cityscapes`` -> ``cityscapes``;
    ``ADE20KDataset`` -> ``ade20k``); any other name lower-cased, without a ``Checked``
    prefix and a ``Dataset`` suffix (``PascalVOCDataset`` -> ``pascalvoc``)."""
    if not name:
        return None
    fmt = format_of(name)
    if fmt is not None:
        return fmt.key
    return name.lower().removeprefix("checked").removesuffix("dataset")


def head_name(heads: Iterable[str] | None) -> str | None:
    """The model's head family from ``model.heads`` (the last head decides: OCR's
    cascade is [FCNHead (auxiliary), OCRHead])."""
    heads = list(heads or [])
    if not heads:
        return None
    last = heads[-1]
    return _HEADS.get(last, last.removesuffix("Head") or last)


def backbone_name(arch: str | None, backbone: str | None = None) -> str | None:
    """``W48`` -> ``HRNetV2-W48`` (the papers' name for the segmentation variant);
    Lite-HRNet's presets ``18`` / ``naive-18`` -> ``Lite-HRNet-18`` / ``Lite-HRNet-naive-18``;
    HRFormer's ``S`` -> ``HRFormer-S`` (the official README's names); a peer's backbone by
    its type (``PIDNet``) or the papers' name (``MixVisionTransformer`` -> ``MiT``)."""
    if not arch or arch == "custom":
        if backbone and backbone not in _OUR_BACKBONES:
            return _PEER_BACKBONES.get(backbone, backbone)
        return arch
    if backbone == "LiteHighResolutionNet":
        return f"Lite-HRNet-{arch}"
    if backbone == "HighResolutionTransformer":
        return f"HRFormer-{arch}"
    return f"HRNetV2-{arch}"


def _crop_text(crop) -> str | None:
    return size_text(crop) or (str(crop) if crop else None)


def _eval_size(data: Mapping) -> str | None:
    size = size_text(data.get("image_size"))
    # ADE20K's images vary: the most common size, marked as such.
    return f"{size} (most)" if size and (data.get("image_sizes") or 1) > 1 else size


def _gpus(results: dict, env: dict) -> str | None:
    world = results.get("world_size") or 1
    device = results.get("device_type")
    if not device:
        return None
    if device == "cpu":
        return f"{world}x cpu"
    name = gpu_type(env.get("device")) if device == "cuda" else None
    return f"{world}x {name or device}"


def _mode(record: Mapping, model: Mapping) -> str:
    mode = record.get("mode")
    if mode in MODE_COLUMNS:
        return mode
    # Older records: "tta": true, or SegTTAModel named as the segmentor.
    tta = bool(record.get("tta")) or "TTA" in str(model.get("segmentor") or "")
    return "tta" if tta else "whole"


def _int_or_none(value) -> int | None:
    return int(value) if finite_number(value) is not None else None


def run_columns(record: Mapping) -> dict:
    """The model, data, schedule and score columns of a run record: a ``results.json``,
    or the same keys built from a W&B run's config (``records.metadata.run_metadata``).
    The mIoU goes to the column of the record's inference mode. Missing keys give None."""
    model = record.get("model") if isinstance(record.get("model"), dict) else {}
    data = record.get("eval_data") if isinstance(record.get("eval_data"), dict) else {}
    checkpoint = record.get("checkpoint") if isinstance(record.get("checkpoint"), dict) else {}
    mode = _mode(record, model)
    scores = dict.fromkeys(MODE_COLUMNS.values())
    scores[MODE_COLUMNS[mode]] = finite_number(record.get("mIoU"))
    path = checkpoint.get("path")
    return {
        "dataset": normalise_dataset(record.get("dataset")),
        "data": data.get("kind") if data.get("kind") in (BUILTIN, REAL) else None,
        "eval_size": _eval_size(data),
        "head": head_name(model.get("heads")),
        "backbone": backbone_name(model.get("arch"), model.get("backbone")),
        "crop": _crop_text(record.get("crop")),
        "iterations": _int_or_none(record.get("iterations")),
        "batch": _int_or_none(record.get("batch_total")),
        **scores,
        # mAcc is the single-scale figure's, as in the published tables.
        "mAcc": finite_number(record.get("mAcc")) if mode == "whole" else None,
        "checkpoint": path if isinstance(path, str) else None,
        "checkpoint_iter": _int_or_none(checkpoint.get("iter", record.get("iter"))),
    }


def row_from_work_dir(work_dir: str | Path) -> Row | None:
    """The row of one work dir's ``results.json``; None (with a
    :class:`SkippedRunWarning` naming the file) when it is unreadable or has no mIoU."""
    work_dir = Path(work_dir)
    path = work_dir / RESULTS_FILE
    results = read_json(path)
    if results is None:
        warnings.warn(
            f"{path}: unreadable or not a JSON object; skipped", SkippedRunWarning, stacklevel=2
        )
        return None
    if finite_number(results.get("mIoU")) is None:
        warnings.warn(
            f"{path}: no mIoU (status {results.get('status')!r}); skipped",
            SkippedRunWarning,
            stacklevel=2,
        )
        return None
    env = read_json(work_dir / ENV_FILE) or {}
    columns = run_columns(results)
    # A tools/test.py record: one evaluation of a checkpoint, in one mode.
    mode = _mode(results, results.get("model") if isinstance(results.get("model"), dict) else {})
    evaluations = (f"{mode}: {work_dir}",) if columns["checkpoint"] else ()
    device = results.get("device_type")
    wall = finite_number(results.get("wall_time_s"))
    on_gpu = bool(device) and device != "cpu"
    # A CPU run has no GPU-hours to show (the W&B summary holds 0 for it).
    hours = gpu_hours(wall_time_s=wall, gpus=results.get("world_size") or 1) if on_gpu else None
    return Row(
        model=results.get("config") or work_dir.name,
        source="local",
        link=str(work_dir),
        gpus=_gpus(results, env),
        gpu_hours=hours if wall else None,
        status=results.get("status"),
        evaluations=evaluations,
        **columns,
        **benchmark_figures(work_dir),
    )


def _int(text: str) -> int | None:
    return int(text) if text.strip() else None


def _float(text: str) -> float | None:
    return float(text) if text.strip() else None


def reference_rows() -> list[Row]:
    """The published model zoo figures shipped in ``published_results.csv``."""
    text = resources.files(__package__).joinpath(REFERENCE_CSV).read_text(encoding="utf-8")
    rows = []
    for rec in csv.DictReader(text.splitlines()):
        gpus = rec["gpus"].strip()
        gpu = rec["gpu_type"].strip() or None
        fps = _float(rec["infer_fps"])
        rows.append(
            Row(
                model=rec["model"],
                dataset=normalise_dataset(rec["dataset"]),
                source=rec["source"],
                link=rec["url"],
                is_reference=True,
                head=rec["head"] or None,
                backbone=rec["backbone"] or None,
                crop=rec["crop"] or None,
                iterations=_int(rec["iters"]),
                batch=_int(rec["batch_total"]),
                # PaddleSeg does not say how many GPUs; the type alone is still a fact.
                gpus=f"{gpus}x {gpu}" if gpus and gpu else gpu,
                data=REAL,
                eval_size=rec["eval_size"].strip() or None,
                mIoU=_float(rec["mIoU"]),
                mIoU_ms_flip=_float(rec["mIoU_ms_flip"]),
                fps=fps,
                fps_at=speed_conditions(device=gpu, size=rec["infer_size"].strip() or None)
                if fps is not None
                else None,
            )
        )
    return rows


def _dataset_order(name: str | None) -> tuple:
    return (DATASETS.index(name) if name in DATASETS else len(DATASETS), name or "")


def section_order(row: Row) -> tuple:
    """Real datasets first (Cityscapes, ADE20K, then others), then the built-in ones."""
    return (row.data == BUILTIN, *_dataset_order(row.dataset))


def rank(rows: Iterable[Row], *, metric: str = "mIoU", dataset: str | None = None) -> list[Row]:
    """``rows`` grouped by section (:attr:`Row.section`: the real datasets, then each
    dataset's built-in data), each section ordered by ``metric`` descending and ranked
    from 1 (equal values share a rank); rows without the metric follow, unranked.
    Built-in-data runs are ranked only among themselves. ``dataset`` keeps that
    dataset only (its built-in section included)."""
    if metric not in METRICS:
        raise UnknownMetricError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if dataset is not None:
        wanted = normalise_dataset(dataset)
        if wanted not in DATASETS:
            raise UnknownDatasetError(
                f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}"
            )
        rows = [r for r in rows if r.dataset == wanted]

    def key(row: Row) -> tuple:
        value = getattr(row, metric)
        # Ties: references first (they are the bar to beat), then by name, for a stable order.
        return (
            *section_order(row),
            value is None,
            -(value or 0),
            not row.is_reference,
            row.model,
        )

    ranked: list[Row] = []
    count = 0  # rows so far in the current dataset group
    for row in sorted(rows, key=key):
        value = getattr(row, metric)
        same_group = bool(ranked) and ranked[-1].section == row.section
        count = count + 1 if same_group else 1
        if value is None:
            position = None
        elif same_group and getattr(ranked[-1], metric) == value:
            position = ranked[-1].rank  # competition ranking: 1, 2, 2, 4
        else:
            position = count
        ranked.append(dataclasses.replace(row, rank=position))
    return ranked
