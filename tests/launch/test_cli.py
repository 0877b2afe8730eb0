"""The command lines of tools/train.py and the Slurm launcher: one set of training options,
a help text for every flag, Slurm's time formats, a sweep's config after --grid, and a
config written after a flag of several values."""

from __future__ import annotations

import argparse
import importlib.util

import pytest

from hrnet_seg.engine.cli import TrainOptions
from hrnet_seg.launch.cli import options_from, sweep_from_args
from hrnet_seg.launch.resources import ResourceError, parse_time_min
from tests.conftest import REPO, run_python

SCRIPTS = ("tools/train.py", "slurm/submit.py", "slurm/sweep.py", "slurm/status.py",
           "slurm/collect.py")  # fmt: skip
#: Every other command-line tool (their help texts too).
TOOLS = ("tools/test.py", "tools/benchmark.py", "tools/benchmark_ddp.py", "tools/evaluate.py",
         "tools/leaderboard.py", "tools/convert_checkpoint.py", "tools/convert_cityscapes.py",
         "tools/make_demo_data.py", "tools/print_config.py", "tools/publish_model.py")  # fmt: skip
TRAIN_FLAGS = ["--data-root", "/data", "--amp", "--seed", "3", "--deterministic",
               "--no-pretrained"]  # fmt: skip
DEMO_CONFIG = REPO / "configs/demo/hrnet_w18s_demo_cityscapes.py"
EXPECTED = TrainOptions(data_root="/data", amp=True, seed=3, deterministic=True, no_pretrained=True)


def load(script: str):
    name = script.replace("/", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, REPO / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parser_of(script: str, argv: list[str], monkeypatch) -> argparse.ArgumentParser:
    """The parser that ``script``'s ``parse_args``/``main`` builds."""
    seen = []
    real = argparse.ArgumentParser.parse_args

    def spy(self, args=None, namespace=None):
        seen.append(self)
        return real(self, args, namespace)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", spy)
    module = load(script)
    with pytest.raises(SystemExit):  # --help
        (getattr(module, "parse_args", None) or module.main)(argv)
    return seen[0]


def test_train_and_the_launcher_read_one_set_of_training_options():
    train = load("tools/train.py").parse_args(["c.py", *TRAIN_FLAGS])
    assert TrainOptions.from_args(train) == EXPECTED
    submit = load("slurm/submit.py").parse_args(["c.py", *TRAIN_FLAGS])
    sweep = load("slurm/sweep.py").parse_args(["c.py", "--grid", "a=1,2", *TRAIN_FLAGS])
    assert options_from(submit).train == EXPECTED == options_from(sweep).train


@pytest.mark.parametrize("script", SCRIPTS + TOOLS)
def test_every_flag_has_a_help_text(script, monkeypatch, capsys):
    parser = parser_of(script, ["--help"], monkeypatch)
    missing = [
        a.option_strings or a.dest
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction) and not a.help
    ]
    assert not missing, f"{script}: flags without help: {missing}"
    assert "--local_rank" in capsys.readouterr().out or script != "tools/train.py"


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("90", 90), ("1:30", 2), ("24:00:00", 1440), ("2-0", 2880), ("1-12", 2160),
     ("1-02:30", 1590), ("0-00:00:59", 1), ("01:00:00", 60)],
)  # fmt: skip
def test_time_accepts_slurm_formats(text, minutes):
    assert parse_time_min(text) == minutes
    args = load("slurm/submit.py").parse_args(["c.py", "--time", text])
    assert args.time_min == minutes


