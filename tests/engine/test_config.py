import pytest

from hrnet_seg.datasets import ENV_VAR, apply_data_root
from hrnet_seg.engine.config import ConfigError, configure, load_config

W18 = "configs/hrnet_w18_cityscapes.py"


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
        no_pretrained=True,
        amp=True,
        resume="auto",
        seed=3,
        deterministic=True,
    )
    assert cfg.work_dir == "./work_dirs/hrnet_w18_cityscapes"
    assert cfg.model.backbone.pretrained is None
    assert cfg.optim_wrapper.type == "AutocastOptimWrapper"  # bf16, no loss scaler
    assert cfg.optim_wrapper.dtype == "bfloat16"
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.randomness == dict(seed=3, deterministic=True)
    assert cfg.env_cfg.dist_cfg.backend == "gloo"  # no CUDA here
