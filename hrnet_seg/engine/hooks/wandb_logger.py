"""Weights & Biases logging that never blocks training (rank 0; wandb imported lazily).

Why not mmengine's ``WandbVisBackend``: it drops the ``step`` argument (every call is
its own W&B step), logs images without masks, and ``log_code`` walks the whole
working directory, work dir included. Without a network, wandb's online ``init``
blocks for its ``init_timeout`` (90 s by default): here ``mode='auto'`` goes online
only with credentials and a reachable server (a 3 s probe), and any online failure
falls back to an offline run, with one warning. Offline runs live in the work dir
(``<work_dir>/wandb/offline-run-*/run-<id>.wandb``; read them back with
:mod:`hrnet_seg.records.wandb_reader`, upload them with ``wandb sync``).
"""

from __future__ import annotations

import functools
import json
import os
import os.path as osp
import time
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...errors import UserError
from ...records.run_files import environment_info, gpu_hours, nan_to_none, previous_record
from ...utils.wandb_access import (
    PROBE_TIMEOUT_S,
    WandbFallbackWarning,
    has_credentials,
    reachable,
    server_url,
)
from ...utils.wandb_access import teardown as wandb_teardown
from .run_record import evaluation_data

__all__ = ["WandbFallbackWarning", "WandbLoggerHook"]

MODES = ("auto", "online", "offline", "disabled")
RUN_ID_FILE = "wandb_run_id.txt"
# Per-image masks are for looking at, not for measuring: larger images are strided
# down to this side so that 4 Cityscapes frames stay a few MB per validation.
MAX_IMAGE_SIDE = 1024


def _jsonable(value):
    """Config values wandb can store: tuples, types and callables become JSON / str."""
    return json.loads(json.dumps(value, default=str))


def _guarded(method):
    """W&B is a side channel: an error in it (its service killed by the signal that
    preempts the job, a full disk, a server hiccup) turns logging off with one warning
    and never stops the training."""

    @functools.wraps(method)
    def wrapper(self, runner, *args, **kwargs):
        try:
            return method(self, runner, *args, **kwargs)
        except Exception as exc:
            self._give_up(f"{method.__name__}", exc)

    return wrapper


