"""Files that survive a kill: written to ``<name>.tmp``, flushed to disk, then renamed.
On POSIX the rename is atomic, so the file is either complete or absent."""

from __future__ import annotations

import os

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
