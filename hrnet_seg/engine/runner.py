"""mmengine's Runner with what long, shared-cluster training needs.

* SyncBN falls back to BN, with one warning, wherever it cannot synchronise
  (mmengine reverts it only for non-distributed runs; a CPU/gloo group crashes).
* Checkpoints are written atomically (``engine/checkpoint.py``); a failed write (a full
  disk) removes its partial file and says which path and how much space it needed.
  Auto-resume picks the newest checkpoint that loads, naming any it skips.
* Checkpoints load with ``torch.load(weights_only=True)`` and mmengine's own types
  allow-listed, never by turning the protection off; a checkpoint of another
  architecture is an error naming the first mismatched keys, not a silent partial load.
* Weight initialisation logs one summary line instead of one per parameter.
* DDP: the collective timeout, bucket size and gradient communication hook of the
  config (``engine/ddp.py``), on GPUs and on CPUs (gloo).
"""

from __future__ import annotations

import logging
import os
import os.path as osp
import shutil
import time
import weakref

import torch
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import RUNNERS

from ..errors import UserError
from ..models.sync_bn import fallback_sync_bn
from ..utils.quiet import warnings_only
from ..utils.torch_load import CheckpointReadError, UnsafeCheckpointError, load_checkpoint_file
from . import rng
from .checkpoint import (
    TMP_SUFFIX,
    checkpoints_newest_first,
    fsync_and_replace,
    load_segmentor_weights,
)
from .console import keep_console_short, keep_validation_tables_in_file, run_overview
from .ddp import process_group_kwargs, register_comm_hook, wrapper_cfg
from .work_dir import ensure_writable


class CheckpointWriteError(UserError, OSError):
    """A checkpoint that could not be written (a full disk, a quota)."""


# Runners whose model is a DDP wrapper, weakly: close_distributed releases them.
_WRAPPING_RUNNERS: weakref.WeakSet = weakref.WeakSet()


