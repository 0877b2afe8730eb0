"""``WandbLoggerHook`` on real tiny runs, read back from the offline ``.wandb`` file."""

from __future__ import annotations

import json
import struct
import time
import warnings

import pytest

from hrnet_seg.engine.hooks.wandb_logger import WandbFallbackWarning, WandbLoggerHook
from hrnet_seg.records.wandb_reader import WandbFileError, find_run_files, iter_records, read_run
from hrnet_seg.utils import wandb_access
from tests.integration.conftest import demo_root, train  # noqa: F401  (fixture)

FAKE_KEY = "fakekey0123456789abcdef0123456789abcdef01"  # wandb wants 40+ characters
# `.invalid` never resolves (RFC 2606): no W&B server, whatever the machine's network.
UNREACHABLE = "https://api.wandb.invalid"


@pytest.fixture(autouse=True)
def _no_wandb_env(monkeypatch, tmp_path):
    for var in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


# -- unit ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"mode": "cloud"}, "mode must be one of"),
        ({"num_images": -1}, "num_images must be an int >= 0"),
        ({"tags": "w48"}, "tags must be a sequence of strings"),
        ({"init_timeout": 0}, "init_timeout must be > 0"),
        ({"project": ""}, "project must be a non-empty string"),
        ({"log_checkpoints": 1}, "log_checkpoints must be True or False"),
    ],
)
def test_constructor_validates(kwargs, error):
    with pytest.raises((ValueError, TypeError), match=error):
        WandbLoggerHook(**kwargs)


def test_constructor_is_keyword_only():
    with pytest.raises(TypeError):
        WandbLoggerHook("hrnet_seg")


def test_auto_mode_resolution(monkeypatch):
    hook = WandbLoggerHook(mode="auto")
    mode, why = hook._resolve_mode()
    assert mode == "offline" and "no W&B credentials" in why
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens
    mode, why = hook._resolve_mode()
    assert mode == "offline" and "not reachable" in why
    monkeypatch.setenv("WANDB_API_KEY", "short")
    mode, why = hook._resolve_mode()
    assert mode == "offline" and "malformed" in why
    # An explicit 'online' is probed too: wandb's own init would block for many seconds.
    mode, why = WandbLoggerHook(mode="online")._resolve_mode()
    assert mode == "offline" and "not reachable" in why
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert hook._resolve_mode() == ("disabled", None)
    assert WandbLoggerHook(mode="disabled")._resolve_mode() == ("disabled", None)


def test_probe_is_bounded_by_its_timeout():
    start = time.perf_counter()
    assert not wandb_access.reachable(UNREACHABLE, 0.5)
    assert not wandb_access.reachable("http://127.0.0.1:9", 0.5)  # nothing listens
    # A hang guard with a wide margin (the machine may be loaded): unbounded, a connect
    # to an unresolvable host or a closed port can take minutes.
    assert time.perf_counter() - start < 30


def test_reader_rejects_other_files(tmp_path):
    path = tmp_path / "run-x.wandb"
    path.write_bytes(b"not a wandb file")
    with pytest.raises(WandbFileError, match="not a W&B run file"):
        list(iter_records(path))
    # A valid header with a corrupted record.
    path.write_bytes(
        struct.pack("<4sHB", b":W&B", 0xBEE1, 0) + struct.pack("<IHB", 1, 3, 1) + b"abc"
    )
    with pytest.raises(WandbFileError, match="CRC mismatch"):
        list(iter_records(path))


# -- real runs -----------------------------------------------------------------------


def _with_matrix_in_summary(monkeypatch):
    """Stand-in for the metric keeping its matrix: put it in the summary."""
    import hrnet_seg.evaluation.metric as metric

    original = metric.summarize

    def summarize(cm, **kw):
        return {**original(cm, **kw), "confusion_matrix": cm.cpu().numpy().tolist()}

    monkeypatch.setattr(metric, "summarize", summarize)


