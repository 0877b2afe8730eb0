"""The built-in data generator: official layouts, class coverage, labels equal to
cityscapesscripts' rendering of the polygons, determinism, and mmseg reading it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hrnet_seg.datasets.identity import BUILTIN_MARKER, builtin_manifest, data_kind
from hrnet_seg.datasets.synthetic import make_ade20k, make_cityscapes
from tests.conftest import REPO, run_python

CS_SPLITS = {"train": 6, "val": 3}
ADE_SPLITS = {"training": 12, "validation": 10}
ADE_SIZE = (64, 64)
# Reads an image and its labels as they are; LoadAnnotations takes reduce_zero_label from
# the dataset.
READ_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="PackSegInputs"),
]


@pytest.fixture(scope="module")
def cityscapes(tmp_path_factory) -> Path:
    return make_cityscapes(tmp_path_factory.mktemp("cs") / "cityscapes", splits=CS_SPLITS)


@pytest.fixture(scope="module")
def ade20k(tmp_path_factory) -> Path:
    return make_ade20k(tmp_path_factory.mktemp("ade") / "ade", splits=ADE_SPLITS, size=ADE_SIZE)


def _files(root: Path) -> dict[str, bytes]:
    """The dataset's files (the built-in marker has its own tests)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != BUILTIN_MARKER
    }


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


# ---------------------------------------------------------------- Cityscapes


def test_cityscapes_layout_and_names(cityscapes):
    expected = set()
    cities = {"train": ["aachen", "bochum", "bremen", "cologne", "darmstadt"]}
    cities["val"] = ["frankfurt", "lindau", "munster"]
    for split, count in CS_SPLITS.items():
        for i in range(count):
            city = cities[split][i % len(cities[split])]
            stem = f"{city}_{i // len(cities[split]):06d}_000019"
            expected.add(f"leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png")
            for suffix in ("polygons.json", "labelIds.png", "labelTrainIds.png"):
                expected.add(f"gtFine/{split}/{city}/{stem}_gtFine_{suffix}")
            for suffix in ("instanceIds.png", "color.png"):
                expected.add(f"gtFine/{split}/{city}/{stem}_gtFine_{suffix}")
    assert set(_files(cityscapes)) == expected
    assert "gtFine/train/aachen/aachen_000001_000019_gtFine_labelIds.png" in expected


def test_cityscapes_file_formats(cityscapes):
    image = Image.open(next(cityscapes.glob("leftImg8bit/val/*/*.png")))
    assert (image.mode, image.size) == ("RGB", (256, 128))
    gt = next(cityscapes.glob("gtFine/val/*/*_gtFine_polygons.json"))
    stem = str(gt)[: -len("_polygons.json")]
    assert Image.open(f"{stem}_labelIds.png").mode == "L"
    assert Image.open(f"{stem}_labelTrainIds.png").mode == "L"
    assert Image.open(f"{stem}_color.png").mode == "RGBA"  # as the official files
    assert _read(Path(f"{stem}_instanceIds.png")).dtype == np.uint16
    polygons = json.loads(gt.read_text())
    assert (polygons["imgHeight"], polygons["imgWidth"]) == (128, 256)
    assert all(set(obj) == {"label", "polygon"} for obj in polygons["objects"])
    assert all(len(point) == 2 for obj in polygons["objects"] for point in obj["polygon"])


def test_every_cityscapes_image_has_all_19_classes_and_ignored_pixels(cityscapes):
    paths = sorted(cityscapes.glob("gtFine/*/*/*_gtFine_labelTrainIds.png"))
    assert len(paths) == sum(CS_SPLITS.values())
    for path in paths:
        counts = np.bincount(_read(path).ravel(), minlength=256)
        assert (counts[:19] >= 100).all(), (path.name, counts[:19])
        assert counts[255] > 0  # ego vehicle, unlabeled corners, 'dynamic'
        assert counts[19:255].sum() == 0