@RUNNERS.register_module()
class SegRunner(Runner):
    """The project's Runner; see the module docstring."""

    def __init__(self, model, work_dir: str, *args, **kwargs) -> None:
        ensure_writable(osp.abspath(work_dir))  # one line naming the folder, not a traceback
        self._preloaded: tuple[str, object] | None = None
        super().__init__(model, work_dir, *args, **kwargs)

    @property
    def unwrapped_model(self):
        return self.model.module if is_model_wrapper(self.model) else self.model

    def build_logger(self, *args, **kwargs):
        from ..utils.quiet import quiet_logger

        logger = super().build_logger(*args, **kwargs)
        quiet_logger(logger)
        keep_console_short(logger)
        return logger

    def train(self):
        # mmengine builds the loops inside train() (building is idempotent): build them
        # first, so that the terminal can say in a few lines what is about to run.
        if self._train_loop is not None:
            self._train_loop = self.build_train_loop(self._train_loop)
            if self._val_loop is not None:
                self._val_loop = self.build_val_loop(self._val_loop)
            self.logger.info(run_overview(self))
        keep_validation_tables_in_file(self.logger)
        return super().train()

    def setup_env(self, env_cfg) -> None:
        # mmengine's pytorch launcher calls torch.cuda.set_device unconditionally,
        # which a CPU build of torch cannot do: on CPU, set up the gloo group here
        # (mmengine then skips its own init).
        import torch.distributed as dist

        if self.distributed and not torch.cuda.is_available() and not dist.is_initialized():
            if self.launcher == "slurm":
                slurm_env_to_torch()
            dist.init_process_group(backend="gloo", **process_group_kwargs(env_cfg.get("dist_cfg")))
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg, model):
        if not is_model_wrapper(model):
            model = fallback_sync_bn(model, device_type=get_device())
            if self.cfg.get("channels_last", False):
                model = model.to(memory_format=torch.channels_last)
        if self.distributed and model_wrapper_cfg is None:
            # Bucket size from the config; on CPU no device_ids (engine/ddp.py).
            model_wrapper_cfg = wrapper_cfg(self.cfg, device=get_device())
        model = super().wrap_model(model_wrapper_cfg, model)
        register_comm_hook(model, self.cfg.get("ddp_comm_hook"))
        if is_model_wrapper(model):
            _WRAPPING_RUNNERS.add(self)  # for close_distributed
        return model

    def _init_model_weights(self) -> None:
        # mmengine logs every parameter's initialiser (hundreds of lines): keep
        # those quiet and say in one line what happened.
        with warnings_only(self.logger):
            super()._init_model_weights()
        backbone = getattr(self.unwrapped_model, "backbone", None)
        report = getattr(backbone, "pretrained_report", None)
        source = report.summary() if report else "backbone from scratch (no pretrained weights)"
        self.logger.info(f"Initialised model weights: {source}")

    def load_or_resume(self) -> None:
        if self._resume and self._load_from is None and not self._has_loaded:
            self._load_from = self._newest_loadable_checkpoint()
            if self._load_from is None:
                self.logger.info(f"No checkpoint in {self.work_dir} to resume: starting fresh")
                self._resume = False
        super().load_or_resume()

    def _newest_loadable_checkpoint(self) -> str | None:
        """The newest ``iter_N.pth`` that reads (kept in memory for :meth:`load_checkpoint`).

        A truncated newest file (copied off a cluster, a disk error) is skipped with a
        warning and left in place. A file the safe loader refuses is an error: it was not
        written by this code.
        """
        candidates = checkpoints_newest_first(self.work_dir)
        skipped = []
        for path in candidates:
            try:
                checkpoint = load_checkpoint_file(path)
            except UnsafeCheckpointError:
                raise
            except CheckpointReadError as exc:
                skipped.append(path)
                self.logger.warning(f"Skipping {path}: {exc} (the file is left in place)")
                continue
            if skipped:
                self.logger.warning(
                    f"Resuming from {osp.basename(path)}, the newest checkpoint that loads; "
                    f"skipped {', '.join(osp.basename(p) for p in skipped)}"
                )
            self._preloaded = (path, checkpoint)
            return path
        if skipped:
            raise CheckpointReadError(
                f"None of the {len(skipped)} checkpoint(s) in {self.work_dir!r} can be read "
                f"({', '.join(osp.basename(p) for p in skipped)}). Copy them again, or move "
                "them out of the work dir to start from scratch."
            )
        return None

    def resume(self, filename, *args, **kwargs) -> None:
        super().resume(filename, *args, **kwargs)
        # mmengine re-seeds on resume; the saved states continue the sequence. They are
        # restored right before the first resumed batch is drawn, after the train loop
        # has replayed the data loader to where the run stopped.
        states = (getattr(self, "_resumed_meta", None) or {}).get(rng.KEY)
        if states is None:
            self.logger.info("Checkpoint has no RNG state (older run): generators re-seeded")
        elif len(states) != self.world_size:
            self.logger.warning(
                f"Checkpoint RNG states are of {len(states)} processes, this run has "
                f"{self.world_size}: generators re-seeded instead"
            )
        else:
            loop = self.train_loop
            loop.dataloader_iterator = rng.RestoreAfter(
                loop.dataloader_iterator, skip=loop.iter, state=states[self.rank]
            )

    def load_checkpoint(self, filename, map_location="cpu", strict=False, revise_keys=None):
        preloaded, self._preloaded = self._preloaded, None
        if preloaded is not None and preloaded[0] == filename:
            checkpoint = preloaded[1]
        else:
            checkpoint = load_checkpoint_file(filename)
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
        # Test-time augmentation wraps the segmentor; checkpoints hold the segmentor.
        target = self.unwrapped_model
        target = target.module if isinstance(target, BaseTTAModel) else target
        checkpoint = load_segmentor_weights(
            target, checkpoint, path=filename, strict=strict, revise_keys=revise_keys
        )
        self._has_loaded = True
        self._resumed_meta = checkpoint.get("meta") if isinstance(checkpoint, dict) else None
        self.logger.info(f"Load checkpoint from {filename}")
        return checkpoint

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        # Every rank gets here (CheckpointHook, PreemptionHook): gather the RNG states
        # before rank 0 alone writes.
        by_epoch = kwargs.get("by_epoch", True)
        self.last_saved_iter = (kwargs.get("meta") or {}).get("iter", self.iter + (not by_epoch))
        states = rng.gather()
        if self.rank != 0:
            return
        kwargs["meta"] = {**(kwargs.get("meta") or {}), rng.KEY: states}
        final = osp.join(out_dir, filename)
        if "://" in out_dir:  # remote backends write whole objects already
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        tmp = final + TMP_SUFFIX
        try:
            super().save_checkpoint(out_dir, filename + TMP_SUFFIX, *args, **kwargs)
            fsync_and_replace(tmp, final)
        except OSError as exc:
            if osp.exists(tmp):
                os.remove(tmp)  # a partial file only takes the space others need
            raise self._write_error(final, exc) from None
        print_log(f"Saved checkpoint {final}", logger="current", level=logging.DEBUG)

    def _write_error(self, path: str, exc: OSError) -> CheckpointWriteError:
        states = [self.unwrapped_model.state_dict()]
        if hasattr(self.optim_wrapper, "state_dict"):
            states.append(self.optim_wrapper.state_dict())
        needed = sum(_tensor_bytes(state) for state in states)
        free = shutil.disk_usage(osp.dirname(path)).free
        newest = checkpoints_newest_first(osp.dirname(path))
        kept = f"the newest complete one is {newest[0]}" if newest else "no earlier one exists"
        return CheckpointWriteError(
            f"Could not write checkpoint {path}: {exc.strerror or exc}. It needs about "
            f"{needed / 2**20:.1f} MiB (weights and optimizer state); {free / 2**20:.1f} MiB "
            f"are free there. The partial file was removed; {kept}. Free some space (or "
            "use another --work-dir), then continue with --resume."
        )


