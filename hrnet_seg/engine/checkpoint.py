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

from ..utils.atomic import TMP_SUFFIX, fsync_and_replace, write_text_atomic

__all__ = [
    "TMP_SUFFIX",
    "checkpoints_newest_first",
    "fsync_and_replace",
    "load_segmentor_weights",
    "write_text_atomic",
]

_ITER_CKPT = re.compile(r"^iter_(\d+)\.pth$")


def checkpoints_newest_first(work_dir: str) -> list[str]:
    """Every renamed (hence once complete) ``iter_N.pth`` in ``work_dir``, largest N first.

    Leftover ``*.tmp`` files of an interrupted save are ignored. mmengine's
    ``last_checkpoint`` pointer is not trusted: it is written non-atomically after the
    checkpoint.
    """
    found = []
    for path in glob.glob(os.path.join(glob.escape(work_dir), "iter_*.pth")):
        match = _ITER_CKPT.match(os.path.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found, reverse=True)]


def find_latest_checkpoint(work_dir: str) -> str | None:
    """The ``iter_N.pth`` with the largest N in ``work_dir``, or None."""
    found = checkpoints_newest_first(work_dir)
    return found[0] if found else None


def remove_stale_temporaries(work_dir: str) -> list[str]:
    """Delete ``*.pth.tmp`` files left by a save that was killed."""
    stale = glob.glob(os.path.join(glob.escape(work_dir), f"*.pth{TMP_SUFFIX}"))
    for path in stale:
        os.remove(path)
    return stale


def load_segmentor_weights(
    model, checkpoint, *, path: str, strict: bool = True, revise_keys=None
) -> dict:
    """Put a checkpoint read by :func:`hrnet_seg.utils.torch_load.load_checkpoint_file`
    into a segmentor: the one rule of ``tools/test.py``, ``tools/train.py --load-from``
    and the deploy path (:mod:`hrnet_seg.deploy`).

    Every key must match the model (a wrong width, head or class count is named, with the
    fix); ``module.`` prefixes of DDP-saved files are dropped. Returns the checkpoint.
    """
    from mmengine.runner.checkpoint import _load_checkpoint_to_model

    from ..models.pretrained import warn_if_fusion_differs
    from ..utils.state_dict import StateDictDiff

    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else {}
    state = {k.removeprefix("module."): v for k, v in state.items()}
    warn_if_fusion_differs(model, checkpoint, layout="mmseg", path=path)
    diff = StateDictDiff.compare(model.state_dict(), state)
    if not diff.fits(strict=True):
        raise diff.error(
            f"Checkpoint {path!r} does not match the model of this config:",
            "Use the config the checkpoint was trained with (same backbone width, head "
            "and number of classes); for official HRNet segmentation checkpoints run "
            "tools/convert_checkpoint.py first.",
        )
    return _load_checkpoint_to_model(
        model, checkpoint, strict, revise_keys=revise_keys or [(r"^module.", "")]
    )
