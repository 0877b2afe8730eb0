"""What a run shows on the terminal: a few lines on what starts, the iteration lines,
and where everything went at the end. The full record stays in the log file.

mmengine prints about 400 lines before the first iteration (the environment with a
1,500-character build-settings line, the whole config, the hook table). They belong in
the log file, where they are kept, and in ``tools/print_config.py``; on the terminal
they push the first progress line off the screen.
"""

from __future__ import annotations

import glob
import logging
import os.path as osp
import re

from ..records.run_files import RESULTS_FILE, read_results

#: Openings of mmengine's log messages that go to the log file only.
FILE_ONLY = (
    "\n" + "-" * 60 + "\nSystem environment:",  # Runner._log_env
    "Config:\n",  # Runner.__init__ dumps cfg.pretty_text
    "Hooks will be executed in the following order:",
    # LoggerHook's experiment name and CheckpointHook's folder: the overview names the
    # work dir and the log file.
    "Exp name: ",
    "Checkpoints will be saved to ",
)


#: mmengine's per-iteration lines of an evaluation (``Iter(val) [10/10]  eta: ...``):
#: the evaluation's progress bar says the same; its final line (the scores) stays.
_EVAL_ITERATION = re.compile(r"^Iter\((val|test)\) \[\s*\d+/\d+\]\s+eta: ")


class _FileOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith(FILE_ONLY) or _EVAL_ITERATION.match(message))


_FILTER = _FileOnly()

#: Openings of the validation's per-class table (evaluation/metric.py): during training
#: it goes to the log file only (a 24-line table per validation would push the iteration
#: lines away; the validation line keeps mIoU, mAcc and aAcc). tools/test.py shows it.
VALIDATION_TABLE = ("per class results:", "\n+")


class _ValidationTableInFile(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(VALIDATION_TABLE)


_TABLE_FILTER = _ValidationTableInFile()


def _terminal_handlers(logger: logging.Logger):
    # FileHandler is a StreamHandler too: only the terminal ones.
    return [
        h
        for h in logger.handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]


def keep_validation_tables_in_file(logger: logging.Logger) -> None:
    """During training: the per-class tables of validations in the log file only."""
    for handler in _terminal_handlers(logger):
        if _TABLE_FILTER not in handler.filters:
            handler.addFilter(_TABLE_FILTER)


def keep_console_short(logger: logging.Logger) -> None:
    """Keep mmengine's preamble off ``logger``'s terminal handlers (idempotent)."""
    for handler in _terminal_handlers(logger):
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


def _dataset_text(loop) -> str:
    dataset = getattr(getattr(loop, "dataloader", None), "dataset", None)
    if dataset is None:
        return "?"
    return f"{len(dataset)} images"


def run_overview(runner) -> str:
    """A few lines on the run about to start (model, data, schedule, device, files)."""
    import torch

    cfg = runner.cfg
    model = runner.model.module if hasattr(runner.model, "module") else runner.model
    backbone = cfg.model.get("backbone", {})
    heads = cfg.model.get("decode_head")
    heads = heads if isinstance(heads, list) else [heads] if heads else []
    params = sum(p.numel() for p in model.parameters())
    train_set = cfg.get("train_dataloader", {}).get("dataset", {})
    batch = cfg.get("train_dataloader", {}).get("batch_size")
    train_cfg = cfg.get("train_cfg", {})
    world = runner.world_size
    device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    amp = "AmpOptimWrapper" in str(cfg.get("optim_wrapper", {}).get("type", ""))
    memory = "channels_last" if cfg.get("channels_last") else "NCHW"
    val = _dataset_text(runner._val_loop) if runner._val_loop is not None else "no validation"
    lines = [
        f"Training {cfg.filename or 'a config'}",
        f"  model: {backbone.get('type')} {backbone.get('arch', '')} + "
        f"{' + '.join(h.get('type', '?') for h in heads)}, {params / 1e6:.2f} M parameters",
        f"  data: {train_set.get('type')} at {train_set.get('data_root')}: "
        f"{_dataset_text(runner._train_loop)} train, {val} val",
        f"  schedule: {train_cfg.get('max_iters')} iterations, batch {batch} x {world} "
        f"process(es), validation every {train_cfg.get('val_interval')}",
        f"  device: {device}, {memory}, {'bf16/fp16 autocast' if amp else 'fp32'}, "
        f"seed {runner.seed}",
        f"  work dir: {runner.work_dir}",
        f"  full log (config, environment, hooks): {log_file(runner)}",
    ]
    return "\n".join(lines)


def log_file(runner) -> str:
    return osp.join(runner.log_dir, f"{runner.timestamp}.log")


def wandb_run_dir(work_dir: str) -> str | None:
    """The newest W&B run folder under ``work_dir/wandb`` (online or offline), if any."""
    runs = glob.glob(osp.join(glob.escape(work_dir), "wandb", "*run-*"))
    runs = [r for r in runs if osp.isdir(r) and not osp.islink(r)]
    return max(runs, key=osp.getmtime) if runs else None


def final_summary(
    work_dir: str, *, results: dict | None, checkpoint: str | None, log: str | None = None
) -> str:
    """Where everything went, after training or testing: the score, the result file, the
    checkpoint, the log and the W&B run (with the command that uploads an offline one)."""
    lines = []
    if results and results.get("mIoU") is not None:
        scores = "  ".join(
            f"{key} {results[key]:.2f}"
            for key in ("mIoU", "mAcc", "aAcc")
            if isinstance(results.get(key), int | float)
        )
        lines.append(f"Done: {scores}")
    else:
        lines.append("Done (no validation score was recorded)")
    result_file = osp.join(work_dir, RESULTS_FILE)
    if osp.isfile(result_file):
        lines.append(f"  results:    {result_file}")
    if checkpoint:
        lines.append(f"  checkpoint: {checkpoint}")
    if log:
        lines.append(f"  log:        {log}")
    run = wandb_run_dir(work_dir)
    if run is not None:
        offline = osp.basename(run).startswith("offline-")
        lines.append(f"  W&B run:    {run}" + (" (offline)" if offline else ""))
        if offline:
            lines.append(f"  upload it:  wandb sync {run}")
    return "\n".join(lines)


def run_summary(runner, *, checkpoint: str | None = None) -> str:
    """:func:`final_summary` of a finished ``runner``: the score from its ``results.json``;
    the checkpoint it evaluated (test) or its newest one (training)."""
    from .checkpoint import find_latest_checkpoint

    return final_summary(
        runner.work_dir,
        results=read_results(runner.work_dir),
        checkpoint=checkpoint or find_latest_checkpoint(runner.work_dir),
        log=log_file(runner),
    )
