"""Writes ``env.json`` and ``results.json`` into the work dir (rank 0), with where every
rank ran and, at the end of training, whether all ranks hold the same parameters.

Besides the scores, a record says what was evaluated (issue 18): the data (real or the
built-in generator's, :mod:`hrnet_seg.datasets.identity`, and the evaluated image
size), the inference mode (whole / slide / tta), and for ``tools/test.py`` the
checkpoint and the iteration it was saved at, so that the leaderboard can keep synthetic
scores apart from published ones and group the evaluations of one checkpoint.
"""

from __future__ import annotations

import logging
import os.path as osp
import re
import time
from collections import Counter

from mmengine.dist import all_gather_object, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...datasets.identity import BUILTIN, builtin_manifest, data_kind
from ...records.metadata import run_metadata
from ...records.run_files import (
    ENV_FILE,
    RESULTS_FILE,
    environment_info,
    previous_record,
    write_json,
)
from ..ddp import placement, replica_digests

# mmengine's CheckpointHook names: iter_8000.pth, epoch_3.pth.
_CHECKPOINT_ITER = re.compile(r"iter_(\d+)\.pth$")


def evaluation_data(cfg, *, loader: str, sizes: Counter | None = None) -> dict:
    """What an evaluation read: ``kind`` (``built-in`` or ``real``, the rule of
    :mod:`hrnet_seg.datasets.identity`), ``root``, ``split`` (the image folder),
    ``image_size`` ([H, W] of the evaluated images, the most common one when they vary,
    from ``sizes``), ``image_sizes`` (how many distinct sizes) and, for built-in data,
    the generator's ``manifest``."""
    dataset = (cfg.get(loader) or {}).get("dataset") or {}
    root = dataset.get("data_root")
    kind = data_kind(root)
    size = sizes.most_common(1)[0][0] if sizes else None
    record = {
        "kind": kind,
        "root": osp.abspath(root) if root else None,
        "split": (dataset.get("data_prefix") or {}).get("img_path"),
        "image_size": list(size) if size else None,
        "image_sizes": len(sizes) if sizes else None,
    }
    if kind == BUILTIN:
        record["manifest"] = builtin_manifest(root)
    return record


def checkpoint_iteration(path: str | None, meta: dict | None) -> int | None:
    """The iteration a checkpoint was saved at: its ``meta.iter`` (mmengine writes it),
    else the ``iter_N.pth`` file name; None when neither says."""
    value = (meta or {}).get("iter")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _CHECKPOINT_ITER.search(path or "")
    return int(match.group(1)) if match else None


@HOOKS.register_module()
class RunRecordHook(Hook):
    """``env.json`` at the start; ``results.json`` after every validation and at the end,
    with the latest and best metrics, per-class IoU, metadata, the evaluated data and
    wall time, and ``ranks``: each rank's host, LOCAL_RANK and (after training) parameter
    digest. A test run (``runner.test()``) records the checkpoint it evaluated and that
    checkpoint's iteration (the runner's own iteration is 0 there)."""

    priority = "LOW"

    def __init__(self) -> None:
        # Always RESULTS_FILE: resuming, the console summary, the Slurm status and the
        # leaderboard read that name.
        self._start = None
        self._start_iter = 0
        self._latest: dict = {}
        self._best: dict = {}
        self._earlier_wall_s = 0.0
        self._ranks: list[dict] = []
        self._sizes: Counter = Counter()  # evaluated image sizes, this rank
        self._eval: dict = {}  # the latest evaluation's data, mode and checkpoint
        self._checkpoint_meta: dict | None = None

    def before_run(self, runner) -> None:
        self._start = time.time()
        # Every rank takes part (a collective); rank 0 logs where each one runs.
        self._ranks = placement()
        for r in self._ranks if len(self._ranks) > 1 else ():
            where = f"host {r['host']}, LOCAL_RANK {r['local_rank']}, pid {r['pid']}"
            print_log(f"rank {r['rank']}/{len(self._ranks)}: {where}", logger="current")
        if is_main_process():
            write_json(osp.join(runner.work_dir, ENV_FILE), environment_info())

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

    def after_load_checkpoint(self, runner, checkpoint) -> None:
        meta = checkpoint.get("meta") if isinstance(checkpoint, dict) else None
        self._checkpoint_meta = meta if isinstance(meta, dict) else {}

    def before_val_epoch(self, runner) -> None:
        self._sizes = Counter()

    def before_test_epoch(self, runner) -> None:
        self._sizes = Counter()

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._count_sizes(outputs)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._count_sizes(outputs)

    def _count_sizes(self, outputs) -> None:
        for sample in outputs or ():
            shape = getattr(sample, "metainfo", {}).get("ori_shape")
            if shape:
                self._sizes[tuple(int(v) for v in shape[:2])] += 1

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._record(runner, metrics, loader="val_dataloader", iteration=runner.iter)

    def after_test_epoch(self, runner, metrics=None) -> None:
        path = runner.cfg.get("load_from")
        iteration = checkpoint_iteration(path, self._checkpoint_meta)
        checkpoint = {"path": osp.abspath(path) if path else None, "iter": iteration}
        self._record(
            runner, metrics, loader="test_dataloader", iteration=iteration, checkpoint=checkpoint
        )

    def _record(self, runner, metrics, *, loader: str, iteration, checkpoint=None) -> None:
        if not metrics:
            return
        # Every rank evaluated a share of the images: their sizes, all together.
        sizes = Counter()
        for counts in all_gather_object(self._sizes) if get_world_size() > 1 else [self._sizes]:
            sizes.update(counts)
        summary = runner.message_hub.get_info("eval/summary")
        self._latest = {
            "iter": iteration,
            **{k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
        }
        if summary:
            self._latest["per_class"] = summary.get("per_class")
        if "mIoU" in self._latest and self._latest["mIoU"] >= self._best.get("mIoU", -1):
            self._best = {"mIoU": self._latest["mIoU"], "iter": iteration}
        self._eval = {"eval_data": evaluation_data(runner.cfg, loader=loader, sizes=sizes)}
        if checkpoint is not None:
            self._eval["checkpoint"] = checkpoint
        self._write(runner, status="running")

    def after_run(self, runner) -> None:
        self._write(runner, status="finished")

    def _write(self, runner, *, status: str) -> None:
        if not is_main_process():
            return
        from mmengine.device import get_device

        metadata = run_metadata(runner.cfg, world_size=get_world_size(), device=get_device())
        checkpoint = self._eval.get("checkpoint")
        if checkpoint is not None:
            # A test run: the model trained for as many iterations as its checkpoint.
            metadata["iterations"] = checkpoint["iter"]
        results = {
            **{k: v for k, v in self._latest.items() if k != "per_class"},
            "best": self._best or None,
            "per_class": self._latest.get("per_class"),
            **metadata,
            **self._eval,
            "status": status,
            "final_iter": checkpoint["iter"] if checkpoint is not None else runner.iter,
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
        write_json(osp.join(runner.work_dir, RESULTS_FILE), results)