@HOOKS.register_module()
class WandbLoggerHook(Hook):
    """Logs a run to W&B: config and environment, every iteration's train scalars,
    validation scores, per-class IoU table, mask images and leaderboard summary keys
    (``mIoU``, ``best_mIoU``, ``params``, ``gpu_type``, ``gpu_count``, ``gpu_hours``,
    ``data``: ``real`` or ``built-in``, and ``GFLOPs`` / ``fps`` / ``fps_at`` when the
    work dir has a ``benchmark.json``).

    Args:
        project, entity, group, job_type, tags, name: passed to ``wandb.init``.
        mode: ``'online'`` (offline when the server does not answer a 3 s probe or
            init fails), ``'offline'``, ``'disabled'``, or ``'auto'``: online only with
            credentials (``WANDB_API_KEY`` or a netrc entry) and a reachable server,
            else offline. Every fallback to offline warns once, saying why.
            ``WANDB_MODE=disabled`` / ``offline`` in the environment wins.
        num_images: the first N validation images, logged with prediction and
            ground-truth masks at every validation (the val loader is not shuffled,
            so they are the same images each time).
        log_checkpoints: log the best (else the last) checkpoint as a ``model``
            artifact at the end.
        init_timeout: seconds wandb may take to start an online run before the hook
            falls back to offline.

    Every row carries ``iter`` (train rows ``runner.iter + 1``, val rows the
    iteration they follow), the x-axis of every chart. A resumed training (the
    runner starts past iteration 0) continues the W&B run whose id the work dir keeps
    in ``wandb_run_id.txt``.

    Example:
        >>> custom_hooks = [dict(type="WandbLoggerHook", project="hrnet_seg", tags=["w48"])]
    """

    priority = "LOW"  # after IterTimerHook and ThroughputHook have updated the hub

    def __init__(
        self,
        *,
        project: str = "hrnet_seg",
        entity: str | None = None,
        mode: str = "auto",
        group: str | None = None,
        job_type: str = "train",
        tags: Sequence[str] = (),
        name: str | None = None,
        num_images: int = 4,
        log_checkpoints: bool = False,
        init_timeout: float = 10,
    ) -> None:
        for key, value in (("project", project), ("job_type", job_type)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{key} must be a non-empty string, got {value!r}")
        for key, value in (("entity", entity), ("group", group), ("name", name)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{key} must be a string or None, got {value!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
            raise TypeError(f"tags must be a sequence of strings, got {tags!r}")
        if isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 0:
            raise ValueError(f"num_images must be an int >= 0, got {num_images!r}")
        if not isinstance(log_checkpoints, bool):
            raise TypeError(f"log_checkpoints must be True or False, got {log_checkpoints!r}")
        if isinstance(init_timeout, bool) or not isinstance(init_timeout, int | float):
            raise TypeError(f"init_timeout must be a number of seconds, got {init_timeout!r}")
        if init_timeout <= 0:
            raise ValueError(f"init_timeout must be > 0 seconds, got {init_timeout!r}")
        self.project, self.entity, self.mode = project, entity, mode
        self.group, self.job_type, self.tags, self.name = group, job_type, list(tags), name
        self.num_images, self.log_checkpoints = num_images, log_checkpoints
        self.init_timeout = float(init_timeout)
        self.run = None
        self.resolved_mode: str | None = None
        self._wandb = None
        self._saved_env: dict[str, str | None] = {}
        self._images: list = []
        self._best_miou: float | None = None
        self._start: float | None = None

    # -- mode and init -------------------------------------------------------------

    def _disabled(self) -> bool:
        return self.mode == "disabled" or os.environ.get("WANDB_MODE", "").lower() == "disabled"

    def _resolve_mode(self) -> tuple[str, str | None]:
        """The mode to start with and, when it is offline against the request, why."""
        env = os.environ.get("WANDB_MODE", "").lower()
        if self._disabled():
            return "disabled", None
        if self.mode == "offline":
            return "offline", None
        if env in ("offline", "dryrun"):
            return "offline", None
        # The server and the key as wandb itself would find them (its default server
        # is not api.wandb.ai in every version). 'online' skips the credential check
        # (wandb may find a key elsewhere) but not the probe: wandb's own init_timeout
        # is not a bound (init_timeout=3 gave up after 13.5 s here with no network).
        base_url = server_url()
        if self.mode == "auto":
            try:
                found = has_credentials(base_url)
            except UserError as exc:  # a malformed key
                return "offline", str(exc)
            if not found:
                return "offline", (
                    f"no W&B credentials for {base_url} (WANDB_API_KEY, or `wandb login`)"
                )
        if not reachable(base_url, PROBE_TIMEOUT_S):
            return "offline", f"{base_url} is not reachable within {PROBE_TIMEOUT_S:.0f} s"
        return "online", None

    def _set_dirs(self, work_dir: str) -> None:
        # Artifact staging and caches default to ~/.local/share/wandb and ~/.cache;
        # keep them with the run. Restored in after_run: runs in one process differ.
        root = osp.join(work_dir, "wandb")
        for var, sub in (("WANDB_DATA_DIR", "data"), ("WANDB_CACHE_DIR", "cache")):
            self._saved_env[var] = os.environ.get(var)
            os.environ[var] = osp.join(root, sub)
            os.makedirs(os.environ[var], exist_ok=True)

    def _restore_dirs(self) -> None:
        for var, value in self._saved_env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        self._saved_env = {}

    @_guarded
    def before_train(self, runner) -> None:
        if is_main_process() and self.run is None:
            self._init(runner)

    def _init(self, runner) -> None:
        self._start = time.time()
        if runner.iter > 0:  # resumed: the best score and time of the earlier starts count
            earlier = previous_record(runner.work_dir, upto_iter=runner.iter)
            self._best_miou = (earlier.get("best") or {}).get("mIoU")
            self._start -= float(earlier.get("wall_time_s") or 0.0)
        if self._disabled():
            self.resolved_mode = "disabled"
            return
        # The folders first: finding the server reads wandb's settings, and wandb warns
        # ("Changes to your wandb environment variables will be ignored") when they
        # change after that.
        self._set_dirs(runner.work_dir)
        mode, why = self._resolve_mode()
        self.resolved_mode = mode
        import wandb

        self._wandb = wandb
        id_file = osp.join(runner.work_dir, RUN_ID_FILE)
        run_id, resume = None, None
        if runner.iter > 0 and osp.isfile(id_file):  # a resumed training: same curve
            with open(id_file) as f:
                run_id, resume = f.read().strip() or None, "allow"
        kwargs = dict(
            project=self.project,
            entity=self.entity,
            group=self.group,
            job_type=self.job_type,
            tags=self.tags,
            name=self.name or osp.basename(osp.normpath(runner.work_dir)),
            dir=runner.work_dir,
            id=run_id,
            resume=resume,
            config=_jsonable(runner.cfg.to_dict()),
            # quiet: wandb's banner and its end-of-run history block would bury the
            # score; the tools print the run folder (and `wandb sync`) themselves.
            settings=wandb.Settings(init_timeout=self.init_timeout, quiet=True),
        )
        if mode == "online":
            try:
                self.run = wandb.init(mode="online", **kwargs)
            except Exception as exc:  # CommError, UsageError, timeouts: never stop training
                why = f"online init failed ({type(exc).__name__}: {exc})"
                mode = self.resolved_mode = "offline"
        if mode == "offline":
            # Offline, wandb's three banner lines only repeat the folder that our own
            # warning (a fallback) and the tools' last lines name: silent.
            kwargs["settings"] = wandb.Settings(init_timeout=self.init_timeout, silent=True)
            self.run = wandb.init(mode="offline", **kwargs)
        if why:
            warnings.warn(
                f"W&B logs offline to {self.run.dir}: {why}. Upload later with "
                f"`wandb sync {osp.dirname(self.run.dir)}`",
                WandbFallbackWarning,
                stacklevel=2,
            )
        with open(id_file, "w") as f:
            f.write(self.run.id + "\n")

        self.run.define_metric("iter")
        for prefix in ("train/*", "val/*", "test/*"):
            self.run.define_metric(prefix, step_metric="iter")
        self.run.config.update({"env": _jsonable(environment_info())}, allow_val_change=True)
        # Files in the run's files dir are uploaded with it (now, or by `wandb sync`).
        with open(osp.join(self.run.dir, "config.py"), "w") as f:
            f.write(runner.cfg.pretty_text)
        model = getattr(runner.model, "module", runner.model)
        cuda = torch.cuda.is_available()
        self.run.summary.update(
            {
                "params": sum(p.numel() for p in model.parameters()),
                "gpu_type": torch.cuda.get_device_name(0) if cuda else "cpu",
                "gpu_count": get_world_size() if cuda else 0,
                # Built-in-data runs stay out of the published ranking (leaderboard).
                "data": evaluation_data(runner.cfg, loader="val_dataloader")["kind"],
            }
        )
        self._log_benchmark(runner.work_dir)

    def _log_benchmark(self, work_dir: str) -> None:
        """``GFLOPs`` and ``fps`` summary keys from ``WORK_DIR/benchmark.json``
        (``tools/benchmark.py --json``), read as the leaderboard reads it."""
        from ...records.benchmark_file import benchmark_figures

        figures = benchmark_figures(work_dir)
        keys = {
            "GFLOPs": figures.get("gflops"),
            "fps": figures.get("fps"),
            "fps_at": figures.get("fps_at"),
        }
        self.run.summary.update({k: v for k, v in keys.items() if v is not None})

    # -- training ------------------------------------------------------------------

    @_guarded
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.run is None:
            return
        row = {}
        for key, scalar in runner.message_hub.log_scalars.items():
            if key.startswith("train/"):
                value = scalar.current()
                row[key] = float(value.item() if hasattr(value, "item") else value)
        if torch.cuda.is_available():
            row["train/memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
        step = runner.iter + 1
        self.run.log({**row, "iter": step}, step=step)

    # -- validation ----------------------------------------------------------------

    def before_val_epoch(self, runner) -> None:
        self._images = []

    @_guarded
    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.run is None or len(self._images) >= self.num_images:
            return
        for sample in outputs or ():
            if len(self._images) >= self.num_images:
                break
            pred = sample.pred_sem_seg.data[0].cpu().numpy()
            gt = sample.gt_sem_seg.data[0].cpu().numpy() if "gt_sem_seg" in sample else None
            self._images.append((sample.img_path, pred, gt))

    @_guarded
    def after_val_epoch(self, runner, metrics=None) -> None:
        if self.run is None or not metrics:
            return
        wandb = self._wandb
        step = runner.iter
        row: dict = {"iter": step}
        for key, value in metrics.items():
            if isinstance(value, int | float):
                row[key if key.startswith("val/") else f"val/{key}"] = float(value)
        summary = runner.message_hub.get_info("eval/summary")
        classes = list(runner.val_evaluator.dataset_meta.get("classes", ()))
        if summary:
            row["val/per_class"] = wandb.Table(
                columns=["class", "IoU", "Acc"],
                data=[
                    [c, nan_to_none(s["IoU"]), nan_to_none(s["Acc"])]
                    for c, s in summary["per_class"].items()
                ],
            )
        matrix = self._confusion_matrix(runner, summary)
        if matrix is not None and classes:
            row["val/confusion_matrix"] = self._confusion_table(matrix, classes)
        if self._images:
            labels = dict(enumerate(classes))
            row["val/predictions"] = [
                self._image(p, pred, gt, labels) for p, pred, gt in self._images
            ]
        self.run.log(row, step=step)

        miou = row.get("val/mIoU")
        if miou is not None:
            self._best_miou = miou if self._best_miou is None else max(self._best_miou, miou)
            self.run.summary.update({"mIoU": miou, "best_mIoU": self._best_miou})

    @staticmethod
    def _confusion_matrix(runner, summary):
        """The accumulated ``(K, K + 1)`` matrix, when the metric keeps it.

        ``ConfusionMatrixMetric`` resets its matrix in ``evaluate()`` and its summary
        has per-class scores only: a ``confusion_matrix`` entry in the summary, else the
        metric's ``last_matrix``, is used when present.
        """
        from ...evaluation import ConfusionMatrixMetric

        if summary and summary.get("confusion_matrix") is not None:
            return np.asarray(summary["confusion_matrix"])
        for metric in getattr(runner.val_evaluator, "metrics", ()):
            if isinstance(metric, ConfusionMatrixMetric) and metric.last_matrix is not None:
                return metric.last_matrix.numpy()
        return None

    def _confusion_table(self, matrix, classes):
        """W&B's confusion-matrix chart from a precomputed matrix (``wandb.plot.
        confusion_matrix`` wants per-pixel labels); column K ("invalid") counts labelled
        pixels predicted as no class."""
        wandb = self._wandb
        names = [*classes, "invalid"][: matrix.shape[1]]
        data = [
            [classes[g], names[p], int(matrix[g, p])]
            for g in range(matrix.shape[0])
            for p in range(matrix.shape[1])
        ]
        table = wandb.Table(columns=["Actual", "Predicted", "nPredictions"], data=data)
        return wandb.plot_table(
            "wandb/confusion_matrix/v1",
            table,
            {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"},
            {"title": "Confusion matrix (pixels)"},
        )

    def _image(self, path, pred, gt, labels):
        import mmcv

        image = mmcv.imread(path, channel_order="rgb")
        stride = max(1, -(-max(image.shape[:2]) // MAX_IMAGE_SIDE))
        image, pred = image[::stride, ::stride], pred[::stride, ::stride]
        masks = {"prediction": {"mask_data": pred.astype(np.uint8), "class_labels": labels}}
        if gt is not None:
            gt = gt[::stride, ::stride]
            masks["ground_truth"] = {
                "mask_data": gt.astype(np.uint8),
                "class_labels": {**labels, 255: "ignore"},
            }
        return self._wandb.Image(image, masks=masks, caption=osp.basename(path))

    # -- end -----------------------------------------------------------------------

    @_guarded
    def after_run(self, runner) -> None:
        if self.run is None:
            return
        try:
            wall = time.time() - self._start if self._start else 0.0
            gpus = self.run.summary.get("gpu_count", 0)
            self.run.summary["gpu_hours"] = gpu_hours(wall_time_s=wall, gpus=gpus)
            # A benchmark.json written while the run trained counts too.
            self._log_benchmark(runner.work_dir)
            if self.log_checkpoints:
                self._log_checkpoint(runner)
        finally:
            self._close()

    def _close(self) -> None:
        wandb = self._wandb
        try:
            try:
                wandb.finish()
            finally:
                # Flushes the offline .wandb file before we return, and drops wandb's
                # process-wide service connection even when it is broken.
                wandb_teardown()  # bounded: wandb's own waits on its service forever
        finally:
            self.run = None
            self._restore_dirs()

    def _give_up(self, where: str, exc: BaseException) -> None:
        if self.run is None and self._wandb is None:
            raise exc
        where_files = getattr(self.run, "dir", None)
        warnings.warn(
            f"W&B logging failed in {where} ({type(exc).__name__}: {exc}) and is off for "
            f"the rest of this run; training goes on. Logged so far: {where_files}",
            WandbFallbackWarning,
            stacklevel=3,
        )
        try:
            if self.run is not None:
                self._close()
        except Exception:  # the service is gone: nothing left to flush
            pass
        self.run = None

    def _log_checkpoint(self, runner) -> None:
        best = runner.message_hub.get_info("best_ckpt")
        last = osp.join(runner.work_dir, f"iter_{runner.iter}.pth")
        path = best if best and osp.isfile(best) else last
        if not osp.isfile(path):
            warnings.warn(f"no checkpoint to log as an artifact at {path}", stacklevel=2)
            return
        artifact = self._wandb.Artifact(
            f"model-{self.run.id}",
            type="model",
            metadata={"iter": runner.iter, "best_mIoU": self._best_miou, "best": path == best},
        )
        artifact.add_file(path)
        self.run.log_artifact(artifact, aliases=["best" if path == best else "latest"])
