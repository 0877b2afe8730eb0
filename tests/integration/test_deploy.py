"""The deploy path as a user runs it: tools/export.py, the Segmenter API and
tools/infer.py on built-in data, against tools/test.py's own predictions.

The model: configs/hrnet_w18_cityscapes.py with random weights saved as a checkpoint, its
test pipeline's resize set to 160x80 so that the built-in 64x128 images are resized
before the model and the logits resized back after it (the zoo's 2048x1024 at a test's
scale), and the sliding window to 48x96 so that ``slide`` takes several windows.
"""

from __future__ import annotations

import glob
import os
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.conftest import REPO, randomize, run_python

pytestmark = pytest.mark.slow
pytest.importorskip("onnxruntime", reason="the deploy extra: pip install -e '.[deploy]'")

CONFIG = "configs/hrnet_w18_cityscapes.py"
OPTIONS = {
    "test_dataloader.dataset.pipeline.1.scale": (160, 80),
    "model.data_preprocessor.size": (48, 96),
}
CLI_OPTIONS = ["--cfg-options", *(f"{k}={v}".replace(" ", "") for k, v in OPTIONS.items())]


def val_images(root) -> list[str]:
    return sorted(glob.glob(str(Path(root) / "leftImg8bit" / "val" / "*" / "*.png")))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from hrnet_seg.deploy import load_model

    loaded = load_model(str(REPO / CONFIG), None, cfg_options=OPTIONS)
    randomize(loaded.segmentor, seed=3)
    path = tmp_path_factory.mktemp("w18") / "random_w18.pth"
    torch.save({"state_dict": loaded.segmentor.state_dict(), "meta": {}}, path)
    return str(path)


@pytest.fixture(scope="module")
def onnx_model(checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "w18.onnx"
    result = run_python("tools/export.py", CONFIG, checkpoint, "--out", str(out), "--check",
                        "--check-sizes", "64x128", "50x102", *CLI_OPTIONS)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("parity")]
    assert len(lines) == 2 and all(line.endswith(": ok") for line in lines), result.stdout
    assert "50x102" in lines[1]
    return str(out)


@pytest.mark.parametrize("mode", ["whole", "slide", "tta"])
def test_segmenter_predicts_what_tools_test_does(checkpoint, demo_root, tmp_path, mode):
    """tools/test.py --out writes the official label-id PNGs of its predictions; the
    Segmenter on the same images with official_ids=True must write the same pixels."""
    from hrnet_seg import Segmenter

    flags = {"whole": [], "slide": ["--mode", "slide"], "tta": ["--tta"]}[mode]
    out = tmp_path / "test_out"
    result = run_python("tools/test.py", CONFIG, checkpoint, "--data-root", str(demo_root),
                        "--work-dir", str(tmp_path / "work"), "--out", str(out), *flags,
                        *CLI_OPTIONS)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    segmenter = Segmenter(str(REPO / CONFIG), checkpoint, mode=mode, cfg_options=OPTIONS)
    images = val_images(demo_root)
    predictions = segmenter(images, official_ids=True)
    assert len(predictions) == len(images) == 4
    for image, ours in zip(images, predictions):
        theirs = cv2.imread(str(out / Path(image).name), cv2.IMREAD_UNCHANGED)
        assert theirs is not None and theirs.shape == ours.shape == (64, 128)
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{mode}: {image}")
    assert len({p.tobytes() for p in predictions}) > 1  # not one constant map


