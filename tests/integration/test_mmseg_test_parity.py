"""tools/test.py on images whose sides are not multiples of 32 gives mmseg's own test
predictions pixel for pixel: the same checkpoint evaluated by mmseg 1.2.2's Runner with
its own HRNet, FCNHead, CityscapesDataset and IoUMetric (which writes its predictions)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from mmengine.config import Config

from hrnet_seg.benchmark.models import model_config
from hrnet_seg.datasets.synthetic import make_cityscapes
from hrnet_seg.engine.config import load_config
from hrnet_seg.evaluation.export import read_label_png, read_prediction
from hrnet_seg.models import build_segmentor
from tests.conftest import REPO, randomize, run_python
from tests.integration.conftest import DEMO, read_json

pytestmark = pytest.mark.slow

SIZE = (250, 510)  # 250 / 32 and 510 / 32 are not whole: mmseg's fusion resizes twice
MMSEG_TEST = """
import json, sys
import hrnet_seg  # only for mmseg's import under mmcv-lite; the config names mmseg's classes
from mmengine.config import Config
from mmengine.runner import Runner
metrics = Runner.from_cfg(Config.fromfile(sys.argv[1])).test()
print("METRICS " + json.dumps({k: float(v) for k, v in metrics.items()}))
"""


def mmseg_config(data_root, checkpoint, work_dir, out_dir) -> dict:
    """The demo config made of mmseg's own classes only."""
    pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="LoadAnnotations"),
        dict(type="PackSegInputs"),
    ]
    return dict(
        default_scope="mmseg",
        model=model_config(load_config(str(REPO / DEMO)), reference=True),
        test_dataloader=dict(
            batch_size=1,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            dataset=dict(
                type="CityscapesDataset",
                data_root=str(data_root),
                data_prefix=dict(img_path="leftImg8bit/val", seg_map_path="gtFine/val"),
                pipeline=pipeline,
            ),
        ),
        test_evaluator=dict(type="IoUMetric", iou_metrics=["mIoU"], output_dir=str(out_dir)),
        test_cfg=dict(type="TestLoop"),
        env_cfg=dict(dist_cfg=dict(backend="gloo")),
        load_from=str(checkpoint),
        work_dir=str(work_dir),
    )


def spread_classifier(model, image_path) -> None:
    """Random weights give HRNet features that vary little across an image: every pixel
    would get the same class. Centre and scale the classifier on one image's features so
    that all 19 classes are predicted (a comparison of near-constant maps shows little)."""
    from PIL import Image

    image = torch.from_numpy(np.array(Image.open(image_path))).permute(2, 0, 1)
    inputs = model.data_preprocessor({"inputs": [image]}, False)["inputs"]
    head = model.decode_head
    with torch.no_grad():
        feats = head._forward_feature(model.extract_feat(inputs))
        weight = head.conv_seg.weight[:, :, 0, 0]
        weight /= (feats - feats.mean((2, 3), keepdim=True)).std()
        head.conv_seg.bias.copy_(-(weight @ feats.mean((0, 2, 3))))


def test_tools_test_gives_mmseg_own_predictions(tmp_path):
    root = make_cityscapes(
        tmp_path / "cityscapes", splits={"train": 1, "val": 3}, size=SIZE, seed=5
    )
    # mmseg's own segmentor with random weights, saved as mmseg would load it.
    config = mmseg_config(root, tmp_path / "mmseg.pth", tmp_path / "mmseg", tmp_path / "mmseg_out")
    model = randomize(build_segmentor(config["model"]), seed=6).eval()
    assert type(model.backbone).__name__ == "HRNet"
    spread_classifier(model, sorted(root.glob("leftImg8bit/val/*/*.png"))[0])
    torch.save({"state_dict": model.state_dict(), "meta": {}}, tmp_path / "mmseg.pth")
    Config(config).dump(str(tmp_path / "mmseg_config.py"))

    theirs = run_python("-c", MMSEG_TEST, str(tmp_path / "mmseg_config.py"))
    assert theirs.returncode == 0, theirs.stderr[-3000:]

    def ours(name, *options):
        result = run_python(
            "tools/test.py", DEMO, str(tmp_path / "mmseg.pth"), "--data-root", str(root),
            "--work-dir", str(tmp_path / name), "--out", str(tmp_path / f"{name}_out"),
            *options,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return tmp_path / f"{name}_out"

    # NCHW: bit for bit, so every pixel. The default channels_last sums the convolutions in
    # another order (float32 rounding), which can flip a pixel whose two best classes tie
    # to ~1e-6: 1 of these 382,500 pixels.
    nchw = ours("nchw", "--cfg-options", "channels_last=False")
    default = ours("default")

    expected = sorted((tmp_path / "mmseg_out").glob("*.png"))
    assert len(expected) == 3
    flipped = 0
    for path in expected:
        mmseg_pred = read_label_png(path)  # train ids
        assert mmseg_pred.shape == SIZE
        assert len(np.unique(mmseg_pred)) > 10  # a real prediction, not a constant map
        our_pred = read_prediction(nchw / path.name, dataset="cityscapes")
        assert np.array_equal(our_pred, mmseg_pred), (
            f"{path.name}: {(our_pred != mmseg_pred).sum()} pixels differ"
        )
        flipped += (read_prediction(default / path.name, dataset="cityscapes") != mmseg_pred).sum()
    assert flipped <= 1e-4 * 3 * SIZE[0] * SIZE[1]
    line = next(x for x in theirs.stdout.splitlines() if x.startswith("METRICS "))
    mmseg_miou = json.loads(line.removeprefix("METRICS "))["mIoU"]  # mmseg rounds to 0.01
    our_miou = read_json(tmp_path / "nchw" / "results.json")["mIoU"]
    assert our_miou == pytest.approx(mmseg_miou, abs=0.005)
