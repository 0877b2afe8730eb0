import glob
import os

import pytest

from hrnet_seg.datasets import ENV_VAR, apply_data_root
from hrnet_seg.engine.cli import TrainOptions
from hrnet_seg.engine.config import ConfigError, configure, load_config
from hrnet_seg.models.arch import resolve_arch
from tests.conftest import REPO

W18 = "configs/hrnet_w18_cityscapes.py"
# Every config a user trains: the zoo leaves and the demo (not the _base_ parts).
CONFIGS = sorted(
    os.path.relpath(p, REPO)
    for p in glob.glob(str(REPO / "configs" / "**" / "*.py"), recursive=True)
    if "_base_" not in p
)


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"model.backbone.archh": "W18"},
            "Unknown config key 'model.backbone.archh' (--cfg-options): HighResolutionNet at "
            "model.backbone takes no argument 'archh'. Did you mean 'arch'?",
        ),
        (
            {"model.decode_head.num_clases": 3},
            "Unknown config key 'model.decode_head.num_clases' (--cfg-options): HRNetV2FCNHead at "
            "model.decode_head takes no argument 'num_clases'. Did you mean 'num_classes' or "
            "'num_convs'?",
        ),
        (
            {"train_cfg.max_iter": 10},
            "Unknown config key 'train_cfg.max_iter' (--cfg-options): IterBasedTrainLoop at "
            "train_cfg takes no argument 'max_iter'. Did you mean 'max_iters' or "
            "'val_interval'?",
        ),
        (
            {"optim_wrapper.optimizer.momentumm": 0.9},
            "Unknown config key 'optim_wrapper.optimizer.momentumm' (--cfg-options): SGD at "
            "optim_wrapper.optimizer takes no argument 'momentumm'. Did you mean 'momentum'?",
        ),
        (
            {"env_cfg.cudnn_benchmarkk": False},
            "Unknown config key 'env_cfg.cudnn_benchmarkk' (--cfg-options): env_cfg has no "
            "'cudnn_benchmarkk'. Did you mean 'cudnn_benchmark'? See the resolved config with "
            "python tools/print_config.py CONFIG.",
        ),
        (
            {"model.backbone.type": "HRNetX"},
            "Unknown type 'HRNetX' at model.backbone.type (registry 'model'). Did you mean "
            "'HRNet' or 'ResNet' or 'ERFNet'? Custom classes must be registered and imported "
            "(custom_imports in the config).",
        ),
    ],
)
def test_unknown_keys_and_types(options, message):
    with pytest.raises(ConfigError) as info:
        load_config(W18, options)
    assert str(info.value) == message


def test_a_decode_heads_pixel_sampler_is_checked_in_task_utils():
    """OHEMPixelSampler lives in mmseg's TASK_UTILS, not MODELS (the HRFormer configs)."""
    config = str(REPO / "configs" / "hrformer_s_ocr_cityscapes.py")
    assert load_config(config).model.decode_head[1].sampler.type == "OHEMPixelSampler"
    with pytest.raises(ConfigError, match="Unknown type 'OHEMSampler' at model.decode_head.1"):
        load_config(config, {"model.decode_head.1.sampler.type": "OHEMSampler"})


def test_valid_overrides_pass():
    cfg = load_config(
        W18,
        {
            "model.backbone.with_cp": True,  # a constructor argument the config does not set
            "model.decode_head.dropout_ratio": 0.1,
            "train_cfg.max_iters": 10,
            "work_dir": "somewhere",  # new top-level keys are fine
            "model.test_cfg.crop_size": (512, 512),  # new keys of plain dicts too
        },
    )
    assert cfg.model.backbone.with_cp is True and cfg.train_cfg.max_iters == 10


def test_missing_config_file():
    with pytest.raises(ConfigError, match=r"^Config file not found: 'configs/nope.py'"):
        load_config("configs/nope.py")


def test_data_root_precedence(monkeypatch, tmp_path):
    cfg = load_config(W18)
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert apply_data_root(cfg) is None
    assert cfg.train_dataloader.dataset.data_root == "data/cityscapes/"

    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    cfg = load_config(W18)
    apply_data_root(cfg)
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        assert cfg[loader].dataset.data_root == str(tmp_path / "cityscapes")
    ade = load_config("configs/hrnet_w18_ade20k.py")
    apply_data_root(ade)
    assert ade.val_dataloader.dataset.data_root == str(tmp_path / "ade" / "ADEChallengeData2016")

    cfg = load_config(W18)
    apply_data_root(cfg, cli_root="/cli/root")  # --data-root wins over the environment
    assert cfg.val_dataloader.dataset.data_root == "/cli/root"