def test_cityscapes_labels_are_what_cityscapesscripts_renders(cityscapes, tmp_path):
    from cityscapesscripts.helpers.annotation import Annotation
    from cityscapesscripts.helpers.labels import name2label
    from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
    from cityscapesscripts.preparation.json2labelImg import json2labelImg

    for gt in sorted(cityscapes.glob("gtFine/*/*/*_gtFine_polygons.json")):
        stem = str(gt)[: -len("_polygons.json")]
        for encoding, suffix in (
            ("ids", "labelIds"),
            ("trainIds", "labelTrainIds"),
            ("color", "color"),
        ):
            json2labelImg(str(gt), str(tmp_path / "official.png"), encoding)
            official = (tmp_path / "official.png").read_bytes()
            assert Path(f"{stem}_{suffix}.png").read_bytes() == official, (gt.name, encoding)
        # json2instanceImg renders with createInstanceImage but cannot save mode "I"
        # with current Pillow: compare with its rendering.
        annotation = Annotation()
        annotation.fromJsonFile(str(gt))
        official = np.asarray(createInstanceImage(annotation, "ids"))
        instances = _read(Path(f"{stem}_instanceIds.png"))
        np.testing.assert_array_equal(instances, official)
        # The official encoding: id * 1000 + k for each instance, plain ids for stuff.
        labels = {obj["label"] for obj in json.loads(gt.read_text())["objects"]}
        cars = np.unique(instances[instances // 1000 == name2label["car"].id])
        assert cars[0] == 26000 and len(cars) == sum(o.label == "car" for o in annotation.objects)
        assert name2label["road"].id in instances and "road" in labels


def test_cityscapes_is_deterministic(tmp_path):
    def make(name, seed):
        return _files(make_cityscapes(tmp_path / name, splits={"val": 2}, seed=seed))

    first = make("a", 0)
    assert make("b", 0) == first
    assert make("a", 0) == first  # regenerating in place is allowed and identical
    other = make("c", 1)
    assert other.keys() == first.keys()
    assert all(other[name] != first[name] for name in first if name.endswith("leftImg8bit.png"))


def test_growing_a_split_keeps_its_first_images(tmp_path):
    small = _files(make_cityscapes(tmp_path / "small", splits={"val": 2}))
    large = _files(make_cityscapes(tmp_path / "large", splits={"val": 4}))
    assert all(large[name] == data for name, data in small.items())


def test_cityscapes_other_sizes(tmp_path):
    root = make_cityscapes(tmp_path / "cs", splits={"test": 1}, size=(64, 128), seed=3)
    (path,) = root.glob("gtFine/test/berlin/*_labelTrainIds.png")
    assert _read(path).shape == (64, 128)
    assert set(range(19)) <= set(np.unique(_read(path)).tolist())


def test_mmseg_cityscapes_dataset_reads_it(cityscapes):
    from mmengine.registry import init_default_scope
    from mmseg.datasets import CityscapesDataset

    init_default_scope("mmseg")
    for split, count in CS_SPLITS.items():
        dataset = CityscapesDataset(
            data_root=str(cityscapes),
            data_prefix=dict(img_path=f"leftImg8bit/{split}", seg_map_path=f"gtFine/{split}"),
            pipeline=READ_PIPELINE,
        )
        assert len(dataset) == count
    sample = dataset[0]
    assert tuple(sample["inputs"].shape) == (3, 128, 256)
    labels = set(sample["data_samples"].gt_sem_seg.data.unique().tolist())
    assert labels == {*range(19), 255}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(splits={}), "non-empty mapping"),
        (dict(splits={"training": 2}), "unknown split 'training'"),
        (dict(splits={"val": 0}), "positive int"),
        (dict(splits={"val": 1.5}), "positive int"),
        (dict(size=(32, 64)), "at least 64x128"),
        (dict(size=128), r"\(height, width\)"),
        (dict(seed=-1), "non-negative int"),
    ],
)
def test_cityscapes_rejects_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_cityscapes(tmp_path / "cs", **kwargs)
    assert not (tmp_path / "cs").exists()


def test_generated_roots_are_marked_built_in(cityscapes, ade20k, tmp_path):
    assert data_kind(cityscapes) == data_kind(ade20k) == "built-in"
    manifest = json.loads((cityscapes / BUILTIN_MARKER).read_text())
    assert manifest["generator"] == "hrnet_seg.datasets.synthetic"
    assert (manifest["dataset"], manifest["splits"], manifest["size"]) == (
        "cityscapes",
        CS_SPLITS,
        [128, 256],
    )
    assert builtin_manifest(ade20k)["splits"] == ADE_SPLITS
    # A root without the marker is real data; no root is unknown.
    (tmp_path / "real").mkdir()
    assert (data_kind(tmp_path / "real"), data_kind(None)) == ("real", None)


def test_marker_rules(tmp_path):
    root = make_cityscapes(tmp_path / "cs", splits={"val": 1}, size=(64, 128))
    make_cityscapes(root, splits={"test": 1}, size=(64, 128))
    assert builtin_manifest(root)["splits"] == {"val": 1, "test": 1}  # earlier splits stay
    # A damaged marker never makes synthetic data "real".
    (root / BUILTIN_MARKER).write_text("{not json")
    assert (builtin_manifest(root), data_kind(root)) == ({}, "built-in")


def test_refuses_to_mix_with_other_files(tmp_path):
    stray = (
        tmp_path / "gtFine" / "val" / "frankfurt" / "frankfurt_000099_000019_gtFine_labelIds.png"
    )
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"")
    with pytest.raises(ValueError, match="would not write"):
        make_cityscapes(tmp_path, splits={"val": 1})
    assert stray.exists()
    assert data_kind(tmp_path) == "real"  # nothing was generated: no marker


