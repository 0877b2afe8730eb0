"""One list of datasets: a dataset config's type maps to its format by class, not by a
substring of its name, and a step that needs a format refuses an unknown type."""

import pytest
from mmseg.datasets import BaseSegDataset, CityscapesDataset
from mmseg.registry import DATASETS as REGISTRY

from hrnet_seg.datasets import CheckedADE20KDataset, CheckedCityscapesDataset
from hrnet_seg.datasets.formats import (
    ADE20K,
    CITYSCAPES,
    DATASETS,
    FORMATS,
    format_of,
    require_format,
)
from hrnet_seg.engine.config import ConfigValueError, configure_test, load_config
from hrnet_seg.errors import UserError
from tests.conftest import REPO


class StreetsDataset(CityscapesDataset):
    """A user's Cityscapes variant: reads the Cityscapes layout."""


class FoggyCityscapesDataset(BaseSegDataset):
    """Cityscapes in the name, another layout."""


class ShadeDataset(BaseSegDataset):
    """ade in the name: the old rule called it ADE20K."""


@pytest.fixture
def registered():
    """StreetsDataset registered under its name, for as long as the test runs."""
    REGISTRY.register_module(module=StreetsDataset, force=True)
    yield
    REGISTRY.module_dict.pop("StreetsDataset")


@pytest.mark.parametrize(
    ("dataset_type", "expected"),
    [
        ("CityscapesDataset", CITYSCAPES),
        ("CheckedCityscapesDataset", CITYSCAPES),
        ("cityscapes", CITYSCAPES),
        ("ADE20K", ADE20K),
        ("ADE20KDataset", ADE20K),
        ("CheckedADE20KDataset", ADE20K),
        (CheckedCityscapesDataset, CITYSCAPES),
        (CheckedADE20KDataset, ADE20K),
        (StreetsDataset, CITYSCAPES),  # a subclass reads its base's layout
        (FoggyCityscapesDataset, None),
        (ShadeDataset, None),
        ("PascalVOCDataset", None),  # registered in mmseg, no known format
        ("NoSuchDataset", None),
        ("", None),
        (None, None),
    ],
)
def test_format_of(dataset_type, expected):
    assert format_of(dataset_type) is expected


def test_a_registered_subclass_by_name(registered):
    assert format_of("StreetsDataset") is CITYSCAPES


def test_one_list():
    assert DATASETS == ("cityscapes", "ade20k") == tuple(FORMATS)
    assert [f.key for f in FORMATS.values()] == list(DATASETS)
    assert (CITYSCAPES.num_classes, ADE20K.num_classes) == (
        len(CheckedCityscapesDataset.METAINFO["classes"]),
        len(CheckedADE20KDataset.METAINFO["classes"]),
    )


def test_require_format_names_the_key_and_the_known_types():
    assert require_format(CheckedADE20KDataset, key="k", needed_for="x") is ADE20K
    with pytest.raises(ConfigValueError) as info:
        require_format("PascalVOCDataset", key="test_dataloader.dataset.type", needed_for="--out")
    assert isinstance(info.value, UserError)
    assert str(info.value) == (
        "test_dataloader.dataset.type is 'PascalVOCDataset', which has no known dataset "
        "format, and --out needs one. Known types (and their subclasses): Cityscapes: "
        "CityscapesDataset, CheckedCityscapesDataset; ADE20K: ADE20KDataset, "
        "CheckedADE20KDataset."
    )


def _test_cfg(dataset_type):
    cfg = load_config(str(REPO / "configs/demo/hrnet_w18s_demo_cityscapes.py"))
    cfg.test_dataloader.dataset.type = dataset_type
    return cfg


def _writer(cfg):
    return next(h for h in cfg.custom_hooks if h["type"] == "PredictionWriterHook")


@pytest.mark.parametrize(
    ("dataset_type", "expected"),
    [("CheckedCityscapesDataset", "cityscapes"), ("CheckedADE20KDataset", "ade20k")],
)
def test_out_writes_the_datasets_format(dataset_type, expected, tmp_path):
    cfg = configure_test(_test_cfg(dataset_type), checkpoint="c.pth", out_dir=str(tmp_path))
    assert _writer(cfg)["dataset_format"] == expected


def test_out_on_an_unknown_dataset_is_refused(tmp_path):
    """Before: "cityscapes" for any type without "ade" in its name."""
    with pytest.raises(ConfigValueError, match=r"^test_dataloader\.dataset\.type is 'Pascal"):
        configure_test(_test_cfg("PascalVOCDataset"), checkpoint="c.pth", out_dir=str(tmp_path))
    # Pictures need no format.
    cfg = configure_test(_test_cfg("PascalVOCDataset"), checkpoint="c.pth", show_dir="s")
    assert _writer(cfg)["dataset_format"] is None


def test_the_writer_hook_needs_a_format_for_out_only(tmp_path):
    from hrnet_seg.engine.hooks import PredictionWriterHook

    with pytest.raises(ValueError, match="dataset_format: expected one of"):
        PredictionWriterHook(out_dir=str(tmp_path / "out"))
    with pytest.raises(ValueError, match="dataset_format: expected one of"):
        PredictionWriterHook(dataset_format="pascalvoc", show_dir=str(tmp_path / "show"))
    assert PredictionWriterHook(show_dir=str(tmp_path / "show")).dataset_format is None
