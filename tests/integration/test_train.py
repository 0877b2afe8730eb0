"""tools/train.py end to end: records, resume, NaN guard, atomic checkpoints, torchrun."""

from __future__ import annotations

import glob
import os
import random

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook

from hrnet_seg.engine.hooks import NonFiniteLossError
from hrnet_seg.utils.torch_load import load_checkpoint_file
from tests.conftest import free_port, run_python
from tests.integration.conftest import DEMO, read_json, train

pytestmark = pytest.mark.slow


def checkpoints(work_dir):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(work_dir, "*.pth*")))


def test_a_run_leaves_its_record(trained, demo_root):
    assert checkpoints(trained) == ["iter_12.pth"]
    assert os.path.isfile(trained / "hrnet_w18s_demo_cityscapes.py")  # the resolved config
    env = read_json(trained / "env.json")
    assert len(env["git"]["commit"]) == 40
    assert {"torch", "mmengine", "mmsegmentation", "hrnet_seg"} <= set(env["packages"])
    results = read_json(trained / "results.json")
    assert results["status"] == "finished"
    assert results["config"] == "hrnet_w18s_demo_cityscapes"
    assert results["model"]["arch"] == "W18-Small-v1" and results["model"]["heads"] == [
        "HRNetV2FCNHead"
    ]
    assert results["dataset"] == "CheckedCityscapesDataset"
    assert results["data_root"] == str(demo_root)
    assert results["crop"] == [128, 256]
    assert results["iterations"] == 12 and results["final_iter"] == 12
    assert results["batch_per_gpu"] == 2 and results["batch_total"] == 2
    assert results["world_size"] == 1 and results["device_type"] == "cpu"
    assert results["wall_time_s"] > 0
    assert 0 <= results["mIoU"] <= 100 and {"aAcc", "mAcc"} <= set(results)
    assert set(results["per_class"]) >= {"road", "sky", "bicycle"}
    assert results["best"]["iter"] == 12
    # What was evaluated: the built-in data (the generator's marker), at its image size.
    assert results["mode"] == "whole" and results["iter"] == 12
    data = results["eval_data"]
    assert (data["kind"], data["root"], data["split"]) == (
        "built-in",
        str(demo_root),
        "leftImg8bit/val",
    )
    assert (data["image_size"], data["image_sizes"]) == ([64, 128], 1)
    assert data["manifest"]["size"] == [64, 128] and data["manifest"]["seed"] == 1


class _Interrupt(Hook):
    """Stops the run after iteration ``at``, like a kill between two saves."""

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            raise KeyboardInterrupt


class _RecordLR(Hook):
    priority = "VERY_HIGH"

    def __init__(self, lrs):
        self.lrs = lrs

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs[runner.iter + 1] = runner.optim_wrapper.get_lr()["lr"][0]


class _RecordLossAndDraws(Hook):
    """Per iteration: the loss, and a draw from each generator after the step (the
    state the next iteration starts from, saved by CheckpointHook after this hook)."""

    priority = "HIGHEST"

    def __init__(self, record):
        self.record = record

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        draws = (torch.rand(1).item(), np.random.rand(), random.random())
        self.record[runner.iter + 1] = (outputs["loss"].item(), draws)


def test_resume_continues_at_the_next_iteration_on_the_same_schedule(tmp_path, demo_root):
    reference: dict = {}
    losses: dict = {}
    hooks = [_RecordLR(reference), _RecordLossAndDraws(losses)]
    train(tmp_path / "straight", demo_root, iters=8, hooks=hooks, options={"randomness.seed": 3})

    work_dir = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        train(work_dir, demo_root, iters=8, checkpoint_every=4,
              hooks=[_Interrupt(at=6), _RecordLossAndDraws({})],
              options={"randomness.seed": 3})  # fmt: skip
    assert checkpoints(work_dir) == ["iter_4.pth"]

    resumed: dict = {}
    resumed_losses: dict = {}
    runner = train(work_dir, demo_root, iters=8, checkpoint_every=4, resume="auto",
                   hooks=[_RecordLR(resumed), _RecordLossAndDraws(resumed_losses)],
                   options={"randomness.seed": 3})  # fmt: skip
    assert min(resumed) == 5  # the first iteration after the checkpoint's
    assert runner.iter == 8
    assert resumed == {k: v for k, v in reference.items() if k >= 5}  # same LR schedule
    # Same data, weights, optimizer state and generator states: the same numbers.
    assert resumed_losses == {k: v for k, v in losses.items() if k >= 5}
    assert read_json(work_dir / "results.json")["resumed_from_iter"] == 4