@pytest.mark.parametrize("text", ["1h", "24:00:00:00", "1-", "-5", "1.5", "", "a:b"])
def test_time_refuses_other_formats_with_one_line(text, capsys):
    with pytest.raises(ResourceError, match="expected MM, MM:SS, HH:MM:SS, D-HH"):
        parse_time_min(text)
    with pytest.raises(SystemExit) as info:
        load("slurm/submit.py").parse_args(["c.py", f"--time={text}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --time" in err and "e.g. 24:00:00" in err and "Traceback" not in err


def test_sweep_keeps_the_config_given_after_grid():
    args = load("slurm/sweep.py").parse_args(["--grid", "a=1,2", "b=3", "configs/x.py"])
    spec = sweep_from_args(args)
    assert spec.configs == ("configs/x.py",) and spec.grid == {"a": [1, 2], "b": [3]}


def test_training_options_validate():
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        TrainOptions(seed=-1)
    with pytest.raises(SystemExit):
        load("tools/train.py").parse_args(["c.py", "--seed", "-3"])


@pytest.mark.parametrize(
    ("script", "argv", "flag", "word"),
    [
        ("tools/train.py", ["--cfg-options", "a=1", "configs/x.py"], "--cfg-options",
         "'configs/x.py' is not KEY=VALUE"),
        ("tools/test.py", ["c.py", "--cfg-options", "a=1", "ckpt.pth"], "--cfg-options",
         "'ckpt.pth' is not KEY=VALUE"),
        ("tools/print_config.py", ["--cfg-options", "a=1", "c.py"], "--cfg-options",
         "'c.py' is not KEY=VALUE"),
        ("slurm/submit.py", ["--tags", "a", "b", "configs/x.py", "--dry-run"], "--tags",
         "'configs/x.py' looks like a config file"),
        ("slurm/submit.py", ["--sbatch", "exclusive", "configs/x.py"], "--sbatch",
         "'configs/x.py' looks like a config file"),
        ("slurm/submit.py", ["--cfg-options", "a=1", "configs/x.py"], "--cfg-options",
         "'configs/x.py' is not KEY=VALUE"),
        ("slurm/sweep.py", ["--tags", "t", "configs/x.py", "--grid", "a=1,2"], "--tags",
         "'configs/x.py' looks like a config file"),
        ("slurm/sweep.py", ["--cfg-options", "a=1", "configs/x.yaml"], "--cfg-options",
         "'configs/x.yaml' is not KEY=VALUE"),
        ("tools/benchmark_ddp.py", ["--variants", "fp32:25", "configs/x.py"], "--variants",
         "'configs/x.py' looks like a config file"),
    ],
)  # fmt: skip
def test_a_positional_after_a_flag_of_several_values(script, argv, flag, word, capsys):
    """argparse gives a nargs="+" flag every word up to the next flag: the config written
    after it was taken as a value (then "the following arguments are required: config",
    or DictAction's ValueError traceback). One error line names the flag and the fix."""
    module = load(script)
    with pytest.raises(SystemExit) as info:
        (getattr(module, "parse_args", None) or module.main)(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert f"error: argument {flag}: {word}" in last
    assert last.endswith(f" before {flag}, whose values run up to the next flag")
    assert "Traceback" not in err


def test_values_before_the_config_or_after_a_double_dash():
    train = load("tools/train.py")
    assert train.parse_args(["c.py", "--cfg-options", "a=1", "b=x.py"]).cfg_options == {
        "a": 1, "b": "x.py"}  # fmt: skip
    assert train.parse_args(["--cfg-options", "a=1", "--", "c.py"]).config == "c.py"
    submit = load("slurm/submit.py").parse_args(
        ["c.py", "--tags", "a", "b", "--sbatch", "exclusive", "mail-type=END"]
    )
    assert (submit.config, submit.tags, submit.sbatch) == (
        "c.py", ["a", "b"], ["exclusive", "mail-type=END"])  # fmt: skip


def test_train_tool_says_it_in_one_line():
    result = run_python(
        "tools/train.py", "--cfg-options", "train_cfg.max_iters=2", str(DEMO_CONFIG)
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"train.py: error: argument --cfg-options: {str(DEMO_CONFIG)!r} is not KEY=VALUE "
        "(e.g. train_cfg.max_iters=1000); if it is the config (or another positional "
        "argument), write it before --cfg-options, whose values run up to the next flag"
    )