def test_segmenter_inputs_arrays_batches_and_official_ids(checkpoint, demo_root):
    from hrnet_seg import Segmenter
    from hrnet_seg.deploy import DeployError
    from hrnet_seg.deploy.segmenter import read_rgb

    segmenter = Segmenter(str(REPO / CONFIG), checkpoint, cfg_options=OPTIONS, batch_size=3)
    paths = val_images(demo_root)
    from_paths = segmenter(paths)
    arrays = [read_rgb(p) for p in paths]
    assert all(np.array_equal(a, b) for a, b in zip(segmenter(arrays), from_paths))
    stacked = segmenter(np.stack(arrays))
    assert isinstance(stacked, list) and all(
        np.array_equal(a, b) for a, b in zip(stacked, from_paths)
    )
    single = segmenter(arrays[0])
    assert single.dtype == np.uint8 and np.array_equal(single, from_paths[0])
    official = segmenter.to_official_ids(single)
    assert set(np.unique(official)) <= {7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25,
                                        26, 27, 28, 31, 32, 33}  # fmt: skip
    with pytest.raises(DeployError, match="H x W x 3 uint8"):
        segmenter(arrays[0].astype(np.float32))
    with pytest.raises(DeployError, match="not found"):
        segmenter("no/such/image.png")


@pytest.mark.parametrize("mode", ["whole", "slide"])
def test_onnx_segmenter_agrees_with_the_checkpoint(checkpoint, onnx_model, demo_root, mode):
    from hrnet_seg import Segmenter

    torch_seg = Segmenter(str(REPO / CONFIG), checkpoint, mode=mode, cfg_options=OPTIONS)
    onnx_seg = Segmenter.from_onnx(onnx_model, mode=mode)
    images = val_images(demo_root)
    differing = sum(int((a != b).sum()) for a, b in zip(torch_seg(images), onnx_seg(images)))
    assert differing <= 1e-4 * len(images) * 64 * 128, differing


def test_overlay_blends_the_palette_and_lists_the_classes_present(checkpoint):
    from hrnet_seg import Segmenter

    segmenter = Segmenter(str(REPO / CONFIG), checkpoint, cfg_options=OPTIONS)
    image = np.full((64, 128, 3), 100, dtype=np.uint8)
    labels = np.zeros((64, 128), dtype=np.uint8)
    labels[:, 64:] = 13  # car
    labels[0, 0] = 255  # no class: the image unchanged there
    plain = segmenter.overlay(image, labels, legend=False, alpha=0.5)
    assert plain.shape == image.shape
    road = (np.array([128, 64, 128]) + 100) / 2
    np.testing.assert_allclose(plain[10, 10], road, atol=0.5)
    np.testing.assert_array_equal(plain[0, 0], image[0, 0])
    with_legend = segmenter.overlay(image, labels)
    assert with_legend.shape[1] == 128 and with_legend.shape[0] > 64
    np.testing.assert_array_equal(with_legend[:64], plain)


def test_infer_folder_then_onnx_gives_the_same_label_pngs(checkpoint, onnx_model, demo_root,
                                                         tmp_path):  # fmt: skip
    folder = str(Path(demo_root) / "leftImg8bit" / "val")
    a, b = tmp_path / "torch", tmp_path / "onnx"
    result = run_python("tools/infer.py", folder, "--config", CONFIG, "--checkpoint", checkpoint,
                        "--out", str(a), "--overlay", *CLI_OPTIONS)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "4/4 images" in result.stdout and "wrote 4 images" in result.stdout
    names = sorted(os.path.relpath(p, folder) for p in val_images(demo_root))
    labels = sorted(os.path.relpath(p, a / "labels") for p in glob.glob(f"{a}/labels/*/*.png"))
    overlays = sorted(
        os.path.relpath(p, a / "overlays") for p in glob.glob(f"{a}/overlays/*/*.png")
    )
    assert labels == overlays == names
    result = run_python("tools/infer.py", folder, "--onnx", onnx_model, "--config", CONFIG,
                        "--out", str(b), *CLI_OPTIONS)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for name in names:
        x = cv2.imread(str(a / "labels" / name), cv2.IMREAD_UNCHANGED)
        y = cv2.imread(str(b / "labels" / name), cv2.IMREAD_UNCHANGED)
        assert x.shape == (64, 128) and (x != y).sum() <= 1e-4 * x.size, name
    assert not (b / "overlays").exists()