def _tensor_bytes(state) -> int:
    if isinstance(state, torch.Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, dict):
        return sum(_tensor_bytes(v) for v in state.values())
    if isinstance(state, list | tuple):
        return sum(_tensor_bytes(v) for v in state)
    return 0


def slurm_env_to_torch() -> None:
    """``srun python tools/train.py --launcher slurm`` on CPUs: mmengine's slurm launcher
    calls ``torch.cuda.set_device``, so the env:// variables come from Slurm's here (the
    same mapping as mmengine's) and the gloo group is created above."""
    import os
    import subprocess

    try:
        hosts = subprocess.run(
            ["scontrol", "show", "hostnames", os.environ["SLURM_NODELIST"]],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        hosts = []
    os.environ.setdefault("MASTER_ADDR", hosts[0] if hosts else "127.0.0.1")
    # A port per job: two jobs sharing a node must not collide on 29500.
    os.environ.setdefault("MASTER_PORT", str(20000 + int(os.environ["SLURM_JOB_ID"]) % 20000))
    os.environ["WORLD_SIZE"] = os.environ["SLURM_NTASKS"]
    os.environ["RANK"] = os.environ["SLURM_PROCID"]
    os.environ["LOCAL_RANK"] = os.environ.get("SLURM_LOCALID", "0")


def close_distributed() -> None:
    """Wait for every rank, release the DDP wrappers, then tear the process group down.

    Without the barrier, a rank that finishes first (no checkpoint or results to write)
    exits while gloo threads still talk to rank 0, and aborts ("terminate called without
    an active exception"), failing the whole job.

    Without the release, ``destroy_process_group`` only drops the group from torch's
    registry: each DDP wrapper's reducer still holds the group, and mmengine's runner
    sits in reference cycles, so the group's C++ destructor (which joins gloo's worker
    threads) ran only during interpreter finalisation, where it can abort the same
    way after a run that finished (seen on a 2-node x 2-task Slurm job under load).
    Unwrapping the live runners' models and collecting here destroys the group while
    the interpreter is whole. The runners stay usable (``unwrapped_model`` is unchanged).
    """
    import gc

    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.barrier()
    for runner in list(_WRAPPING_RUNNERS):
        if is_model_wrapper(runner.model):
            runner.model = runner.model.module
    gc.collect()
    # gloo's worker threads free each finished collective, which takes the GIL when it
    # holds Python tensors, and the group's destructor joins those threads while this
    # thread holds the GIL: a deadlock if one is still freeing (seen as a hung 2-rank
    # test under load). Sleeping releases the GIL for them to finish first.
    time.sleep(0.05)
    dist.destroy_process_group()
