"""What tools/train.py shows on the terminal: the demo fits a screen (issue 18: at most 60
lines for `make demo`), with a progress line every 10 iterations, no config dump, no
per-class table during training, and the score and files at the end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_python
from tests.integration.conftest import DEMO, read_json

pytestmark = pytest.mark.slow

DEMO_ITERS = 300  # configs/demo: train_cfg.max_iters
ITER_LINE = re.compile(r"Iter\(train\) \[\s*\d+/\d+\]")
PROGRESS_LINE = re.compile(r"^\s+\d+/\d+ images")
#: What `make demo` prints before tools/train.py from a fresh clone: the venv test, three
#: pip installs, pip check and its line, the data command and its 2 lines, the command.
MAKE_LINES = 10


def test_the_demo_fits_a_screen_and_ends_with_score_and_paths(demo_root, tmp_path):
    work_dir = tmp_path / "demo"
    result = run_python(
        "tools/train.py", DEMO, "--data-root", str(demo_root), "--work-dir", str(work_dir),
        "--cfg-options", "train_cfg.max_iters=20", "train_cfg.val_interval=20",
        "train_dataloader.batch_size=2",
        env={"WANDB_MODE": "offline"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    iteration_lines = [line for line in lines if ITER_LINE.search(line)]
    # Every 10 iterations, and once early: mmengine's LoggerHook also logs at the end of
    # the first pass over a dataloader shorter than the interval (4 batches here).
    steps = [int(re.search(r"\[\s*(\d+)/", line).group(1)) for line in iteration_lines]
    assert steps == [4, 10, 20], steps
    # Piped, the evaluation prints a line per tenth of its images; on a terminal it is
    # one bar line.
    progress = [line for line in lines if PROGRESS_LINE.match(line)]
    assert progress, "\n".join(lines)
    # The rest does not grow with the run's length. `make demo` on a terminal: make's own
    # lines, this fixed part, a line at 5 and every 10 iterations, one bar line.
    fixed = len(lines) - len(iteration_lines) - len(progress)
    # Without W&B credentials (a new user), one more line says that W&B logs offline.
    fallback = 0 if any("W&B logs offline" in line for line in lines) else 1
    demo = MAKE_LINES + fixed + fallback + 1 + len(range(10, DEMO_ITERS + 1, 10)) + 1
    print(f"make demo on a terminal: {demo} lines ({fixed} fixed)")
    assert demo <= 60, "\n".join(lines)
    text = "\n".join(lines)
    for file_only in ("Config:", "System environment", "Hooks will be executed",
                      "per class results", "|     Class     |", "syncing is set to",
                      "Exp name:", "Checkpoints will be saved to"):  # fmt: skip
        assert file_only not in text, file_only
    # The run's log file, as the last lines name it (wandb keeps .log files here too).
    log = Path(lines[-3].removeprefix("  log:        ")).read_text()
    assert "per class results" in log and "Config:" in log  # kept in the log file
    # The last lines: the score and where everything went.
    record = read_json(work_dir / "results.json")
    assert lines[-6] == (
        f"Done: mIoU {record['mIoU']:.2f}  mAcc {record['mAcc']:.2f}  aAcc {record['aAcc']:.2f}"
    )
    assert lines[-5] == f"  results:    {work_dir / 'results.json'}"
    assert lines[-4] == f"  checkpoint: {work_dir / 'iter_20.pth'}"
    assert lines[-3].startswith(f"  log:        {work_dir}/")
    assert lines[-2].startswith(f"  W&B run:    {work_dir / 'wandb' / 'offline-run-'}")
    assert lines[-1].startswith("  upload it:  wandb sync ")