def test_video_round_trip(onnx_model, demo_root, tmp_path):
    """A clip of the built-in val images (5 fps) through tools/infer.py: an .mp4 of the
    same size and length whose frames are the overlays (H.264 is lossy: close, not equal)."""
    from hrnet_seg import Segmenter
    from hrnet_seg.deploy.segmenter import read_rgb
    from hrnet_seg.deploy.video import frames, probe, write_video

    images = [read_rgb(p) for p in val_images(demo_root)] * 2
    clip = tmp_path / "clip.mp4"
    assert write_video(str(clip), iter(images), rate=Fraction(5)) == 8
    out = tmp_path / "out"
    result = run_python("tools/infer.py", str(clip), "--onnx", onnx_model, "--out", str(out),
                        "--batch-size", "3")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrote 0 images and 8 video frames" in result.stdout
    count, rate = probe(str(out / "clip.mp4"))
    assert rate == 5
    decoded = list(frames(str(out / "clip.mp4")))
    assert len(decoded) == 8 and decoded[0].shape == (64, 128, 3)
    segmenter = Segmenter.from_onnx(onnx_model)
    source = list(frames(str(clip)))
    expected = segmenter.overlay(source[0], segmenter(source[0]), legend=False)
    to_overlay = np.abs(decoded[0].astype(int) - expected).mean()
    to_source = np.abs(decoded[0].astype(int) - source[0]).mean()
    assert to_overlay < 6 and to_overlay < to_source / 2, (to_overlay, to_source)
    assert sorted(os.listdir(out)) == ["clip.mp4"]  # no temporary left


def _bad_inputs(tmp_path, demo_root):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no images")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1].tobytes())
    (broken / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not a video" * 100)
    return {
        "folder without images": ([str(empty)], "no images in this folder"),
        "unreadable image": ([str(broken)], "b.png"),
        "undecodable video": ([str(video)], "Cannot decode video"),
        "missing path": ([str(tmp_path / "nope.png")], "no such file or folder"),
    }


@pytest.mark.parametrize(
    "case", ["folder without images", "unreadable image", "undecodable video", "missing path"]
)
def test_bad_inputs_one_line_exit_2_nothing_written(onnx_model, demo_root, tmp_path, case):
    inputs, message = _bad_inputs(tmp_path, demo_root)[case]
    out = tmp_path / "out"
    result = run_python("tools/infer.py", *inputs, "--onnx", onnx_model, "--out", str(out))
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_onnx_model_of_another_config_is_refused(onnx_model, demo_root, tmp_path):
    out = tmp_path / "out"
    result = run_python("tools/infer.py", str(Path(demo_root) / "leftImg8bit" / "val"),
                        "--onnx", onnx_model, "--config", "configs/hrnet_w18_ade20k.py",
                        "--out", str(out))  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert "does not match configs/hrnet_w18_ade20k.py" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_a_file_that_is_not_an_exported_model_is_refused(demo_root, tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"\x08\x07 not onnx")
    result = run_python("tools/infer.py", val_images(demo_root)[0], "--onnx", str(fake),
                        "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 2 and "Cannot load ONNX model" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_model_file_cannot_name_code_to_run(onnx_model, tmp_path):
    """mmengine's registry imports any dotted type it is given: a crafted model whose
    metadata asks for ``os.system`` as a pipeline step is refused before anything is
    built (before the fix it ran the command)."""
    import json

    import onnx

    from hrnet_seg import Segmenter
    from hrnet_seg.deploy import DeployError

    marker = tmp_path / "ran"
    model = onnx.load(onnx_model)
    props = {p.key: p.value for p in model.metadata_props}
    props["hrnet_seg.test_pipeline"] = json.dumps(
        [{"type": "os.system", "command": f"touch {marker}"}]
    )
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)
    crafted = tmp_path / "crafted.onnx"
    onnx.save(model, str(crafted))
    with pytest.raises(DeployError, match="test_pipeline.*is not what tools/export.py writes"):
        Segmenter.from_onnx(str(crafted))
    assert not marker.exists()
