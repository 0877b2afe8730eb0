"""Checkpoint files that survive a kill: atomic writes and a robust "latest" lookup.

mmengine writes ``iter_N.pth`` in place; a job killed (preempted, out of time, OOM)
during the write leaves a truncated file that the next resume trips over. Here a
checkpoint is written to ``<name>.tmp``, flushed to disk, then renamed: on POSIX the
rename is atomic, so ``iter_N.pth`` is either complete or absent.
"""

from __future__ import annotations

import glob
import os
import re

_ITER_CKPT = re.compile(r"^iter_(\d+)\.pth$")
TMP_SUFFIX = ".tmp"


def fsync_and_replace(tmp_path: str, final_path: str) -> None:
    """Flush ``tmp_path`` to disk and atomically move it to ``final_path``."""
    with open(tmp_path, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp_path, final_path)
    try:  # make the rename itself durable
        fd = os.open(os.path.dirname(os.path.abspath(final_path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomic(path: str, text: str) -> None:
    tmp = path + TMP_SUFFIX
    with open(tmp, "w") as f:
        f.write(text)
    fsync_and_replace(tmp, path)


def find_latest_checkpoint(work_dir: str) -> str | None:
    """The complete ``iter_N.pth`` with the largest N in ``work_dir``, or None.

    Only renamed (hence complete) files match; leftover ``*.tmp`` files of an
    interrupted save are ignored. mmengine's ``last_checkpoint`` pointer is not
    trusted: it is written non-atomically after the checkpoint.
    """
    best: tuple[int, str] | None = None
    for path in glob.glob(os.path.join(glob.escape(work_dir), "iter_*.pth")):
        match = _ITER_CKPT.match(os.path.basename(path))
        if match and (best is None or int(match.group(1)) > best[0]):
            best = (int(match.group(1)), path)
    return best[1] if best else None


def remove_stale_temporaries(work_dir: str) -> list[str]:
    """Delete ``*.pth.tmp`` files left by a save that was killed."""
    stale = glob.glob(os.path.join(glob.escape(work_dir), f"*.pth{TMP_SUFFIX}"))
    for path in stale:
        os.remove(path)
    return stale