# ---------------------------------------------------------------- ADE20K


def test_ade20k_layout_and_formats(ade20k):
    expected = set()
    for split, prefix in (("training", "ADE_train"), ("validation", "ADE_val")):
        for i in range(1, ADE_SPLITS[split] + 1):
            expected |= {
                f"images/{split}/{prefix}_{i:08d}.jpg",
                f"annotations/{split}/{prefix}_{i:08d}.png",
            }
    assert set(_files(ade20k)) == expected
    image = Image.open(ade20k / "images/validation/ADE_val_00000001.jpg")
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (64, 64))
    annotation = Image.open(ade20k / "annotations/validation/ADE_val_00000001.png")
    assert (annotation.mode, annotation.size) == ("L", (64, 64))


@pytest.mark.parametrize("split", ADE_SPLITS)
def test_every_ade20k_split_has_all_150_classes(ade20k, split):
    present = set()
    for path in (ade20k / "annotations" / split).glob("*.png"):
        present |= set(np.unique(_read(path)).tolist())
    assert present == set(range(151))  # 0 ("other") and all 150 classes


def test_ade20k_tiny_split_still_covers_all_classes(tmp_path):
    root = make_ade20k(tmp_path, splits={"validation": 1}, size=(64, 64))
    assert set(
        np.unique(_read(root / "annotations/validation/ADE_val_00000001.png")).tolist()
    ) >= set(range(1, 151))


def test_ade20k_is_deterministic(tmp_path):
    def make(name, seed):
        return _files(
            make_ade20k(tmp_path / name, splits={"validation": 2}, size=ADE_SIZE, seed=seed)
        )

    first = make("a", 0)
    assert make("b", 0) == first
    assert make("c", 1) != first


def test_mmseg_ade20k_dataset_reads_it(ade20k):
    from mmengine.registry import init_default_scope
    from mmseg.datasets import ADE20KDataset

    init_default_scope("mmseg")
    for split, count in ADE_SPLITS.items():
        dataset = ADE20KDataset(
            data_root=str(ade20k),
            data_prefix=dict(img_path=f"images/{split}", seg_map_path=f"annotations/{split}"),
            reduce_zero_label=True,
            pipeline=READ_PIPELINE,
        )
        assert len(dataset) == count
    sample = dataset[0]
    assert tuple(sample["inputs"].shape) == (3, 64, 64)
    labels = sample["data_samples"].gt_sem_seg.data
    assert 255 in labels  # "other" (0) became ignored
    assert int(labels[labels != 255].max()) <= 149


def test_ade20k_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown split 'val'"):
        make_ade20k(tmp_path, splits={"val": 2})
    with pytest.raises(ValueError, match="at least 64x64"):
        make_ade20k(tmp_path, size=(32, 32))


# ---------------------------------------------------------------- tools/make_demo_data.py


def _tool():
    spec = importlib.util.spec_from_file_location(
        "make_demo_data", REPO / "tools/make_demo_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_demo_data_cli(tmp_path):
    result = run_python(
        "tools/make_demo_data.py",
        *("--dataset", "ade20k", "--out", str(tmp_path / "ade")),
        *("--num-train", "2", "--num-val", "3", "--size", "64", "80", "--seed", "1"),
    )
    assert result.returncode == 0, result.stderr
    assert "2 training, 3 validation" in result.stdout and str(tmp_path / "ade") in result.stdout
    assert f"marked as built-in data: {tmp_path / 'ade' / BUILTIN_MARKER}" in result.stdout
    assert len(list((tmp_path / "ade/images/validation").glob("*.jpg"))) == 3
    assert Image.open(tmp_path / "ade/images/training/ADE_train_00000002.jpg").size == (80, 64)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "kitti", "--out", "{out}"], "invalid choice: 'kitti'"),
        (["--dataset", "cityscapes"], "required: --out"),
        (["--dataset", "ade20k", "--out", "{out}", "--num-train", "x"], "invalid int value: 'x'"),
        (["--dataset", "cityscapes", "--out", "{out}", "--num-val", "0"], "must be a positive int"),
        (["--dataset", "cityscapes", "--out", "{out}", "--size", "16", "16"], "at least 64x128"),
    ],
)
def test_make_demo_data_bad_arguments(tmp_path, capsys, args, message):
    """One `error: ...` line and exit status 2, whether argparse or the generator
    rejects the arguments."""
    argv = [arg.format(out=tmp_path / "out") for arg in args]
    try:
        code = _tool().main(argv)
    except SystemExit as exc:  # argparse exits from parse_args
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()
