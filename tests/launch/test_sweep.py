"""Sweep files and --grid flags expand into uniquely named runs; bad specs are named."""

from __future__ import annotations

import pytest

from hrnet_seg.launch.sweep import SweepSpec, SweepSpecError, load_sweep_file, parse_grid

CFG = "configs/hrnet_w18_cityscapes.py"


def test_grid_is_the_cartesian_product_in_a_stable_order():
    spec = SweepSpec(
        name="s",
        configs=(CFG, "configs/hrnet_w48_cityscapes.py"),
        grid={"optim_wrapper.optimizer.lr": [0.01, 0.005], "crop_size": [(512, 1024)]},
        cfg_options={"train_cfg.max_iters": 100},
    )
    runs = spec.runs()
    assert [r.name for r in runs] == [
        "hrnet_w18_cityscapes-lr0.01-crop_size512x1024",
        "hrnet_w18_cityscapes-lr0.005-crop_size512x1024",
        "hrnet_w48_cityscapes-lr0.01-crop_size512x1024",
        "hrnet_w48_cityscapes-lr0.005-crop_size512x1024",
    ]
    assert runs[1].cfg_options == {
        "train_cfg.max_iters": 100,
        "optim_wrapper.optimizer.lr": 0.005,
        "crop_size": (512, 1024),
    }
    assert runs[1].params == {"optim_wrapper.optimizer.lr": 0.005, "crop_size": (512, 1024)}
    assert runs[1].tags() == ["hrnet_w18_cityscapes", "lr=0.005", "crop_size=512x1024"]


def test_cli_grid_values_are_literals_or_words():
    assert parse_grid(["a.lr=0.01,1e-3", "crop=[512,512],[768,768]", "arch=w18,w48"]) == {
        "a.lr": [0.01, 0.001],
        "crop": [[512, 512], [768, 768]],
        "arch": ["w18", "w48"],
    }
    with pytest.raises(SweepSpecError, match="expected KEY=V1,V2"):
        parse_grid(["lr"])


def test_each_grid_value_is_read_on_its_own():
    # One typo stays one bad value (the config check names it), not three strings.
    assert parse_grid(["optim_wrapper.optimizer.lr=0.001,abc,0.002"]) == {
        "optim_wrapper.optimizer.lr": [0.001, "abc", 0.002]
    }
    assert parse_grid(["a=(1, 2),'x,y',w48"]) == {"a": [(1, 2), "x,y", "w48"]}
    with pytest.raises(SweepSpecError, match="an empty value between commas"):
        parse_grid(["lr=0.1,,0.2"])


def test_sweep_file(tmp_path):
    path = tmp_path / "lr.yaml"
    path.write_text(
        "name: lr\n"
        f"configs: [{CFG}]\n"
        "grid: {optim_wrapper.optimizer.lr: [0.01, 0.02, 0.04]}\n"
        "max_parallel: 2\n"
        "tags: [ablation]\n"
    )
    spec = load_sweep_file(str(path))
    assert spec.name == "lr" and spec.max_parallel == 2 and spec.tags == ("ablation",)
    assert len(spec.runs()) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nconfigs: [a.py]\ngrid: {lr: 0.1}\n", "grid key 'lr': expected a non-empty list"),
        ("name: x\nconfig: [a.py]\n", "unknown key(s) ['config']"),
        ("name: x y\nconfigs: [a.py]\n", "sweep name 'x y'"),
        ("name: x\nconfigs: []\n", "at least one config"),
        ("name: x\nconfigs: [a.py]\nmax_parallel: 0\n", "max_parallel must be an integer >= 1"),
        ("[1, 2]\n", "expected a mapping"),
        ("name: [\n", "not valid YAML"),
    ],
)
def test_bad_sweep_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SweepSpecError) as info:
        load_sweep_file(str(path))
    assert message in str(info.value)


def test_runs_that_would_share_a_work_dir_are_refused():
    spec = SweepSpec(name="s", configs=(CFG,), grid={"a.lr": [0.1], "b.lr": [0.2]})
    assert len(spec.runs()) == 1  # distinct: lr0.1-lr0.2
    spec = SweepSpec(name="s", configs=(CFG, CFG), grid={})
    with pytest.raises(SweepSpecError, match="share a name"):
        spec.runs()