def test_configure_flags():
    cfg = load_config(W18)
    configure(
        cfg,
        config_path=W18,
        resume="auto",
        options=TrainOptions(no_pretrained=True, amp=True, seed=3, deterministic=True),
    )
    assert cfg.work_dir == "./work_dirs/hrnet_w18_cityscapes"
    assert cfg.model.backbone.pretrained is None
    assert cfg.optim_wrapper.type == "AutocastOptimWrapper"  # bf16, no loss scaler
    assert cfg.optim_wrapper.dtype == "bfloat16"
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.randomness == dict(seed=3, deterministic=True)
    assert cfg.env_cfg.dist_cfg.backend == "gloo"  # no CUDA here


# -- files and values that are not a config (issue 10) ------------------------------------

DEMO = "configs/demo/hrnet_w18s_demo_cityscapes.py"


@pytest.mark.parametrize(
    "name, text, message",
    [
        (
            "syntax.py",
            "model = dict(\n    type='X',\n    a=1\n    b=2)\n",
            "{path}, line 3: invalid syntax. Perhaps you forgot a comma?: 'a=1'. A config is "
            "Python code (dicts of settings), like the files in configs/.",
        ),
        (
            "notes.txt",
            "model = dict()\n",
            "{path} is not a config file: configs are Python files (.py, .yml, .yaml, .json "
            "are read), e.g. configs/hrnet_w18_cityscapes.py.",
        ),
        (
            "prose.py",
            "My config trains HRNet on Cityscapes.\n",
            "{path}, line 1: invalid syntax: 'My config trains HRNet on Cityscapes.'. A config is "
            "Python code (dicts of settings), like the files in configs/.",
        ),
        (
            "other.py",
            "lr = 0.01\nx = [1, 2]\n",
            "{path} is not a segmentation config: it defines no model, train_dataloader, "
            "train_cfg, optim_wrapper (it defines lr, x). Use a config from configs/ (e.g. "
            "configs/hrnet_w18_cityscapes.py), or start yours with _base_ = [...] from "
            "configs/_base_/ as they do.",
        ),
        (
            "raises.py",
            "model = dict(type='X')\nx = 1 / 0\n",
            "Cannot load config {path}: ZeroDivisionError: division by zero",
        ),
    ],
)
def test_files_that_are_not_configs(tmp_path, name, text, message):
    from hrnet_seg.engine.config import TRAIN_KEYS, ConfigFileError

    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigFileError) as info:
        load_config(str(path), required=TRAIN_KEYS)
    assert str(info.value) == message.format(path=path)


@pytest.mark.parametrize(
    "config, options, message",
    [
        (
            DEMO,
            {"train_dataloader.batch_size": "abc"},
            "Bad value for train_dataloader.batch_size (--cfg-options): 'abc' is not a number "
            "(the config has 8). Write e.g. train_dataloader.batch_size=8.",
        ),
        (
            DEMO,
            {"train_dataloader.batch_size": -1},
            "Bad value for train_dataloader.batch_size (--cfg-options): -1; expected a whole "
            "number >= 1.",
        ),
        (
            DEMO,
            {"optim_wrapper.optimizer.lr": "abc"},
            "Bad value for optim_wrapper.optimizer.lr (--cfg-options): 'abc' is not a number "
            "(the config has 0.002). Write e.g. optim_wrapper.optimizer.lr=0.002.",
        ),
        (
            DEMO,
            {"optim_wrapper.optimizer.lr": 0},
            "Bad value for optim_wrapper.optimizer.lr (--cfg-options): 0; expected a number > 0.",
        ),
        (
            W18,
            {"model.backbone.arch": "W999"},
            "Bad value for model.backbone.arch (--cfg-options): Unknown HRNet arch 'W999': "
            "expected one of ['W18', 'W18-Small-v1', 'W18-Small-v2', 'W30', 'W32', 'W40', "
            "'W44', 'W48', 'W64'] or an explicit stage spec (dict with stage1..stage4).",
        ),
        (
            DEMO,
            {"train_dataloader.num_workers": 0},
            "train_dataloader.num_workers=0 with train_dataloader.persistent_workers=True: "
            "torch needs workers to keep; also set train_dataloader.persistent_workers=False.",
        ),
        (
            DEMO,
            {"env_cfg.cudnn_benchmark": "yes"},
            "Bad value for env_cfg.cudnn_benchmark (--cfg-options): 'yes' is not True or False "
            "(the config has False). Write e.g. env_cfg.cudnn_benchmark=False.",
        ),
    ],
)
def test_bad_values(config, options, message):
    from hrnet_seg.engine.config import ConfigValueError

    with pytest.raises(ConfigValueError) as info:
        load_config(config, options)
    assert str(info.value) == message


