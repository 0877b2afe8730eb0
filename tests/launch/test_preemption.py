"""The preemption path in one process: a signal mid-run -> checkpoint at a consistent
iteration -> Preempted on every rank -> a restart resumes at the next iteration."""

from __future__ import annotations

import os
import signal

import pytest
from mmengine.hooks import Hook

from hrnet_seg.launch.preemption import Preempted, PreemptionFlag, PreemptionHook
from tests.integration.conftest import read_json, train

pytestmark = pytest.mark.slow


class _SignalAt(Hook):
    """Sends ``signum`` to this process during iteration ``at`` (before its step ends)."""

    priority = "HIGHEST"

    def __init__(self, at, signum):
        self.at, self.signum = at, signum

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            os.kill(os.getpid(), self.signum)


class _FirstIter(Hook):
    def __init__(self):
        self.first = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.first is None:
            self.first = runner.iter + 1


@pytest.fixture
def flag():
    flag = PreemptionFlag().install()
    yield flag
    flag.uninstall()


def _train_until_preempted(tmp_path, demo_root, flag, *, at, signum) -> Preempted:
    """Trains 8 iterations, checkpointing every 4, with ``signum`` sent during iteration
    ``at``; returns the Preempted that stops the run."""
    with pytest.raises(Preempted) as info:
        train(
            tmp_path,
            demo_root,
            iters=8,
            checkpoint_every=4,
            hooks=[_SignalAt(at, signum), PreemptionHook(flag=flag)],
        )
    return info.value


@pytest.mark.parametrize("signum", [signal.SIGUSR2, signal.SIGTERM])
def test_signal_saves_a_checkpoint_and_the_restart_resumes(tmp_path, demo_root, flag, signum):
    stop = _train_until_preempted(tmp_path, demo_root, flag, at=6, signum=signum)
    assert stop.iteration == 6  # the iteration in flight finished, none started after
    assert stop.requeue == (signum == signal.SIGUSR2)
    assert os.path.basename(stop.checkpoint) == "iter_6.pth"
    assert sorted(p.name for p in tmp_path.glob("iter_*.pth")) == ["iter_4.pth", "iter_6.pth"]

    first = _FirstIter()
    runner = train(tmp_path, demo_root, iters=8, checkpoint_every=4, resume="auto", hooks=[first])
    assert first.first == 7  # the checkpoint's iteration + 1
    assert runner.iter == 8
    assert read_json(tmp_path / "results.json")["final_iter"] == 8


def test_signal_on_a_checkpoint_iteration_does_not_save_twice(
    tmp_path, demo_root, flag, monkeypatch
):
    saved = []
    from hrnet_seg.engine.runner import SegRunner

    original = SegRunner.save_checkpoint

    def spy(self, out_dir, filename, *args, **kwargs):
        saved.append(filename)
        return original(self, out_dir, filename, *args, **kwargs)

    monkeypatch.setattr(SegRunner, "save_checkpoint", spy)
    stop = _train_until_preempted(tmp_path, demo_root, flag, at=4, signum=signal.SIGUSR2)
    assert stop.iteration == 4
    assert saved == ["iter_4.pth"]


def test_flag_prefers_requeue_over_stop():
    flag = PreemptionFlag()
    flag._handle(signal.SIGUSR2, None)
    flag._handle(signal.SIGTERM, None)
    assert flag.signum == signal.SIGUSR2


class _SignalInVal(Hook):
    def before_val_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0 and runner._train_loop is not None:
            os.kill(os.getpid(), signal.SIGUSR2)


def test_preemption_during_the_final_validation_validates_again(tmp_path, demo_root, flag):
    with pytest.raises(Preempted) as info:
        train(tmp_path, demo_root, iters=4, checkpoint_every=4,
              hooks=[_SignalInVal(), PreemptionHook(flag=flag)])  # fmt: skip
    assert info.value.iteration == 4
    assert not (tmp_path / "results.json").exists()  # written after a validation: none yet
    train(
        tmp_path,
        demo_root,
        iters=4,
        checkpoint_every=4,
        resume="auto",
        hooks=[PreemptionHook(flag=flag)],
    )  # as TrainJob adds it to every start
    results = read_json(tmp_path / "results.json")
    assert results["status"] == "finished" and results["mIoU"] is not None
    assert not (tmp_path / "preempted_during_val").exists()
