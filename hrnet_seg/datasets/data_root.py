"""Where the data is: ``--data-root``, else ``$HRNET_SEG_DATA``, else the config."""

from __future__ import annotations

import os

ENV_VAR = "HRNET_SEG_DATA"
#: Folder of each dataset under $HRNET_SEG_DATA (mmseg's layout under data/).
SUBDIRS = {
    "Cityscapes": "cityscapes",
    "ADE20K": os.path.join("ade", "ADEChallengeData2016"),
}
_LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


def _family(dataset_type: str) -> str | None:
    for family in SUBDIRS:
        if family.lower() in dataset_type.lower():
            return family
    return None


def apply_data_root(cfg, *, cli_root: str | None = None) -> str | None:
    """Set ``data_root`` of every dataloader's dataset; return the root used, or None
    when the config's own ``data_root`` stays.

    ``cli_root`` is the dataset root itself; ``$HRNET_SEG_DATA`` is the folder that
    holds ``cityscapes/`` and ``ade/ADEChallengeData2016/`` (like mmseg's ``data/``).
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
            family = _family(str(dataset.get("type", "")))
            if family is None:
                continue
            root = os.path.join(env_root, SUBDIRS[family])
        dataset["data_root"] = root
        used = root
    return used
