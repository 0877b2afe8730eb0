"""What a user (or the machine) does wrong, end to end through the tools (issue 10): bad
config files and options, an unwritable work dir, images and labels of different sizes,
a truncated newest checkpoint, a full disk, two trainings in one work dir, Ctrl-C. Each
ends in one ``error:`` line (or the resume command) with exit 2 (Ctrl-C: 130), never in
a traceback, and never loses a saved checkpoint."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from mmengine.hooks import Hook

from hrnet_seg.utils.torch_load import load_checkpoint_file
from tests.conftest import HANG_GUARD_S, REPO, run_python
from tests.integration.conftest import DEMO, read_json, tiny_options, train

pytestmark = pytest.mark.slow


def options(iters, **kwargs) -> list[str]:
    return [f"{k}={v}" for k, v in tiny_options(iters, **kwargs).items()]


def one_error_line(result) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    error = result.stderr[result.stderr.index("error: ") :]
    assert error.count("\n") == 1, error
    return error.strip()


# -- configs and options ----------------------------------------------------------------


@pytest.mark.parametrize(
    "tool",
    [
        ["tools/train.py"],
        ["tools/test.py", "CONFIG", "none.pth"],
        ["tools/print_config.py"],
        ["tools/benchmark.py"],
        ["slurm/submit.py", "--dry-run"],
    ],
    ids=lambda tool: tool[0],
)
def test_a_config_with_a_syntax_error_through_every_tool(tmp_path, tool):
    config = tmp_path / "mine.py"
    config.write_text("model = dict(\n    type='X',\n    a=1\n    b=2)\n")
    args = [str(config) if a == "CONFIG" else a for a in tool]
    if "CONFIG" not in tool:
        args.insert(1, str(config))
    result = run_python(*args)
    assert one_error_line(result) == (
        f"error: {config}, line 3: invalid syntax. Perhaps you forgot a comma?: 'a=1'. A "
        "config is Python code (dicts of settings), like the files in configs/."
    )


@pytest.mark.parametrize(
    "option, message",
    [
        ("train_dataloader.batch_size=abc", "Bad value for train_dataloader.batch_size"),
        ("train_dataloader.batch_size=-1", "Bad value for train_dataloader.batch_size"),
        ("model.backbone.arch=W999", "Bad value for model.backbone.arch (--cfg-options): "),
        ("optim_wrapper.optimizer.lr=abc", "Bad value for optim_wrapper.optimizer.lr"),
        ("model.decode_head.num_classes=5", "model.decode_head.num_classes is 5, but the "),
    ],
)
def test_bad_options_stop_before_training(tmp_path, demo_root, option, message):
    result = run_python(
        "tools/train.py", DEMO, "--data-root", str(demo_root), "--work-dir", str(tmp_path),
        "--cfg-options", *options(2), option,
    )  # fmt: skip
    assert one_error_line(result).startswith(f"error: {message}")
    assert not glob.glob(str(tmp_path / "*.pth"))


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody can write: root ignores permissions, so as root a read-only
    tmpfs (skipped where mounting is not allowed)."""
    path = tmp_path / "readonly"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs: {mounted.stderr.decode().strip()}")
    yield path
    subprocess.run(["umount", str(path)], check=True)


@pytest.mark.parametrize("tool", ["train", "test"])
def test_a_work_dir_that_is_not_writable(read_only_dir, trained, demo_root, tool):
    work_dir = read_only_dir / "run"
    args = [DEMO, str(trained / "iter_12.pth")] if tool == "test" else [DEMO]
    result = run_python(f"tools/{tool}.py", *args, "--data-root", str(demo_root),
                        "--work-dir", str(work_dir))  # fmt: skip
    assert one_error_line(result).startswith(f"error: Work dir {str(work_dir)!r} is not writable (")


# -- data ---------------------------------------------------------------------------------


def test_a_smaller_val_image_is_named_before_training(tmp_path, demo_root):
    from PIL import Image

    root = tmp_path / "cityscapes"
    shutil.copytree(demo_root, root)
    image = sorted(glob.glob(str(root / "leftImg8bit/val/*/*.png")))[0]
    Image.open(image).resize((64, 32)).save(image)
    work_dir = tmp_path / "work"
    result = run_python("tools/train.py", DEMO, "--data-root", str(root), "--work-dir",
                        str(work_dir), "--cfg-options", *options(2))  # fmt: skip
    error = result.stderr[result.stderr.index("error: ") :]
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert error.startswith(
        "error: Cityscapes: 1 image(s) and label(s) differ in size (width x height):\n"
        f"  {image} is 64x32, its label "
    )
    assert "is 128x64\n" in error
    assert "Iter(train)" not in result.stdout  # not one training iteration was spent


# -- checkpoints --------------------------------------------------------------------------


