"""Where the data is: ``--data-root``, else ``$HRNET_SEG_DATA``, else the config."""

from __future__ import annotations

import os

from .formats import format_of

ENV_VAR = "HRNET_SEG_DATA"
_LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


def apply_data_root(cfg, *, cli_root: str | None = None) -> str | None:
    """Set ``data_root`` of every dataloader's dataset; return the root used, or None
    when the config's own ``data_root`` stays.

    ``cli_root`` is the dataset root itself; ``$HRNET_SEG_DATA`` is the folder that
    holds each known dataset's folder (``cityscapes/``, ``ade/ADEChallengeData2016/``:
    :attr:`~.formats.DatasetFormat.data_subdir`, like mmseg's ``data/``); a dataset of
    another type keeps its config's root.
    """
    env_root = os.environ.get(ENV_VAR)
    if not cli_root and not env_root:
        return None
    used = None
    for name in _LOADERS:
        loader = cfg.get(name)
        dataset = loader.get("dataset") if loader else None
        if not dataset:
            continue
        if cli_root:
            root = cli_root
        else:
            fmt = format_of(dataset.get("type"))
            if fmt is None:
                continue
            root = os.path.join(env_root, fmt.data_subdir)
        dataset["data_root"] = root
        used = root
    return used