@pytest.mark.slow
def test_offline_run_is_read_back(tmp_path, demo_root, monkeypatch):  # noqa: F811
    _with_matrix_in_summary(monkeypatch)
    iters = 4
    # tools/benchmark.py --json output in the work dir: 2 images in 0.5 s.
    bench = {
        "params": 1,
        "gflops_official": 3.2,
        "infer_whole_ours_s": 0.5,
        "options": {"batch": 2},
    }
    (tmp_path / "benchmark.json").write_text(json.dumps(bench))
    hook = WandbLoggerHook(mode="offline", num_images=2, tags=["test"], log_checkpoints=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(tmp_path, demo_root, iters=iters, hooks=[hook])
    assert not [w for w in caught if issubclass(w.category, WandbFallbackWarning)]
    assert hook.resolved_mode == "offline"

    (path,) = find_run_files(tmp_path)
    assert path.is_relative_to(tmp_path)
    run = read_run(path)
    files = path.parent / "files"
    assert run.exit_code == 0 and run.tags == ["test"] and run.project == "hrnet_seg"
    assert (tmp_path / "wandb_run_id.txt").read_text().strip() == run.run_id
    # Config: the resolved config and the environment record.
    assert run.config["train_cfg"]["max_iters"] == iters
    assert "commit" in run.config["env"]["git"]
    assert "max_iters" in (files / "config.py").read_text()
    # Both train and val rows are plotted against `iter`.
    assert run.metrics["train/*"] == "iter" and run.metrics["val/*"] == "iter"
    # One train row per iteration, with the loss terms, lr and timings.
    train_rows = [r for r in run.history if "train/loss" in r]
    assert [r["iter"] for r in train_rows] == list(range(1, iters + 1))
    assert [r["_step"] for r in train_rows] == list(range(1, iters + 1))
    for key in ("train/lr", "train/decode.loss_ce", "train/time", "train/data_time"):
        assert all(key in r for r in train_rows), key
    assert "train/img_per_s" in train_rows[-1] and "train/rss_mb" in train_rows[-1]
    # Validation: scores, per-class table, confusion matrix and masked images.
    (val,) = [r for r in run.history if "val/mIoU" in r]
    assert val["iter"] == iters and 0 <= val["val/mIoU"] <= 100
    assert {"val/mAcc", "val/aAcc"} <= set(val)
    table = json.loads((files / val["val/per_class/path"]).read_text())
    assert table["columns"] == ["class", "IoU", "Acc"] and len(table["data"]) == 19
    assert table["data"][0][0] == "road"
    cm_keys = [k for k in val if k.startswith("val/confusion_matrix") and k.endswith("/path")]
    (cm_key,) = cm_keys
    cm = json.loads((files / val[cm_key]).read_text())
    assert cm["columns"] == ["Actual", "Predicted", "nPredictions"]
    assert len(cm["data"]) == 19 * 20 and sum(row[2] for row in cm["data"]) > 0
    assert val["val/predictions/_type"] == "images/separated" and val["val/predictions/count"] == 2
    masks = list((files / "media/images/mask").rglob("*.png"))
    assert len(masks) == 4  # prediction + ground truth for 2 images
    # Leaderboard keys.
    assert run.summary["mIoU"] == run.summary["best_mIoU"] == val["val/mIoU"]
    assert run.summary["params"] > 1e5 and run.summary["gpu_type"] == "cpu"
    assert run.summary["gpu_count"] == 0 and "gpu_hours" in run.summary
    assert run.summary["data"] == "built-in"  # the generator's marker in the data root
    assert (run.summary["GFLOPs"], run.summary["fps"]) == (3.2, 4.0)  # from benchmark.json
    # The checkpoint as an opt-in artifact, staged inside the work dir.
    assert any(a["type"] == "model" and a["files"] == [f"iter_{iters}.pth"] for a in run.artifacts)
    assert not (tmp_path.parent / ".local").exists()

    # A resumed training continues the same W&B run.
    hook2 = WandbLoggerHook(mode="offline", num_images=0)
    train(tmp_path, demo_root, iters=iters + 2, resume="auto", hooks=[hook2])
    second = read_run(find_run_files(tmp_path)[-1])
    assert second.run_id == run.run_id
    assert [r["iter"] for r in second.history if "train/loss" in r] == [iters + 1, iters + 2]


@pytest.mark.slow
def test_auto_mode_with_a_key_and_no_network(tmp_path, demo_root, monkeypatch, capfd):  # noqa: F811
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setenv("WANDB_BASE_URL", UNREACHABLE)
    times = {}

    class Timed(WandbLoggerHook):
        def before_train(self, runner):
            start = time.perf_counter()
            super().before_train(runner)
            times["init"] = time.perf_counter() - start

    hook = Timed(mode="auto", num_images=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(tmp_path, demo_root, iters=2, hooks=[hook])
    fallbacks = [w for w in caught if issubclass(w.category, WandbFallbackWarning)]
    assert len(fallbacks) == 1, [str(w.message) for w in fallbacks]
    assert "not reachable" in str(fallbacks[0].message)
    assert hook.resolved_mode == "offline"
    print(f"auto mode: the hook's start took {times['init']:.2f} s")
    # A hang guard, not a speed test: an online wandb.init without a network waits 90 s
    # (its init_timeout) and more; the probe gives up after PROBE_TIMEOUT_S.
    assert times["init"] < 60
    # The hook sets wandb's folders before it reads wandb's settings (wandb warns when
    # they change afterwards), and wandb's banner and end-of-run block stay quiet.
    printed = "".join(capfd.readouterr())
    assert "environment variables will be ignored" not in printed
    assert "Run history" not in printed
    assert "syncing is set to" not in printed  # offline: our warning names the folder
    run = read_run(find_run_files(tmp_path)[0])
    assert [r["iter"] for r in run.history if "train/loss" in r] == [1, 2]

    # The API key from the environment is written nowhere under the work dir.
    leaks = [
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.is_file() and FAKE_KEY.encode() in p.read_bytes()
    ]
    assert not leaks


@pytest.mark.slow
def test_disabled_writes_nothing(tmp_path, demo_root, monkeypatch):  # noqa: F811
    # An explicit 'online' is probed too: wandb's own init would block for many seconds.
    mode, why = WandbLoggerHook(mode="online")._resolve_mode()
    assert mode == "offline" and "not reachable" in why
    monkeypatch.setenv("WANDB_MODE", "disabled")
    hook = WandbLoggerHook(mode="auto")
    train(tmp_path, demo_root, iters=1, hooks=[hook])
    assert hook.run is None and hook.resolved_mode == "disabled"
    assert not (tmp_path / "wandb").exists() and not (tmp_path / "wandb_run_id.txt").exists()


class _KillWandbService:
    """Kills wandb's service process during iteration ``at``, as the SIGTERM of a
    preemption does (Slurm signals every process of the job step)."""

    priority = "HIGHEST"

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        import os
        import signal
        import subprocess

        if runner.iter + 1 == self.at:
            children = subprocess.run(["pgrep", "-P", str(os.getpid())], capture_output=True,
                                      text=True).stdout.split()  # fmt: skip
            for pid in children:
                os.kill(int(pid), signal.SIGTERM)
            time.sleep(0.5)

    def __getattr__(self, name):  # every other hook method: nothing
        if name.startswith(("before_", "after_")):
            return lambda *a, **k: None
        raise AttributeError(name)


@pytest.mark.slow
def test_a_dead_wandb_service_does_not_stop_training(tmp_path, demo_root, monkeypatch):  # noqa: F811
    from mmengine.hooks import Hook

    monkeypatch.setenv("WANDB_MODE", "offline")
    killer = type("Killer", (_KillWandbService, Hook), {})(at=2)
    hook = WandbLoggerHook(mode="auto")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner = train(tmp_path, demo_root, iters=4, hooks=[hook, killer])
    assert runner.iter == 4 and (tmp_path / "results.json").exists()
    failures = [w for w in caught if "W&B logging failed" in str(w.message)]
    assert len(failures) == 1 and issubclass(failures[0].category, WandbFallbackWarning)
    assert "training goes on" in str(failures[0].message)
    assert hook.run is None
    # The hook dropped wandb's broken service connection: W&B works again in this process.
    import wandb

    run = wandb.init(mode="offline", dir=str(tmp_path / "again"), project="p")
    run.log({"x": 1})
    run.finish()
