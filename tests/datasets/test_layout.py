import pytest

from hrnet_seg.datasets import ADE20K, CITYSCAPES, DatasetLayoutError, check_split


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def cityscapes(root, frames=("aachen_000000_000019", "aachen_000001_000019")):
    for frame in frames:
        city = frame.split("_")[0]
        touch(root / "leftImg8bit" / "train" / city / f"{frame}_leftImg8bit.png")
        touch(root / "gtFine" / "train" / city / f"{frame}_gtFine_labelTrainIds.png")
    return root


def check(root, **kwargs):
    return check_split(
        fmt=CITYSCAPES,
        data_root=str(root),
        img_dir="leftImg8bit/train",
        seg_map_dir="gtFine/train",
        **kwargs,
    )


def test_a_good_split(tmp_path):
    assert check(cityscapes(tmp_path)) == 2


def test_no_dataset_shows_layout_download_and_demo(tmp_path):
    root = tmp_path / "cityscapes"
    with pytest.raises(DatasetLayoutError) as info:
        check(root)
    assert str(info.value) == (
        f"Cityscapes: no dataset at {str(root)!r}: the folder does not exist.\n"
        "Expected layout:\n"
        f"  {root}/\n"
        "    leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png\n"
        "    gtFine/{train,val}/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png\n"
        "Get it: download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip from the "
        "Cityscapes website (registration required), unzip both into the root, then make the "
        f"trainId labels: python tools/convert_cityscapes.py {root} --nproc 8\n"
        "Point to the data with --data-root DIR, or set HRNET_SEG_DATA to the folder that "
        "holds cityscapes/ and ade/ADEChallengeData2016/, or set data_root in the config.\n"
        "No data at hand? `make demo` trains on a small built-in Cityscapes-format dataset "
        "(tools/make_demo_data.py makes one anywhere)."
    )


def test_empty_split(tmp_path):
    (tmp_path / "leftImg8bit" / "train").mkdir(parents=True)
    with pytest.raises(DatasetLayoutError) as info:
        check(tmp_path)
    assert str(info.value).startswith(
        f"Cityscapes: the split leftImg8bit/train at {str(tmp_path)!r} is empty: no "
        "*_leftImg8bit.png files.\nExpected layout:"
    )


def test_labels_not_converted_yet(tmp_path):
    touch(tmp_path / "leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png")
    touch(tmp_path / "gtFine/train/aachen/aachen_000000_000019_gtFine_polygons.json")
    with pytest.raises(DatasetLayoutError) as info:
        check(tmp_path)
    assert str(info.value) == (
        f"Cityscapes: the split gtFine/train at {str(tmp_path)!r} has no "
        "*_gtFine_labelTrainIds.png labels.\n"
        "Cityscapes ships *_gtFine_polygons.json / *_labelIds.png; create the trainId labels "
        f"with: python tools/convert_cityscapes.py {tmp_path} --nproc 8"
    )


def test_unpaired_images_and_labels(tmp_path):
    cityscapes(tmp_path)
    (tmp_path / "gtFine/train/aachen/aachen_000001_000019_gtFine_labelTrainIds.png").unlink()
    touch(tmp_path / "gtFine/train/bonn/bonn_000002_000019_gtFine_labelTrainIds.png")
    with pytest.raises(DatasetLayoutError) as info:
        check(tmp_path)
    image = tmp_path / "leftImg8bit/train/aachen/aachen_000001_000019_leftImg8bit.png"
    label = tmp_path / "gtFine/train/bonn/bonn_000002_000019_gtFine_labelTrainIds.png"
    assert str(info.value) == (
        f"Cityscapes: images and labels do not pair up at {str(tmp_path)!r}:\n"
        f"  1 image(s) without a label (*_gtFine_labelTrainIds.png in gtFine/train): {image}\n"
        f"  1 label(s) without an image (*_leftImg8bit.png in leftImg8bit/train): {label}\n"
        "Restore the missing files, or remove the unpaired ones from the split."
    )


def test_ade20k_layout(tmp_path):
    touch(tmp_path / "images/training/ADE_train_00000001.jpg")
    touch(tmp_path / "annotations/training/ADE_train_00000001.png")
    n = check_split(
        fmt=ADE20K,
        data_root=str(tmp_path),
        img_dir="images/training",
        seg_map_dir="annotations/training",
    )
    assert n == 1


def png(path, size):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size).save(path)
    return path


def test_images_and_labels_of_different_sizes(tmp_path):
    images, labels = tmp_path / "leftImg8bit" / "train" / "a", tmp_path / "gtFine" / "train" / "a"
    for i, label_size in enumerate([(64, 32), (32, 32), (32, 16)]):  # same, other aspect, half
        png(images / f"a_{i:06d}_000019_leftImg8bit.png", (64, 32))
        png(labels / f"a_{i:06d}_000019_gtFine_labelTrainIds.png", label_size)
    assert check(tmp_path) == 3  # the layout check alone does not open files
    with pytest.raises(DatasetLayoutError) as info:
        check(tmp_path, sizes=True)
    image, label = (
        str(images / "a_{}_000019_leftImg8bit.png"),
        str(labels / "a_{}_000019_gtFine_labelTrainIds.png"),
    )
    assert str(info.value) == (
        "Cityscapes: 2 image(s) and label(s) differ in size (width x height):\n"
        f"  {image.format('000001')} is 64x32, its label {label.format('000001')} is 32x32\n"
        f"  {image.format('000002')} is 64x32, its label {label.format('000002')} is 32x16\n"
        "A label must have its image's size: restore the pair from the original download "
        "(Cityscapes: regenerate labels with tools/convert_cityscapes.py)."
    )