def test_a_bad_value_in_the_file_names_the_file(tmp_path):
    from hrnet_seg.engine.config import ConfigValueError

    path = tmp_path / "mine.py"
    path.write_text(f"_base_ = ['{REPO / W18}']\ntrain_dataloader = dict(batch_size=0)\n")
    with pytest.raises(ConfigValueError) as info:
        load_config(str(path))
    assert str(info.value) == (
        f"Bad value for train_dataloader.batch_size ({path}): 0; expected a whole number >= 1."
    )


@pytest.mark.parametrize(
    "config, options, message",
    [
        (
            W18,
            {"model.decode_head.num_classes": 5},
            "model.decode_head.num_classes is 5, but the dataset of train_dataloader "
            "(CheckedCityscapesDataset) has 19 classes: set model.decode_head.num_classes=19 "
            "(every head: model.decode_head.num_classes).",
        ),
        (
            "configs/hrnet_w18_ocr_cityscapes.py",
            {"model.decode_head.0.num_classes": 5},  # the auxiliary FCN head of the cascade
            "model.decode_head.0.num_classes is 5, but the dataset of train_dataloader "
            "(CheckedCityscapesDataset) has 19 classes: set model.decode_head.0.num_classes=19 "
            "(every head: model.decode_head.0.num_classes, model.decode_head.1.num_classes).",
        ),
        (
            "configs/hrnet_w18_ade20k.py",
            {"model.decode_head.num_classes": 19},
            "model.decode_head.num_classes is 19, but the dataset of train_dataloader "
            "(CheckedADE20KDataset) has 150 classes: set model.decode_head.num_classes=150 "
            "(every head: model.decode_head.num_classes).",
        ),
    ],
)
def test_heads_predict_the_datasets_classes(config, options, message):
    from hrnet_seg.engine.config import ConfigValueError, check_num_classes

    cfg = load_config(config, options)
    with pytest.raises(ConfigValueError) as info:
        check_num_classes(cfg, loader="train_dataloader")
    assert str(info.value) == message
    check_num_classes(load_config(config), loader="train_dataloader")  # the zoo's own fit


W48 = "configs/hrnet_w48_cityscapes.py"
W18_WIDTHS = "model.backbone.arch (W18) gives [18, 36, 72, 144]"


def _aux_head(**kwargs):
    """An FCN auxiliary head on one output (stride 32: in_index 3)."""
    head = dict(type="FCNHead", in_index=3, in_channels=144, channels=64, num_classes=19)
    return dict(head, **kwargs)


