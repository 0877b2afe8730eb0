"""Progress that reads well on a terminal and in a log file.

mmengine's ``ProgressBar`` redraws one line with carriage returns: on a terminal that is
a bar, but piped into a file (``tools/test.py ... | tee log``, a Slurm output file) it
becomes one line of hundreds of characters. Here a terminal gets mmengine's bar and
anything else gets a plain line now and then: at every tenth of the work, at most one
per ``every_s`` seconds otherwise, and at the end.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from mmengine.utils import ProgressBar


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """``Progress(total, what="images")``; ``update()`` per item; ``close()`` at the end."""

    def __init__(
        self, total: int, *, what: str = "images", file: TextIO | None = None, every_s: float = 30
    ) -> None:
        if total < 0:
            raise ValueError(f"total must be >= 0, got {total}")
        self.total, self.what, self.every_s = total, what, every_s
        self.file = file if file is not None else sys.stdout
        self.done = 0
        self._start = time.monotonic()
        self._last_line = self._start
        self._next_tenth = 1
        self._bar = ProgressBar(total, file=self.file) if _is_terminal(self.file) else None

    def update(self, count: int = 1) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
            return
        now = time.monotonic()
        tenth = 10 * self.done // self.total if self.total else 0
        if tenth >= self._next_tenth or now - self._last_line >= self.every_s:
            self._next_tenth = tenth + 1
            self._last_line = now
            self._line(now)

    def _line(self, now: float) -> None:
        elapsed = now - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        text = f"{self.done}/{self.total} {self.what}" if self.total else f"{self.done} {self.what}"
        if self.total and rate > 0 and self.done < self.total:
            text += f", ETA {int((self.total - self.done) / rate + 0.5)}s"
        self.file.write(f"  {text} ({rate:.1f}/s, {int(elapsed + 0.5)}s)\n")
        self.file.flush()

    def close(self) -> None:
        """End the bar's line (terminal) or say where it stopped (elsewhere, once)."""
        if self._bar is not None:
            self.file.write("\n")
        elif self.done and self._next_tenth <= 10:
            self._line(time.monotonic())
        self.file.flush()
