"""Progress of validation and test, which mmengine logs only every N images: a bar on a
terminal, plain lines in a log file (``utils/progress.py``)."""

from __future__ import annotations

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...utils.progress import Progress


@HOOKS.register_module()
class EvalProgressHook(Hook):
    """Rank 0 shows ``[>>>>   ] 120/500, 14.2 task/s, elapsed: 8s, ETA: 27s`` on a
    terminal, and ``50/500 images, ETA 27s (14.2/s, 4s)`` at every tenth elsewhere."""

    priority = "VERY_LOW"

    def __init__(self) -> None:
        self._bar: Progress | None = None

    def _start(self, runner, loader) -> None:
        self._bar = Progress(len(loader), what="images") if is_main_process() else None

    def _step(self) -> None:
        if self._bar is not None:
            self._bar.update()

    def _finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar = None

    def before_val_epoch(self, runner) -> None:
        self._start(runner, runner.val_dataloader)

    def before_test_epoch(self, runner) -> None:
        self._start(runner, runner.test_dataloader)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._step()

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._step()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()