def test_a_truncated_newest_checkpoint_is_skipped_and_kept(tmp_path, demo_root):
    work_dir = tmp_path / "work"
    train(work_dir, demo_root, iters=6, checkpoint_every=2)
    newest = work_dir / "iter_6.pth"
    cut = newest.read_bytes()[: newest.stat().st_size // 2]
    newest.write_bytes(cut)  # e.g. a copy off the cluster that stopped half-way
    result = run_python(
        "tools/train.py", DEMO, "--data-root", str(demo_root), "--work-dir", str(work_dir),
        "--resume", "--cfg-options", *options(5, checkpoint_every=2),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Skipping {newest}: Could not read checkpoint {str(newest)!r}: " in result.stdout
    assert "Resuming from iter_4.pth, the newest checkpoint that loads; skipped iter_6.pth" in (
        result.stdout
    )
    assert read_json(work_dir / "results.json")["resumed_from_iter"] == 4
    assert newest.read_bytes() == cut  # never deleted


def test_no_readable_checkpoint_is_an_error(tmp_path, demo_root):
    (tmp_path / "iter_2.pth").write_bytes(b"PK\x03\x04 not a whole zip")
    result = run_python(
        "tools/train.py", DEMO, "--data-root", str(demo_root), "--work-dir", str(tmp_path),
        "--resume", "--cfg-options", *options(2),
    )  # fmt: skip
    assert one_error_line(result) == (
        f"error: None of the 1 checkpoint(s) in {str(tmp_path)!r} can be read (iter_2.pth). "
        "Copy them again, or move them out of the work dir to start from scratch."
    )
    assert (tmp_path / "iter_2.pth").exists()


def test_a_failed_save_removes_its_partial_file_and_names_the_path(tmp_path, demo_root,
                                                                   monkeypatch):  # fmt: skip
    from mmengine.fileio.backends import LocalBackend

    from hrnet_seg.engine.runner import CheckpointWriteError

    real_put = LocalBackend.put

    def full_disk(self, obj, filepath):
        if "iter_4" not in str(filepath):
            return real_put(self, obj, filepath)
        with open(filepath, "wb") as f:
            f.write(obj[: len(obj) // 3])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LocalBackend, "put", full_disk)
    with pytest.raises(CheckpointWriteError) as info:
        train(tmp_path, demo_root, iters=4, checkpoint_every=2)
    message = str(info.value)
    assert message.startswith(
        f"Could not write checkpoint {tmp_path / 'iter_4.pth'}: No space left on device. It "
        "needs about "
    )
    assert (
        f"The partial file was removed; the newest complete one is {tmp_path / 'iter_2.pth'}"
        in (message)
    )
    assert not (tmp_path / "iter_4.pth.tmp").exists() and not (tmp_path / "iter_4.pth").exists()
    load_checkpoint_file(tmp_path / "iter_2.pth")


@pytest.fixture
def small_disk(tmp_path, trained):
    """A tmpfs with room for one demo checkpoint and a half (root only)."""
    path = tmp_path / "disk"
    path.mkdir()
    size = (trained / "iter_12.pth").stat().st_size * 3 // 2 + 2**20  # + logs and config
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    yield path
    subprocess.run(["umount", str(path)], check=True)


def test_a_full_disk(small_disk, demo_root):
    work_dir = small_disk / "work"
    command = ["tools/train.py", DEMO, "--data-root", str(demo_root), "--work-dir",
               str(work_dir), "--cfg-options", *options(4, checkpoint_every=2)]  # fmt: skip
    first = run_python(*command)
    error = one_error_line(first)
    assert error.startswith(
        f"error: Could not write checkpoint {work_dir / 'iter_4.pth'}: No space left on device. "
        "It needs about "
    )
    assert "The partial file was removed; the newest complete one is" in error
    assert not glob.glob(str(work_dir / "*.tmp"))
    load_checkpoint_file(work_dir / "iter_2.pth")

    # A save killed on the full disk: its partial file takes every byte left.
    with contextlib.suppress(OSError), open(work_dir / "iter_4.pth.tmp", "wb") as f:
        while True:
            f.write(b"\0" * 2**16)
    assert shutil.disk_usage(small_disk).free < 2**16
    second = run_python(*command, "--resume")
    assert "Removed partial checkpoint(s) of an interrupted save" in second.stdout
    assert "resumed epoch: 0, iter: 2" in second.stdout  # got past the config dump
    assert one_error_line(second).startswith(f"error: Could not write checkpoint {work_dir}")

    # Space freed: the run completes from iter_2.
    subprocess.run(["mount", "-o", "remount,size=200m", str(small_disk)], check=True)
    third = run_python(*command, "--resume")
    assert third.returncode == 0, third.stderr[-3000:]
    assert read_json(work_dir / "results.json")["resumed_from_iter"] == 2


# -- processes ----------------------------------------------------------------------------


def start_training(work_dir, demo_root, log, *extra):
    return subprocess.Popen(
        [sys.executable, "tools/train.py", DEMO, "--data-root", str(demo_root), "--work-dir",
         str(work_dir), *extra],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def wait_for(path, text, proc, timeout=HANG_GUARD_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        assert proc.poll() is None, path.read_text()[-3000:]
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {path} after {timeout} s")


def test_two_trainings_in_one_work_dir(tmp_path, demo_root):
    work_dir = tmp_path / "work"
    long_run = ["--cfg-options", *options(400, checkpoint_every=400)]
    with open(tmp_path / "first.log", "w") as log:
        first = start_training(work_dir, demo_root, log, *long_run)
    try:
        wait_for(tmp_path / "first.log", "Iter(train) [  2/400]", first)
        second = run_python("tools/train.py", DEMO, "--data-root", str(demo_root),
                            "--work-dir", str(work_dir), *long_run)  # fmt: skip
        error = one_error_line(second)
        assert error.startswith(
            f"error: Work dir {str(work_dir)!r} is in use by another training: host "
            f"{os.uname().nodename}, PID {first.pid}, started "
        )
        assert first.poll() is None  # the first run goes on
    finally:
        first.kill()  # a crash: the lock stays behind
        first.wait()
    assert (work_dir / "train.lock").exists()
    third = run_python("tools/train.py", DEMO, "--data-root", str(demo_root), "--work-dir",
                       str(work_dir), "--cfg-options", *options(2))  # fmt: skip
    assert third.returncode == 0, third.stderr[-3000:]
    assert "Took over the lock of a run that ended" in third.stdout
    assert not (work_dir / "train.lock").exists()  # released at the end


def test_ctrl_c_saves_and_says_how_to_resume(tmp_path, demo_root):
    work_dir = tmp_path / "work"
    flags = ["--cfg-options", *options(400, checkpoint_every=400)]
    with open(tmp_path / "first.log", "w") as log:
        first = start_training(work_dir, demo_root, log, *flags)
    wait_for(tmp_path / "first.log", "Iter(train) [  3/400]", first)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=HANG_GUARD_S) == 130
    out = (tmp_path / "first.log").read_text()
    assert "Traceback" not in out
    last = out.strip().splitlines()[-1]
    stopped = int(last.split("stopped after iteration ")[1].split(",")[0])
    saved = work_dir / f"iter_{stopped}.pth"
    assert last == (
        f"SIGINT received: stopped after iteration {stopped}, saved {saved}. Resume with: "
        f"python tools/train.py {DEMO} --data-root {demo_root} {' '.join(flags)} "
        f"--work-dir {work_dir} --resume"
    )
    assert load_checkpoint_file(saved)["meta"]["iter"] == stopped

    # The printed command resumes at the next iteration.
    with open(tmp_path / "second.log", "w") as log:
        second = start_training(work_dir, demo_root, log, *flags, "--resume")
    wait_for(tmp_path / "second.log", f"Iter(train) [{stopped + 2:3d}/400]", second)
    second.send_signal(signal.SIGINT)
    assert second.wait(timeout=HANG_GUARD_S) == 130
    out = (tmp_path / "second.log").read_text()
    assert f"Iter(train) [{stopped + 1:3d}/400]" in out
    assert f"Iter(train) [{stopped:3d}/400]" not in out
    assert not (work_dir / "train.lock").exists()


class _DoubleCtrlC(Hook):
    """Two Ctrl-C within iteration ``at``: the user does not want to wait for its end."""

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            raise AssertionError("the second Ctrl-C did not stop at once")


def test_a_second_ctrl_c_stops_at_once(tmp_path, demo_root, capsys):
    from mmengine.config import ConfigDict

    from hrnet_seg.launch.preemption import FLAG, PreemptionHook, interruptible

    stand_in = ConfigDict(work_dir=str(tmp_path), custom_hooks=[])  # train() builds its own
    # Python's default handler, or SIG_IGN where the suite was started in the background
    # (a shell ignores SIGINT for background jobs): whichever it was comes back.
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(SystemExit) as info, interruptible(stand_in, resume_command="RESUME"):
        train(tmp_path, demo_root, iters=8, checkpoint_every=2,
              hooks=[_DoubleCtrlC(at=3), PreemptionHook(flag=FLAG)])  # fmt: skip
    assert info.value.code == 130
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"Interrupted (second Ctrl-C): stopped at once; complete checkpoints in {tmp_path} "
        "are kept. Resume with: RESUME"
    )
    assert sorted(glob.glob(str(tmp_path / "*.pth"))) == [str(tmp_path / "iter_2.pth")]
    assert signal.getsignal(signal.SIGINT) is before  # restored
