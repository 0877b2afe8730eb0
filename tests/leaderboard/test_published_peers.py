"""The peers' published rows (issue 14) are the figures of the installed mmseg's own
metafiles (site-packages/mmseg/.mim/configs/<family>/metafile.yaml)."""

from __future__ import annotations

from pathlib import Path

import mmseg
import pytest
import yaml

from hrnet_seg.leaderboard.rows import reference_rows

CONFIGS = Path(mmseg.__file__).parent / ".mim" / "configs"
PEERS = ("pidnet", "ddrnet", "segformer", "deeplabv3plus", "mask2former")


def metafile_models(family: str) -> list[dict]:
    return yaml.safe_load((CONFIGS / family / "metafile.yaml").read_text())["Models"]


def peer_rows():
    return [r for r in reference_rows() if r.link.rsplit("/", 1)[-1] in PEERS]


def test_every_peer_family_has_rows():
    assert {r.link.rsplit("/", 1)[-1] for r in peer_rows()} == set(PEERS)


@pytest.mark.parametrize("row", peer_rows(), ids=lambda r: f"{r.model}-{r.iterations}")
def test_peer_row_is_mmsegs_metafile(row):
    family = row.link.rsplit("/", 1)[-1]
    schedule = f"-{row.iterations // 1000}k"
    # mmseg's names: <model>_<gpus>x<batch>-<schedule>_cityscapes-<crop> (or crop first)
    matches = [
        m for m in metafile_models(family)
        if m["Name"].startswith(row.model + "_") and schedule in m["Name"]
        and row.crop in m["Name"] and "cityscapes" in m["Name"]
    ]  # fmt: skip
    assert len(matches) == 1, [m["Name"] for m in matches]
    meta = matches[0]
    metrics = meta["Results"]["Metrics"]
    assert row.mIoU == metrics["mIoU"]
    assert row.mIoU_ms_flip == metrics.get("mIoU(ms+flip)")
    assert row.batch == meta["Metadata"]["Batch Size"]
    gpus, kind = meta["Metadata"]["Training Resources"].split()[:2]
    assert row.gpus == f"{gpus} {kind}"