def test_a_resumed_run_keeps_its_best_score_and_wall_time(tmp_path, demo_root):
    options = {"randomness.seed": 3, "train_cfg.val_interval": 2}
    train(tmp_path / "straight", demo_root, iters=8, options=options)
    straight = read_json(tmp_path / "straight" / "results.json")

    work_dir = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        train(work_dir, demo_root, iters=8, checkpoint_every=4, hooks=[_Interrupt(at=6)],
              options=options)  # fmt: skip
    first = read_json(work_dir / "results.json")
    assert first["best"]["iter"] in (2, 4)
    train(work_dir, demo_root, iters=8, checkpoint_every=4, resume="auto", options=options)
    resumed = read_json(work_dir / "results.json")
    # Exact resume: the same validations as the straight run, so the same best.
    assert resumed["best"] == straight["best"]
    assert resumed["wall_time_s"] > first["wall_time_s"]


class _PoisonWeights(Hook):
    """Makes the forward pass produce NaN from iteration ``at`` on."""

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            with torch.no_grad():
                runner.model.backbone.conv1.weight.fill_(float("nan"))


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, demo_root):
    with pytest.raises(NonFiniteLossError) as info:
        train(tmp_path, demo_root, iters=10, checkpoint_every=2, hooks=[_PoisonWeights(at=5)])
    message = str(info.value)
    assert message.startswith(
        "Training stopped: the loss became non-finite at iteration 5 (loss=nan, "
    )
    assert f"The last good checkpoint is {tmp_path / 'iter_4.pth'}; resume from it" in message
    assert checkpoints(tmp_path) == ["iter_2.pth", "iter_4.pth"]
    weights = load_checkpoint_file(tmp_path / "iter_4.pth")["state_dict"]
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())


