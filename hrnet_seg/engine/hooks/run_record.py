"""Writes ``env.json`` and ``results.json`` into the work dir (rank 0), with where every
rank ran and, at the end of training, whether all ranks hold the same parameters."""

from __future__ import annotations

import logging
import os.path as osp
import time

from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ..ddp import placement, replica_digests
from ..record import environment_info, previous_record, write_json


def _heads(model_cfg) -> list[str]:
    heads = model_cfg.get("decode_head")
    heads = heads if isinstance(heads, list) else [heads]
    return [h["type"] for h in heads if h]


def run_metadata(cfg, *, world_size: int, device: str) -> dict:
    """Model, data and schedule facts of a run, from its resolved config."""
    model = cfg.model
    tta = "module" in model  # tools/test.py --tta wraps the segmentor in SegTTAModel
    if tta:
        model = model["module"]
    loader = cfg.get("train_dataloader") or cfg.get("test_dataloader") or {}
    dataset = loader.get("dataset", {})
    batch = loader.get("batch_size")
    name = osp.splitext(osp.basename(cfg.filename))[0] if cfg.filename else None
    backbone = model.get("backbone", {})
    return {
        "config": name,
        "model": {
            "segmentor": model.get("type"),
            "backbone": backbone.get("type"),
            "arch": backbone.get("arch") if isinstance(backbone.get("arch"), str) else "custom",
            "heads": _heads(model),
            "pretrained": backbone.get("pretrained"),
        },
        "dataset": dataset.get("type"),
        "data_root": dataset.get("data_root"),
        "crop": list(model.get("data_preprocessor", {}).get("size") or []) or None,
        "iterations": cfg.get("train_cfg", {}).get("max_iters"),
        "batch_per_gpu": batch,
        "batch_total": batch * world_size if batch else None,
        "world_size": world_size,
        "device_type": device,
        "tta": tta,
        "amp": cfg.get("optim_wrapper", {}).get("type")
        in ("AmpOptimWrapper", "AutocastOptimWrapper"),
    }


@HOOKS.register_module()
class RunRecordHook(Hook):
    """``env.json`` at the start; ``results.json`` after every validation and at the end,
    with the latest and best metrics, per-class IoU, metadata and wall time, and ``ranks``:
    each rank's host, LOCAL_RANK and (after training) parameter digest."""

    priority = "LOW"

    def __init__(self, filename: str = "results.json") -> None:
        self.filename = filename
        self._start = None
        self._start_iter = 0
        self._latest: dict = {}
        self._best: dict = {}
        self._earlier_wall_s = 0.0
        self._ranks: list[dict] = []

    def before_run(self, runner) -> None:
        self._start = time.time()
        # Every rank takes part (a collective); rank 0 logs where each one runs.
        self._ranks = placement()
        for r in self._ranks if len(self._ranks) > 1 else ():
            where = f"host {r['host']}, LOCAL_RANK {r['local_rank']}, pid {r['pid']}"
            print_log(f"rank {r['rank']}/{len(self._ranks)}: {where}", logger="current")
        if is_main_process():
            write_json(osp.join(runner.work_dir, "env.json"), environment_info())

    def before_train(self, runner) -> None:
        self._start_iter = runner.iter  # > 0 after a resume
        if runner.iter > 0:
            # A resumed run (after a preemption) keeps its best score and its wall time.
            earlier = previous_record(runner.work_dir, upto_iter=runner.iter)
            self._best = dict(earlier.get("best") or {})
            self._earlier_wall_s = float(earlier.get("wall_time_s") or 0.0)

    def after_train(self, runner) -> None:
        # DDP keeps replicas identical by construction; a digest per rank shows that it did
        # (a desync, e.g. a rank that skipped a step, would show here).
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        digests = replica_digests(model)
        for r, digest in zip(self._ranks, digests, strict=True):
            r["params_sha256"] = digest
        if len(digests) > 1:
            differ = [i for i, d in enumerate(digests) if d != digests[0]]
            if differ:
                msg = f"Parameters differ from rank 0's at the end on ranks {differ}"
                level = logging.WARNING
            else:
                msg = f"Parameters identical on all {len(digests)} ranks at the end"
                msg, level = f"{msg} (sha256 {digests[0][:16]})", logging.INFO
            print_log(msg, logger="current", level=level)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._record(runner, metrics)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._record(runner, metrics)

    def _record(self, runner, metrics) -> None:
        if not metrics:
            return
        summary = runner.message_hub.get_info("eval/summary")
        self._latest = {
            "iter": runner.iter,
            **{k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
        }
        if summary:
            self._latest["per_class"] = summary.get("per_class")
        if "mIoU" in self._latest and self._latest["mIoU"] >= self._best.get("mIoU", -1):
            self._best = {"mIoU": self._latest["mIoU"], "iter": runner.iter}
        self._write(runner, status="running")

    def after_run(self, runner) -> None:
        self._write(runner, status="finished")

    def _write(self, runner, *, status: str) -> None:
        if not is_main_process():
            return
        from mmengine.device import get_device

        results = {
            **{k: v for k, v in self._latest.items() if k != "per_class"},
            "best": self._best or None,
            "per_class": self._latest.get("per_class"),
            **run_metadata(runner.cfg, world_size=get_world_size(), device=get_device()),
            "status": status,
            "final_iter": runner.iter,
            "resumed_from_iter": self._start_iter or None,
            # All starts together: GPU-hours of a preempted run count every segment.
            "wall_time_s": round(self._earlier_wall_s + time.time() - self._start, 1)
            if self._start
            else None,
            "work_dir": runner.work_dir,
            "ranks": self._ranks or None,
        }
        digests = {r.get("params_sha256") for r in self._ranks}
        if self._ranks and None not in digests:
            results["replicas_identical"] = len(digests) == 1
        write_json(osp.join(runner.work_dir, self.filename), results)
