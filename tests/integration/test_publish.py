"""tools/publish_model.py: a checkpoint that plain torch.load(weights_only=True) and
mmseg's own tools/test.py read (a training checkpoint holds mmengine's HistoryBuffer,
which torch >= 2.6 refuses by default)."""

from __future__ import annotations

import hashlib
import os.path as osp
import pickle
import re

import mmseg
import pytest
import torch

from tests.conftest import run_python
from tests.integration.conftest import DEMO, read_json

pytestmark = pytest.mark.slow

MMSEG_TEST = osp.join(osp.dirname(mmseg.__file__), ".mim", "tools", "test.py")


def test_published_checkpoint_is_plain_and_mmseg_tools_score_it(trained, demo_root, tmp_path):
    checkpoint = trained / "iter_12.pth"
    # The premise: a training checkpoint is refused by a plain weights-only load.
    with pytest.raises(pickle.UnpicklingError, match="HistoryBuffer"):
        torch.load(checkpoint, weights_only=True)

    result = run_python("tools/publish_model.py", str(checkpoint), str(tmp_path / "demo.pth"))
    assert result.returncode == 0, result.stderr
    (published,) = tmp_path.glob("demo-*.pth")
    assert result.stdout.strip() == f"{checkpoint} -> {published}"
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    assert re.fullmatch(rf"demo-{digest[:8]}\.pth", published.name)

    plain = torch.load(published, weights_only=True)  # no allow-list of ours
    full = torch.load(checkpoint, weights_only=False)
    assert set(plain) == {"state_dict", "meta"}
    assert plain["state_dict"].keys() == full["state_dict"].keys()
    for key, value in full["state_dict"].items():
        assert torch.equal(plain["state_dict"][key], value), key
    assert plain["meta"]["iter"] == 12
    assert plain["meta"]["dataset_meta"]["classes"] == list(full["meta"]["dataset_meta"]["classes"])

    # mmseg's own test script (Config + Runner + mmengine's load_checkpoint) scores it
    # as our tools/test.py scores the training checkpoint.
    ours = run_python(
        "tools/test.py", DEMO, str(checkpoint), "--data-root", str(demo_root),
        "--work-dir", str(tmp_path / "ours"),
    )  # fmt: skip
    assert ours.returncode == 0, ours.stderr[-2000:]
    theirs = run_python(
        MMSEG_TEST, DEMO, str(published), "--work-dir", str(tmp_path / "mmseg"),
        "--cfg-options", f"test_dataloader.dataset.data_root={demo_root}",
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stderr[-2000:]
    miou = re.findall(r"Iter\(test\) \[\d+/\d+\]\s+aAcc: [\d.]+\s+mIoU: ([\d.]+)", theirs.stdout)
    assert miou, theirs.stdout[-2000:]
    ours_miou = read_json(tmp_path / "ours" / "results.json")["mIoU"]
    assert float(miou[-1]) == pytest.approx(ours_miou, abs=5e-5)  # mmengine logs 4 decimals


def test_a_file_without_weights_is_one_error(tmp_path):
    src = tmp_path / "not_a_checkpoint.pth"
    torch.save({"meta": {"iter": 3}}, src)
    result = run_python("tools/publish_model.py", str(src), str(tmp_path / "out.pth"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {src} holds no state_dict: expected a checkpoint saved by tools/train.py "
        "(or any mmengine runner)."
    )
    assert not list(tmp_path.glob("out*"))