def test_a_kill_during_save_leaves_no_truncated_checkpoint(tmp_path, demo_root, monkeypatch):
    from mmengine.fileio.backends import LocalBackend

    real_put = LocalBackend.put
    saves = []

    def dying_put(self, obj, filepath):
        saves.append(filepath)
        if len(saves) == 2:  # the second save dies half-way through writing
            with open(filepath, "wb") as f:
                f.write(obj[: len(obj) // 2])
            raise SystemExit("killed")
        return real_put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, "put", dying_put)
    with pytest.raises(SystemExit):
        train(tmp_path, demo_root, iters=6, checkpoint_every=2)
    assert checkpoints(tmp_path) == ["iter_2.pth", "iter_4.pth.tmp"]  # never an iter_4.pth

    monkeypatch.setattr(LocalBackend, "put", real_put)
    runner = train(tmp_path, demo_root, iters=6, checkpoint_every=2, resume="auto")
    assert runner.iter == 6
    assert checkpoints(tmp_path) == ["iter_2.pth", "iter_4.pth", "iter_6.pth"]
    assert read_json(tmp_path / "results.json")["resumed_from_iter"] == 2


class _RecordDtype(Hook):
    def __init__(self, seen):
        self.seen = seen

    def before_train(self, runner):
        runner.model.backbone.conv1.register_forward_hook(
            lambda module, args, out: self.seen.append(out.dtype)
        )


def test_amp_trains_in_bf16_on_cpu(tmp_path, demo_root):
    seen: list = []
    runner = train(tmp_path, demo_root, iters=2, amp=True, hooks=[_RecordDtype(seen)])
    assert type(runner.optim_wrapper).__name__ == "AutocastOptimWrapper"
    assert seen[0] == torch.bfloat16  # training forward passes ran under autocast
    assert runner.model.backbone.conv1.weight.dtype == torch.float32  # master weights
    assert read_json(tmp_path / "results.json")["amp"] is True


def test_torchrun_two_processes_on_cpu(tmp_path, demo_root):
    from tests.integration.conftest import tiny_options

    options = [f"{k}={v}" for k, v in tiny_options(4).items()]
    result = run_python(
        "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(free_port()),
        "tools/train.py", DEMO, "--launcher", "pytorch", "--work-dir", str(tmp_path),
        "--data-root", str(demo_root), "--cfg-options", *options,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results = read_json(tmp_path / "results.json")
    assert results["world_size"] == 2 and results["batch_total"] == 4
    assert results["final_iter"] == 4 and results["status"] == "finished"
    assert checkpoints(tmp_path) == ["iter_4.pth"]
    # Where each rank ran, and that both ended with the same parameters.
    assert [(r["rank"], r["local_rank"]) for r in results["ranks"]] == [(0, 0), (1, 1)]
    assert results["replicas_identical"] is True
    assert results["ranks"][0]["params_sha256"] == results["ranks"][1]["params_sha256"]


def test_no_data_is_a_clear_error_before_anything_is_built(tmp_path):
    result = run_python(
        "tools/train.py", "configs/hrnet_w48_cityscapes.py", "--work-dir", str(tmp_path / "run"),
        env={"HRNET_SEG_DATA": str(tmp_path / "nowhere")},
    )  # fmt: skip
    # Stopped by the preflight, before the runner made its work dir: no model was built and
    # no data loader started, so the error comes within seconds on any machine (a check
    # of the structure, not of the clock).
    assert not (tmp_path / "run").exists()
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"error: Cityscapes: no dataset at {str(tmp_path / 'nowhere' / 'cityscapes')!r}"
    )
    assert "Expected layout:" in result.stderr
    assert "leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png" in result.stderr
    assert "make demo" in result.stderr


def test_missing_pretrained_is_reported_before_training(demo_root, tmp_path):
    result = run_python(
        "tools/train.py", "configs/hrnet_w18_cityscapes.py", "--data-root", str(demo_root),
        "--work-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "error: Pretrained checkpoint not found: "
        "'pretrained_models/hrnetv2_w18_imagenet_pretrained.pth' (model.backbone.pretrained"
    )
    assert "--no-pretrained" in result.stderr
    assert not glob.glob(str(tmp_path / "*.pth"))


@pytest.mark.parametrize(
    "config, option, message",
    [
        pytest.param(
            DEMO,
            "model.backbone.archh=W18",
            "Unknown config key 'model.backbone.archh' (--cfg-options): HighResolutionNet "
            "at model.backbone takes no argument 'archh'. Did you mean 'arch'?",
            id="unknown_key",
        ),
        pytest.param(  # named before the data or the model are touched
            "configs/hrnet_w48_cityscapes.py",
            "model.backbone.arch=W18",
            "model.decode_head.in_channels is [48, 96, 192, 384], but model.backbone.arch "
            "(W18) gives [18, 36, 72, 144]: set model.decode_head.in_channels=[18, 36, 72, 144], "
            "model.decode_head.channels=270, or inherit configs/_base_/models/fcn_hrnet_w18.py, "
            "which sets the arch and its widths together.",
            id="arch_without_its_widths",
        ),
    ],
)
def test_config_errors_from_the_command_line(tmp_path, config, option, message):
    work_dir = tmp_path / "work"
    result = run_python(
        "tools/train.py", config, "--work-dir", str(work_dir), "--cfg-options", option
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: {message}"
    assert not work_dir.exists()


@pytest.mark.parametrize("workers", [0, 1])
def test_corrupt_image_is_named(tmp_path, demo_root, workers):
    import shutil

    root = tmp_path / "cityscapes"
    shutil.copytree(demo_root, root)
    image = sorted(glob.glob(str(root / "leftImg8bit/train/*/*.png")))[0]
    with open(image, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n not really")
    from hrnet_seg.datasets import CorruptFileError
    from hrnet_seg.errors import user_message

    with pytest.raises(CorruptFileError) as info:
        train(tmp_path / "work", root, iters=8, workers=workers)
    message = user_message(info.value)
    assert message.startswith(f"Cityscapes: cannot read the image file {image!r} (empty, ")
    assert "Traceback" not in message


def test_label_values_outside_the_classes(tmp_path, demo_root):
    import shutil

    import numpy as np
    from PIL import Image

    root = tmp_path / "cityscapes"
    shutil.copytree(demo_root, root)
    label = sorted(glob.glob(str(root / "gtFine/train/*/*_gtFine_labelTrainIds.png")))[0]
    values = np.array(Image.open(label))
    values[:8, :8] = 33  # a labelId where a trainId belongs
    Image.fromarray(values).save(label)
    from hrnet_seg.datasets import LabelValueError

    with pytest.raises(LabelValueError) as info:
        # every image is seen in the first 4 iterations of batch 2
        train(tmp_path / "work", root, iters=4, options={"train_dataloader.sampler.shuffle": False})
    assert str(info.value) == (
        f"Cityscapes: label file {label!r} has values [33] outside the 19 classes (0..18) "
        "and the ignore index 255. Cityscapes labels must be trainIds "
        "(*_gtFine_labelTrainIds.png made by tools/convert_cityscapes.py), not labelIds."
    )


class _RecordLoss(Hook):
    def __init__(self, losses):
        self.losses = losses

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs["loss"]))


def test_fast_path_loss_curve_matches_fp32_eager(tmp_path, demo_root):
    curves = {}
    for name, kwargs in {
        "fp32_nchw": dict(options={"channels_last": False}),
        "fp32_channels_last": dict(options={"channels_last": True}),
        "bf16_channels_last": dict(options={"channels_last": True}, amp=True),
    }.items():
        losses: list = []
        train(tmp_path / name, demo_root, iters=30, hooks=[_RecordLoss(losses)], **kwargs)
        curves[name] = torch.tensor(losses)
    reference = curves["fp32_nchw"]
    assert len(reference) == 30 and reference[-1] < reference[0] / 2  # it learns
    # Same seed, same batches: channels_last differs by float rounding, bf16 by its 8-bit
    # mantissa; training amplifies both a little. The noise to beat is the curve's own
    # iteration-to-iteration jitter on batches of 2.
    jitter = (reference[1:] - reference[:-1]).abs().mean()
    for name in ("fp32_channels_last", "bf16_channels_last"):
        gap = (curves[name] - reference).abs().mean()
        assert gap < jitter / 2, (name, gap, jitter)
        tail = (curves[name][-10:].mean() - reference[-10:].mean()).abs() / reference[-10:].mean()
        assert tail < 0.05, (name, tail)