@pytest.mark.parametrize(
    "config, options, edit, message",
    [
        (  # the case: the arch overridden, not the head widths
            W48,
            {"model.backbone.arch": "W18"},
            None,
            "model.decode_head.in_channels is [48, 96, 192, 384], but "
            f"{W18_WIDTHS}: set model.decode_head.in_channels=[18, 36, 72, 144], "
            "model.decode_head.channels=270, or inherit configs/_base_/models/fcn_hrnet_w18.py, "
            "which sets the arch and its widths together.",
        ),
        (  # the OCR cascade: a list of decode heads, the OCR head's channels are its own
            "configs/hrnet_w48_ocr_cityscapes.py",
            {"model.backbone.arch": "W18"},
            None,
            "model.decode_head.0.in_channels is [48, 96, 192, 384], but "
            f"{W18_WIDTHS}: set model.decode_head.0.in_channels=[18, 36, 72, 144], "
            "model.decode_head.0.channels=270, model.decode_head.1.in_channels=[18, 36, 72, 144], "
            "or inherit configs/_base_/models/ocr_hrnet_w18.py, which sets the arch and its "
            "widths together.",
        ),
        (  # an auxiliary head on one output: in_index picks the width; no base sets it
            W18,
            {},
            lambda cfg: cfg.model.update(auxiliary_head=_aux_head(in_channels=72)),
            f"model.auxiliary_head.in_channels is 72, but {W18_WIDTHS} (in_index 3: 144): set "
            "model.auxiliary_head.in_channels=144.",
        ),
        (  # the demo's own model base
            "configs/hrnet_w48_ade20k.py",
            {"model.backbone.arch": "W18-Small-v1"},
            None,
            "model.decode_head.in_channels is [48, 96, 192, 384], but model.backbone.arch "
            "(W18-Small-v1) gives [16, 32, 64, 128]: set model.decode_head.in_channels="
            "[16, 32, 64, 128], model.decode_head.channels=240, or inherit "
            "configs/_base_/models/fcn_hrnet_w18_small_v1.py, which sets the arch and its "
            "widths together.",
        ),
        (  # an arch without a model base, and a head whose channels are not the concat's
            W18,
            {"model.backbone.arch": "W32", "model.decode_head.channels": 256},
            None,
            "model.decode_head.in_channels is [18, 36, 72, 144], but model.backbone.arch (W32) "
            "gives [32, 64, 128, 256]: set model.decode_head.in_channels=[32, 64, 128, 256].",
        ),
        (  # an explicit stage spec (mmseg's format) of W48 under W18's heads
            W18,
            {},
            lambda cfg: cfg.model.backbone.update(arch=resolve_arch("W48").to_mmseg_extra()),
            "model.decode_head.in_channels is [18, 36, 72, 144], but model.backbone.arch "
            "(a stage spec) gives [48, 96, 192, 384]: set model.decode_head.in_channels="
            "[48, 96, 192, 384], model.decode_head.channels=720, or inherit "
            "configs/_base_/models/fcn_hrnet_w48.py, which sets the arch and its widths together.",
        ),
        (  # a config on the width-free base alone: the fix names every key the base leaves
            "configs/_base_/models/fcn_hrnet.py",
            {},
            None,
            "model.decode_head.in_channels is not set, but model.backbone.arch (W48) gives "
            "[48, 96, 192, 384]: set model.decode_head.in_channels=[48, 96, 192, 384], "
            "model.decode_head.channels=720, or inherit configs/_base_/models/fcn_hrnet_w48.py, "
            "which sets the arch and its widths together.",
        ),
        (
            W18,
            {"model.decode_head.in_index": [0, 1, 2, 4]},
            None,
            f"model.decode_head.in_index is [0, 1, 2, 4], but {W18_WIDTHS}: use indices 0 to 3.",
        ),
        (
            W18,
            {"model.backbone.multiscale_output": False},
            None,
            f"model.decode_head.in_index is [0, 1, 2, 3], but {W18_WIDTHS}, of which "
            "multiscale_output=False keeps [18]: use index 0.",
        ),
    ],
)
def test_head_widths_follow_the_arch(config, options, edit, message):
    from hrnet_seg.engine.config import ConfigValueError, check_head_widths

    cfg = load_config(config, options)
    if edit is not None:
        edit(cfg)
    with pytest.raises(ConfigValueError) as info:
        check_head_widths(cfg)
    assert str(info.value) == message


@pytest.mark.parametrize("config", CONFIGS)
def test_every_config_has_its_archs_widths(config):
    from hrnet_seg.engine.config import check_head_widths

    check_head_widths(load_config(config))


def test_matching_widths_pass():
    from hrnet_seg.engine.config import check_head_widths

    cfg = load_config(W18)
    cfg.model.backbone.arch = resolve_arch("W18").to_mmseg_extra()  # the same arch as a spec
    cfg.model.auxiliary_head = _aux_head()
    check_head_widths(cfg)
    cfg.model.backbone.type = "HRNet"  # mmseg's own backbone: not ours to check
    cfg.model.backbone.arch = "W48"
    check_head_widths(cfg)


def test_evaluation_checks_the_widths_first():
    """tools/test.py's preflight, also with the test-time-augmentation wrapper."""
    from hrnet_seg.engine.config import ConfigValueError, configure_test, preflight_test

    cfg = load_config(W48, {"model.backbone.arch": "W18"})
    configure_test(cfg, checkpoint="missing.pth", tta=True)
    with pytest.raises(ConfigValueError, match=r"^model\.decode_head\.in_channels is \[48"):
        preflight_test(cfg)  # before the test data's layout check (no data here)
