"""The terminal gets a short run; the log file keeps everything."""

import io
import logging

from hrnet_seg.engine.console import final_summary, keep_console_short

PREAMBLE = [
    "\n" + "-" * 60 + "\nSystem environment:\n    sys.platform: linux",
    "Config:\nmodel = dict(...)",
    "Hooks will be executed in the following order:\nbefore_run: ...",
]


def _terminal_and_file_logger(name, tmp_path):
    """A logger like the runner's: a terminal handler first, then ``run.log`` in ``tmp_path``;
    returns it with the terminal's buffer."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    terminal = io.StringIO()
    logger.addHandler(logging.StreamHandler(terminal))
    logger.addHandler(logging.FileHandler(tmp_path / "run.log"))
    return logger, terminal


def test_preamble_goes_to_the_file_only(tmp_path):
    logger, terminal = _terminal_and_file_logger("test_console_short", tmp_path)
    keep_console_short(logger)
    keep_console_short(logger)  # idempotent
    for message in [*PREAMBLE, "Iter(train) [10/300]  loss: 1.0"]:
        logger.info(message)
    for handler in logger.handlers:
        handler.flush()
    assert terminal.getvalue() == "Iter(train) [10/300]  loss: 1.0\n"
    log = (tmp_path / "run.log").read_text()
    assert all(message in log for message in PREAMBLE)
    assert len(logger.handlers[0].filters) == 1


def test_evaluation_iteration_lines_go_to_the_file_only(tmp_path):
    logger, terminal = _terminal_and_file_logger("test_console_eval", tmp_path)
    keep_console_short(logger)
    messages = [
        "Iter(val) [10/10]    eta: 0:00:00  time: 1.0674  data_time: 0.0146",
        "Iter(test) [ 5/500]  eta: 0:01:40  time: 0.2",
        "Iter(val) [10/10]    aAcc: 96.7530  mIoU: 89.1414  mAcc: 94.0327",
        "Iter(train) [300/300]  lr: 1.0e-05  eta: 0:00:00  time: 0.3",
    ]
    for message in messages:
        logger.info(message)
    for handler in logger.handlers:
        handler.flush()
    assert terminal.getvalue().splitlines() == messages[2:]
    assert all(m in (tmp_path / "run.log").read_text() for m in messages)


def test_final_summary_names_score_and_files(tmp_path):
    (tmp_path / "results.json").write_text("{}")
    run = tmp_path / "wandb" / "offline-run-20261127_120000-abc123"
    run.mkdir(parents=True)
    text = final_summary(
        str(tmp_path),
        results={"mIoU": 89.187, "mAcc": 94.1, "aAcc": 96.77},
        checkpoint=str(tmp_path / "iter_300.pth"),
        log=str(tmp_path / "x.log"),
    )
    lines = text.splitlines()
    assert lines[0] == "Done: mIoU 89.19  mAcc 94.10  aAcc 96.77"
    assert f"results:    {tmp_path / 'results.json'}" in text
    assert "iter_300.pth" in text and "x.log" in text
    assert f"wandb sync {run}" in text and "(offline)" in text


def test_final_summary_without_a_score(tmp_path):
    text = final_summary(str(tmp_path), results=None, checkpoint=None)
    assert text.startswith("Done (no validation score") and "W&B" not in text
