"""tools/convert_cityscapes.py and hrnet_seg.datasets.cityscapes_convert: trainIds equal
to cityscapesscripts' (and the generator's), the labelIds fallback, clear errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from hrnet_seg.datasets.cityscapes_convert import (
    CityscapesDataNotFound,
    CityscapesScriptsMissing,
    convert_cityscapes,
    label_ids_to_train_ids,
    require_cityscapesscripts,
)
from hrnet_seg.datasets.synthetic import make_cityscapes
from tests.conftest import run_python

SPLITS = {"train": 4, "val": 3}


@pytest.fixture
def cityscapes(tmp_path):
    return make_cityscapes(tmp_path / "cityscapes", splits=SPLITS, size=(64, 128))


def _train_ids(root):
    return {p: p.read_bytes() for p in sorted(root.glob("gtFine/*/*/*_gtFine_labelTrainIds.png"))}


def test_cli_recreates_the_train_ids_in_parallel(cityscapes, tmp_path):
    generated = _train_ids(cityscapes)
    assert len(generated) == sum(SPLITS.values())
    for path in generated:
        path.unlink()

    result = run_python(
        "tools/convert_cityscapes.py",
        str(cityscapes),
        "--nproc",
        "2",
        "--out-dir",
        str(tmp_path / "lists"),
    )

    assert result.returncode == 0, result.stderr
    assert _train_ids(cityscapes) == generated
    assert f"{sum(SPLITS.values())}/{sum(SPLITS.values())}" in result.stdout  # the progress bar
    assert "7 trainIds images from polygons" in result.stdout
    val = (tmp_path / "lists" / "val.txt").read_text().splitlines()
    assert val == [
        "frankfurt/frankfurt_000000_000019",
        "lindau/lindau_000000_000019",
        "munster/munster_000000_000019",
    ]
    assert len((tmp_path / "lists" / "train.txt").read_text().splitlines()) == SPLITS["train"]


def test_label_ids_stand_in_for_missing_polygons(cityscapes, capsys):
    generated = _train_ids(cityscapes)
    for path in generated:
        path.unlink()
    dropped = sorted(cityscapes.glob("gtFine/val/*/*_gtFine_polygons.json"))
    for path in dropped:
        path.unlink()

    summary = convert_cityscapes(cityscapes, nproc=1)

    assert (summary.from_polygons, summary.from_label_ids) == (SPLITS["train"], SPLITS["val"])
    for path, data in generated.items():
        assert path.read_bytes() == data, path.name
    assert sorted(p.name for p in cityscapes.glob("*.txt")) == ["train.txt", "val.txt"]


def test_label_ids_to_train_ids_follows_the_official_table():
    from cityscapesscripts.helpers.labels import labels

    ids = np.arange(256, dtype=np.uint8)
    train_ids = label_ids_to_train_ids(ids)
    expected = np.full(256, 255, dtype=np.uint8)
    for label in labels:
        if label.id >= 0 and label.trainId not in (-1, 255):
            expected[label.id] = label.trainId
    np.testing.assert_array_equal(train_ids, expected)
    assert train_ids[7] == 0 and train_ids[33] == 18 and train_ids[0] == 255  # road, bicycle
    with pytest.raises(ValueError, match="uint8"):
        label_ids_to_train_ids(ids.astype(np.int32))


def test_cli_without_data_says_where_data_comes_from(tmp_path):
    result = run_python("tools/convert_cityscapes.py", str(tmp_path))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    message = result.stderr
    assert message.startswith("error: ") and str(tmp_path) in message
    assert "gtFine/<split>/<city>/*_gtFine_polygons.json" in message
    assert "gtFine_trainvaltest.zip" in message and "leftImg8bit_trainvaltest.zip" in message
    assert "registration required" in message
    assert (
        "python tools/make_demo_data.py --dataset cityscapes --out data/demo/cityscapes" in message
    )


def test_an_empty_gtfine_folder_is_missing_data(tmp_path):
    (tmp_path / "gtFine" / "val" / "lindau").mkdir(parents=True)
    with pytest.raises(CityscapesDataNotFound, match="holds no \\*_gtFine_polygons.json"):
        convert_cityscapes(tmp_path)
    with pytest.raises(FileNotFoundError):  # library callers can catch the builtin
        convert_cityscapes(tmp_path / "nowhere")


@pytest.mark.parametrize("nproc", [0, -2, 1.5, True])
def test_bad_nproc(cityscapes, nproc):
    with pytest.raises(ValueError, match="nproc must be a positive int"):
        convert_cityscapes(cityscapes, nproc=nproc)


def test_missing_cityscapesscripts_names_the_install_command(monkeypatch):
    for name in [name for name in sys.modules if name.startswith("cityscapesscripts")]:
        monkeypatch.setitem(sys.modules, name, None)  # makes the import fail
    monkeypatch.setitem(sys.modules, "cityscapesscripts", None)
    with pytest.raises(CityscapesScriptsMissing, match="pip install cityscapesscripts") as info:
        require_cityscapesscripts()
    assert isinstance(info.value, ImportError)
    with pytest.raises(CityscapesScriptsMissing):
        make_cityscapes("unused", splits={"val": 1})
