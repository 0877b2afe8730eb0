"""Turning a config file and command-line flags into a checked, runnable config.

Everything the tools do before building a Runner lives here, so that tools/ stays
thin and every entry point (train, test, the SLURM job) behaves the same: unknown
``--cfg-options`` keys and unregistered types are errors with suggestions, and missing
data or pretrained weights are reported before anything slow starts.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import os
import os.path as osp
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mmengine.config import Config, ConfigDict

from ..datasets import apply_data_root, check_split
from ..datasets.formats import format_of, require_format
from ..errors import ConfigValueError, UserError
from ..models.arch import HRNET_ARCHS, resolve_arch
from ..models.inference import slide_test_cfg
from ..models.pretrained import check_pretrained_in_config
from ..models.reproduce import apply_reproduce
from ..records.run_files import REPO_ROOT
from .cli import TrainOptions
from .ddp import check_ddp_cfg


class ConfigError(UserError, KeyError):
    """A config key or type that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ConfigFileError(UserError, ValueError):
    """A config file that cannot be read as a config: wrong type, syntax, contents."""


# What a config must define for each tool to run (mmengine's Runner reads these).
TRAIN_KEYS = ("model", "train_dataloader", "train_cfg", "optim_wrapper")
TEST_KEYS = ("model", "test_dataloader", "test_cfg", "test_evaluator")
CONFIG_SUFFIXES = (".py", ".yml", ".yaml", ".json")  # what mmengine's Config reads


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _registry_for(path: str):
    """The registry that builds the dict at ``path`` (dotted), or None if not checked."""
    from mmseg.registry import (
        DATA_SAMPLERS,
        DATASETS,
        HOOKS,
        LOOPS,
        METRICS,
        MODELS,
        OPTIM_WRAPPERS,
        OPTIMIZERS,
        PARAM_SCHEDULERS,
        TASK_UTILS,
        TRANSFORMS,
        VISBACKENDS,
        VISUALIZERS,
    )

    parts = path.split(".")
    head = parts[0]
    if "init_cfg" in parts:
        return None  # weight initialisers have their own registry and are checked at build
    if head in ("model", "tta_model"):
        # A decode head's pixel sampler (OHEMPixelSampler) is built from mmseg's TASK_UTILS.
        return TASK_UTILS if "sampler" in parts else MODELS
    if head.endswith("_dataloader"):
        if "pipeline" in parts:
            return TRANSFORMS
        if "sampler" in parts:
            return DATA_SAMPLERS
        return DATASETS if "dataset" in parts else None
    if head.endswith("_evaluator"):
        return METRICS
    if head in ("custom_hooks", "default_hooks"):
        return HOOKS
    if head in ("train_cfg", "val_cfg", "test_cfg"):
        return LOOPS
    if head == "optim_wrapper":
        return OPTIMIZERS if "optimizer" in parts else OPTIM_WRAPPERS
    if head == "param_scheduler":
        return PARAM_SCHEDULERS
    if head == "visualizer":
        return VISBACKENDS if "vis_backends" in parts else VISUALIZERS
    if head == "vis_backends":
        return VISBACKENDS
    return None


def _accepted_params(cls) -> set[str] | None:
    """Keyword arguments ``cls(...)`` accepts, following ``**kwargs`` up the MRO;
    None when anything goes."""
    names: set[str] = set()
    for klass in inspect.getmro(cls):
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names - {"self"}
    return None


def _lookup(registry, type_name):
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope("mmseg"):
        return registry.get(type_name) if isinstance(type_name, str) else type_name


def _require_scope_package(type_name: str, *, path: str) -> None:
    """A type of another OpenMMLab package's scope (``mmdet.MSDeformAttnPixelDecoder``:
    mmseg's Mask2Former) when that package is not installed: say which to install."""
    import importlib.util

    from mmengine.config.utils import MODULE2PACKAGE

    scope = type_name.split(".")[0] if "." in type_name else None
    if scope is None or scope == "mmseg" or importlib.util.find_spec(scope) is not None:
        return
    package = MODULE2PACKAGE.get(scope, scope)
    raise ConfigError(
        f"{path} is {type_name!r}, a class of {package}, which is not installed: "
        f"`pip install {package}` (check with `pip install --dry-run` that it keeps your torch)."
    )


def check_types(cfg: Config) -> None:
    """Every ``type=`` in the config names a registered class."""

    def walk(node, path):
        if isinstance(node, Mapping):
            registry = _registry_for(path)
            type_name = node.get("type")
            known_type = isinstance(type_name, str) and registry is not None
            if known_type and _lookup(registry, type_name) is None:
                _require_scope_package(type_name, path=f"{path}.type")
                known = list(registry.module_dict)
                known += list(getattr(registry.parent, "module_dict", None) or {})
                raise ConfigError(
                    f"Unknown type {type_name!r} at {path}.type (registry "
                    f"'{registry.name}').{_suggest(type_name, known)} Custom classes must "
                    "be registered and imported (custom_imports in the config)."
                )
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list | tuple):
            for i, value in enumerate(node):
                walk(value, f"{path}.{i}")

    walk(cfg._cfg_dict.to_dict(), "")


def check_override_keys(cfg: Config, options: Mapping) -> None:
    """Catch typos in ``--cfg-options`` keys without refusing legitimate new keys.

    A key that exists is fine. A new key in a dict that builds a registered class must
    be an argument of that class (``model.backbone.with_cp=True`` is, ``archh`` is not).
    A new key elsewhere is refused only when it looks like a typo of an existing one.
    """
    for key in options:
        node, parts = cfg._cfg_dict.to_dict(), key.split(".")
        for depth, part in enumerate(parts):
            where = ".".join(parts[:depth]) or "the config"
            if isinstance(node, list | tuple) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            if isinstance(node, Mapping) and part in node:
                node = node[part]
                continue
            last = depth == len(parts) - 1
            if last and isinstance(node, Mapping) and "type" in node:
                registry = _registry_for(".".join(parts[:depth]))
                cls = _lookup(registry, node["type"]) if registry is not None else None
                accepted = _accepted_params(cls) if inspect.isclass(cls) else None
                if accepted is not None and part not in accepted:
                    raise ConfigError(
                        f"Unknown config key {key!r} (--cfg-options): {node['type']} at "
                        f"{where} takes no argument {part!r}.{_suggest(part, accepted)}"
                    )
                if accepted is not None:
                    break
            choices = list(node.keys()) if isinstance(node, Mapping) else []
            hint = _suggest(part, choices)
            if last and isinstance(node, Mapping) and not hint:
                break  # a new key, not a near miss of an existing one
            raise ConfigError(
                f"Unknown config key {key!r} (--cfg-options): {where} has no {part!r}.{hint} "
                "See the resolved config with python tools/print_config.py CONFIG."
            )


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class _Rule:
    """A value a config key must have: its description and the test."""

    expected: str
    holds: Callable[[object], bool]


_POSITIVE_INT = _Rule("a whole number >= 1", lambda v: type(v) is int and v >= 1)
_COUNT = _Rule("a whole number >= 0", lambda v: type(v) is int and v >= 0)
_POSITIVE = _Rule("a number > 0", lambda v: _is_number(v) and v > 0)
_NON_NEGATIVE = _Rule("a number >= 0", lambda v: _is_number(v) and v >= 0)
# Keys users override most, whose bad values otherwise fail deep inside torch or
# mmengine (``'<=' not supported between 'float' and 'str'``) or only at iteration 1.
VALUE_RULES = {
    r"\w+_dataloader\.batch_size": _POSITIVE_INT,
    r"\w+_dataloader\.num_workers": _COUNT,
    r"optim_wrapper\.optimizer\.lr": _POSITIVE,
    r"optim_wrapper\.optimizer\.(momentum|weight_decay)": _NON_NEGATIVE,
    r"train_cfg\.(max_iters|val_interval)": _POSITIVE_INT,
    r"model\.(decode_head|auxiliary_head)(\.\d+)?\.num_classes": _POSITIVE_INT,
}


def _where(key: str, path: str, options: Mapping) -> str:
    return "--cfg-options" if key in options else path


def _check_override_types(cfg: Config, options: Mapping) -> None:
    """An override keeps the kind of value the config has (a number stays a number):
    ``lr=abc`` is a typo, not a new learning rate."""
    for key, new in options.items():
        old = _get(cfg, key)
        if old is None or new is None:
            continue  # unset keys take anything, and None switches a feature off
        if isinstance(old, bool):
            ok = isinstance(new, bool) or new in (0, 1)
            expected = "True or False"
        elif _is_number(old):
            ok = _is_number(new)
            expected = "a number"
        elif isinstance(old, list | tuple):
            ok = isinstance(new, list | tuple)
            expected = "a list such as [1, 2] or 1,2"
        else:
            continue
        if not ok:
            raise ConfigValueError(
                f"Bad value for {key} (--cfg-options): {new!r} is not {expected} (the "
                f"config has {old!r}). Write e.g. {key}={old!r}."
            )


def _get(cfg: Config, key: str, default=None):
    node = cfg._cfg_dict
    for part in key.split("."):
        if isinstance(node, list | tuple) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return default
    return node


def _flatten(node, prefix: str = ""):
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list | tuple) and any(isinstance(v, Mapping) for v in node):
        for i, value in enumerate(node):
            yield from _flatten(value, f"{prefix}.{i}")
    else:
        yield prefix, node


def check_values(cfg: Config, *, path: str, options: Mapping | None = None) -> None:
    """The keys of :data:`VALUE_RULES` hold values of the right kind and range, and our
    backbone's ``arch`` names a preset or a valid stage spec."""
    options = options or {}
    for key, value in _flatten(cfg._cfg_dict.to_dict()):
        rule = next((r for p, r in VALUE_RULES.items() if re.fullmatch(p, key)), None)
        if rule is not None and not rule.holds(value):
            raise ConfigValueError(
                f"Bad value for {key} ({_where(key, path, options)}): {value!r}; expected "
                f"{rule.expected}."
            )
    for name in [k for k in cfg if k.endswith("_dataloader")]:
        loader = cfg.get(name) or {}
        if loader.get("persistent_workers") and loader.get("num_workers") == 0:
            raise ConfigValueError(
                f"{name}.num_workers=0 with {name}.persistent_workers=True: torch needs "
                f"workers to keep; also set {name}.persistent_workers=False."
            )
    backbone = _hrnet_backbone(cfg.get("model") or {})
    if backbone is not None:
        try:
            resolve_arch(backbone["arch"])
        except (ValueError, TypeError) as exc:
            key = "model.backbone.arch"
            raise ConfigValueError(
                f"Bad value for {key} ({_where(key, path, options)}): {exc}"
            ) from None


def _hrnet_backbone(model: Mapping) -> dict | None:
    """``model.backbone`` with ``arch`` and ``multiscale_output`` filled in (the
    constructor's defaults when unset) when it is our HighResolutionNet; None for any
    other backbone, which is not ours to check."""
    model = model.get("module", model)  # a test-time-augmentation wrapper
    backbone = model.get("backbone")
    if not isinstance(backbone, Mapping) or backbone.get("type") != "HighResolutionNet":
        return None
    from ..models import HighResolutionNet

    defaults = inspect.signature(HighResolutionNet).parameters
    return {
        name: backbone.get(name, defaults[name].default) for name in ("arch", "multiscale_output")
    }


def check_required(cfg: Config, *, path: str, keys: tuple[str, ...]) -> None:
    """``cfg`` defines what the tool needs: a Python file of other variables is not a
    segmentation config."""
    missing = [key for key in keys if not cfg.get(key)]
    if missing:
        found = ", ".join(sorted(k for k in cfg if not k.startswith("_"))[:8]) or "nothing"
        raise ConfigFileError(
            f"{path} is not a segmentation config: it defines no {', '.join(missing)} "
            f"(it defines {found}). Use a config from configs/ (e.g. "
            "configs/hrnet_w18_cityscapes.py), or start yours with _base_ = [...] from "
            "configs/_base_/ as they do."
        )


PACKAGE_SEPARATOR = "::"  # mmengine's package scope: mmseg::pidnet/pidnet-s_...py


def is_package_config(path: str) -> bool:
    """``mmseg::pidnet/pidnet-s_...py``: a config shipped inside an installed package."""
    return PACKAGE_SEPARATOR in str(path)


def resolve_config_path(path: str) -> str:
    """The file a config argument names: a path as given, or for mmengine's package
    scope (``mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py``) the file in the
    installed package's ``.mim/configs``, found the way mmengine finds a ``_base_`` of
    that form (never installing anything, unlike ``mmengine.hub.get_config``). Every
    tool reads configs through :func:`read_config_file`, so this is the one place where
    a package-scope path becomes a file."""
    if not is_package_config(path):
        return path
    from mmengine.config.utils import _get_external_cfg_base_path, _get_package_and_cfg_path
    from mmengine.utils import get_installed_path, is_installed

    example = "mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py"
    try:
        package, relative = _get_package_and_cfg_path(path)
    except (ValueError, AssertionError):
        raise ConfigError(
            f"Config {path!r}: not a package config path; write PACKAGE::FOLDER/FILE.py, "
            f"e.g. {example}."
        ) from None
    scope = path.split(PACKAGE_SEPARATOR)[0]
    if not is_installed(package):
        raise ConfigError(
            f"Config {path!r} is in package {package!r}, which is not installed: "
            f"`pip install {package}` (or give the config file's path)."
        )
    try:
        return _get_external_cfg_base_path(get_installed_path(package), relative)
    except FileNotFoundError:
        folder = osp.join(get_installed_path(package), ".mim", "configs")
        family = osp.join(folder, osp.dirname(relative))
        near = (
            _suggest(osp.basename(relative), sorted(os.listdir(family)))
            if osp.isdir(family)
            else _suggest(osp.dirname(relative), sorted(os.listdir(folder)))
            if osp.isdir(folder)
            else ""
        )
        raise ConfigError(
            f"Config {path!r}: {scope} has no config {relative!r} (its configs are in "
            f"{folder}).{near}"
        ) from None


def config_reference(path: str) -> str:
    """How a job that starts in another directory names the config: a package-scope
    path as it is, a file by its absolute path."""
    return path if is_package_config(path) else osp.abspath(path)


def read_config_file(path: str) -> Config:
    """``Config.fromfile`` with the file's problems as one message naming it; ``path``
    may be a package-scope path (:func:`resolve_config_path`)."""
    path = resolve_config_path(path)
    if not osp.isfile(path):
        raise ConfigError(f"Config file not found: {path!r}. The zoo configs are in configs/.")
    if not path.endswith(CONFIG_SUFFIXES):
        raise ConfigFileError(
            f"{path} is not a config file: configs are Python files ({', '.join(CONFIG_SUFFIXES)} "
            "are read), e.g. configs/hrnet_w18_cityscapes.py."
        )
    if path.endswith(".py"):
        # mmengine parses the file without its name ("File <unknown>, line 11").
        try:
            with open(path, encoding="utf-8") as f:
                ast.parse(f.read(), filename=path)
        except SyntaxError as exc:
            text = (exc.text or "").strip()
            raise ConfigFileError(
                f"{path}, line {exc.lineno}: {exc.msg}"
                + (f": {text[:80]!r}" if text else "")
                + ". A config is Python code (dicts of settings), like the files in configs/."
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigFileError(f"Cannot read config {path}: {exc}") from None
    try:
        return Config.fromfile(path)
    except Exception as exc:  # executing a user's file: any error is the file's
        raise ConfigFileError(
            f"Cannot load config {path}: {type(exc).__name__}: {exc}".rstrip()
        ) from None


def load_config(
    path: str, cfg_options: Mapping | None = None, *, required: tuple[str, ...] = ("model",)
) -> Config:
    """Read a config file, apply ``--cfg-options`` and the ``reproduce`` switch, check keys,
    types and values.

    ``required``: the top-level keys the calling tool needs (:data:`TRAIN_KEYS`,
    :data:`TEST_KEYS`).
    """
    cfg = read_config_file(path)
    check_required(cfg, path=path, keys=required)
    if cfg_options:
        check_override_keys(cfg, cfg_options)
        _check_override_types(cfg, cfg_options)
        cfg.merge_from_dict(dict(cfg_options))
    apply_reproduce(cfg)
    check_types(cfg)
    check_values(cfg, path=path, options=cfg_options)
    return cfg


# The metric every tool records (results.json, the console, the leaderboard); mmseg's
# IoUMetric with iou_metrics=['mIoU'] gives the same figures (evaluation/metric.py).
OUR_METRIC = "ConfusionMatrixMetric"
_RECORD_HOOK = "RunRecordHook"  # every run leaves results.json (conventions, point 7)


def _our_evaluator(key: str, evaluator) -> dict:
    """``evaluator`` as our metric: an ``IoUMetric`` of mIoU becomes
    ``ConfusionMatrixMetric`` with its ignore index, ``nan_to_num`` and prefix; anything
    else (mDice, a list of metrics, CityscapesMetric) is named as an error, since the
    record, the console and the leaderboard read mIoU, mAcc and aAcc from our metric."""
    from mmseg.evaluation import IoUMetric

    if isinstance(evaluator, Mapping):
        kind = _lookup(_registry_for(key), evaluator.get("type"))
        if kind is not None and kind.__name__ == OUR_METRIC:
            return dict(evaluator)
        metrics = evaluator.get("iou_metrics", ["mIoU"])
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        if kind is IoUMetric and metrics == ["mIoU"] and not evaluator.get("format_only"):
            kept = ("ignore_index", "nan_to_num", "prefix")
            return dict(type=OUR_METRIC, **{k: evaluator[k] for k in kept if k in evaluator})
    shown = evaluator.get("type") if isinstance(evaluator, Mapping) else evaluator
    raise ConfigValueError(
        f"{key} is {shown!r}: our tools evaluate with {OUR_METRIC} (mIoU, mAcc, aAcc: "
        f"mmseg's IoUMetric(iou_metrics=['mIoU']) gives the same figures); set "
        f"{key}=dict(type='{OUR_METRIC}'), or use mmseg's own tools for other metrics."
    )


def adopt_mmseg_config(cfg: Config) -> Config:
    """What our tools need of any config, ours or mmseg's own
    (``mmseg::pidnet/...py``): evaluation by our metric (an ``IoUMetric`` of mIoU is
    swapped, anything else named), val / test samplers that do not pad with duplicate
    images (our metric sums each image once across ranks), and the hook that writes
    ``results.json``. Our configs already have all three; mmseg's get them here, so that
    every tool, the record and the leaderboard treat both alike."""
    for key in ("val_evaluator", "test_evaluator"):
        if cfg.get(key):
            cfg[key] = _our_evaluator(key, cfg[key])
    for name in ("val_dataloader", "test_dataloader"):
        sampler = (cfg.get(name) or {}).get("sampler")
        if isinstance(sampler, Mapping) and sampler.get("type") == "DefaultSampler":
            sampler["round_up"] = False
    hooks = list(cfg.get("custom_hooks") or [])
    if not any(isinstance(h, Mapping) and h.get("type") == _RECORD_HOOK for h in hooks):
        cfg.custom_hooks = [*hooks, dict(type=_RECORD_HOOK)]
    return cfg


def configure(
    cfg: Config,
    *,
    config_path: str,
    work_dir: str | None = None,
    launcher: str = "none",
    resume: str | None = None,
    options: TrainOptions | None = None,
) -> Config:
    """Apply the tools' flags to ``cfg`` (mmseg's semantics)."""
    import torch

    options = options or TrainOptions()
    adopt_mmseg_config(cfg)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(config_path))[0])
    apply_data_root(cfg, cli_root=options.data_root)
    if options.no_pretrained:
        # Not every backbone takes the argument (DDRNet); DeepLabV3+ sets it on the model.
        for node in (cfg.model, cfg.model.backbone):
            if "pretrained" in node:
                node.pretrained = None
        cfg.model.backbone.pop("init_cfg", None)
    if options.amp:
        if torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
            # Pre-Ampere GPUs: fp16 with dynamic loss scaling (mmengine's wrapper).
            cfg.optim_wrapper.type = "AmpOptimWrapper"
            cfg.optim_wrapper.dtype = "float16"
            cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
        else:
            # bf16 (Ampere+ GPUs, and CPUs): no loss scaling needed (engine/optim.py).
            cfg.optim_wrapper.type = "AutocastOptimWrapper"
            cfg.optim_wrapper.dtype = "bfloat16"
    if resume is not None:
        cfg.resume = True
        cfg.load_from = None if resume == "auto" else resume
    if options.seed is not None or options.deterministic:
        randomness = dict(cfg.get("randomness") or {})
        if options.seed is not None:
            randomness["seed"] = options.seed
        randomness["deterministic"] = options.deterministic
        cfg.randomness = randomness
    if not torch.cuda.is_available():
        env_cfg = cfg.setdefault("env_cfg", ConfigDict())
        env_cfg.setdefault("dist_cfg", ConfigDict())["backend"] = "gloo"
    return cfg


def check_data(cfg: Config, loaders=("train_dataloader", "val_dataloader")) -> None:
    """The layout check of every split the run will read, and that every head predicts
    as many classes as the datasets have."""
    for name in loaders:
        dataset = (cfg.get(name) or {}).get("dataset")
        if not dataset:
            continue
        check_num_classes(cfg, loader=name)
        fmt = format_of(dataset["type"])
        if fmt is None:  # a dataset of another layout: mmseg checks it when it loads
            continue
        prefix = dataset.get("data_prefix", {})
        check_split(
            fmt=fmt,
            data_root=dataset.get("data_root", ""),
            img_dir=prefix.get("img_path", ""),
            seg_map_dir=prefix.get("seg_map_path", ""),
            img_suffix=dataset.get("img_suffix"),
            seg_map_suffix=dataset.get("seg_map_suffix"),
        )


def _heads(model: Mapping):
    """``(key, head config)`` of every decode and auxiliary head (OCR: a cascade list)."""
    model = model.get("module", model)  # a test-time-augmentation wrapper
    for part in ("decode_head", "auxiliary_head"):
        heads = model.get(part)
        if isinstance(heads, Mapping):
            yield f"model.{part}", heads
        elif isinstance(heads, list | tuple):
            for i, head in enumerate(heads):
                yield f"model.{part}.{i}", head


def check_num_classes(cfg: Config, *, loader: str) -> None:
    """Each head has the dataset's number of classes; otherwise training reaches
    ``IndexError: Target 10 is out of bounds`` at iteration 1, or scores wrong classes."""
    from mmseg.registry import DATASETS

    dataset = cfg[loader].dataset
    classes = (dataset.get("metainfo") or {}).get("classes")
    if classes is None:
        cls = _lookup(DATASETS, dataset.get("type"))
        classes = getattr(cls, "METAINFO", {}).get("classes")
    if classes is None:
        return
    for key, head in _heads(cfg.model):
        num = head.get("num_classes")
        if num is not None and num != len(classes):
            raise ConfigValueError(
                f"{key}.num_classes is {num}, but the dataset of {loader} "
                f"({dataset.get('type')}) has {len(classes)} classes: set "
                f"{key}.num_classes={len(classes)} (every head: "
                f"{', '.join(k + '.num_classes' for k, _ in _heads(cfg.model))})."
            )


# BaseDecodeHead's in_index when a head sets none: the backbone's last output.
_DEFAULT_IN_INDEX = -1


def _selected(widths: list[int], in_index) -> list[int] | int | None:
    """The widths a head with ``in_index`` reads (a list for a list of indices), or None
    when an index is out of range."""
    indices = list(in_index) if isinstance(in_index, list | tuple) else [in_index]
    if not all(type(i) is int and -len(widths) <= i < len(widths) for i in indices):
        return None
    selected = [widths[i] for i in indices]
    return selected if isinstance(in_index, list | tuple) else selected[0]


def _as_config_value(value):
    return list(value) if isinstance(value, list | tuple) else value


def _model_base(model: Mapping, arch) -> str | None:
    """The per-width model base in configs/_base_/models/ that sets this arch and its
    head widths together, when there is one."""
    name = next((n for n, a in HRNET_ARCHS.items() if a == arch), None)
    types = [str(head.get("type", "")) for _, head in _heads(model)]
    kind = next(
        (k for m, k in (("OCR", "ocr"), ("FCN", "fcn")) if any(m in t for t in types)), None
    )
    if name is None or kind is None:
        return None
    path = f"configs/_base_/models/{kind}_hrnet_{name.lower().replace('-', '_')}.py"
    return path if (REPO_ROOT / path).is_file() else None


def check_head_widths(cfg: Config) -> None:
    """Every head's ``in_channels`` are the widths our backbone gives at its ``in_index``:
    C, 2C, 4C, 8C of ``model.backbone.arch`` (models/arch.py). Otherwise a head's first
    conv fails with a shape error at the first forward pass, after the model and the
    data are built, without naming a config key."""
    model = cfg.get("model") or {}
    backbone = _hrnet_backbone(model)
    if backbone is None:
        return
    try:
        arch = resolve_arch(backbone["arch"])
    except (ValueError, TypeError):
        return  # check_values names a bad arch
    widths = list(arch.out_channels)
    arch_name = backbone["arch"] if isinstance(backbone["arch"], str) else "a stage spec"
    gives = f"model.backbone.arch ({arch_name}) gives {widths}"
    if not backbone["multiscale_output"]:
        widths = widths[:1]
        gives += f", of which multiscale_output=False keeps {widths}"
    fixes, first, all_outputs = [], None, True
    for key, head in _heads(model):
        in_index = head.get("in_index", _DEFAULT_IN_INDEX)
        expected = _selected(widths, in_index)
        if expected is None:
            indices = "index 0" if len(widths) == 1 else f"indices 0 to {len(widths) - 1}"
            raise ConfigValueError(
                f"{key}.in_index is {_as_config_value(in_index)!r}, but {gives}: use {indices}."
            )
        found = _as_config_value(head.get("in_channels"))
        if found == expected:
            continue
        if first is None:
            shown = "not set" if found is None else f"{found!r}"
            subset = "" if expected == widths else f" (in_index {in_index!r}: {expected})"
            first = f"{key}.in_channels is {shown}, but {gives}{subset}"
        fixes.append(f"{key}.in_channels={expected}")
        all_outputs = all_outputs and expected == widths
        # HRNetV2's concat heads keep the concatenated width (configs/_base_/models): a
        # head that follows that rule keeps following it, one without channels starts to.
        channels = head.get("channels")
        follows = channels is None or (isinstance(found, list) and channels == sum(found))
        if head.get("input_transform") == "resize_concat" and follows:
            fixes.append(f"{key}.channels={sum(expected)}")
    if first is None:
        return
    # A model base sets the heads that read every output; a head on a subset is the user's.
    base = _model_base(model, arch) if all_outputs else None
    inherit = f", or inherit {base}, which sets the arch and its widths together" if base else ""
    raise ConfigValueError(f"{first}: set {', '.join(fixes)}{inherit}.")


def preflight_train(cfg: Config) -> None:
    """What must hold before training starts: the model's widths (instant), data, then
    pretrained weights."""
    check_head_widths(cfg)
    check_data(cfg)
    check_pretrained_in_config(cfg.model)
    check_ddp_cfg(cfg)


def preflight_test(cfg: Config) -> None:
    """What must hold before evaluating: the model's widths, then the test data."""
    check_head_widths(cfg)
    check_data(cfg, loaders=("test_dataloader",))


def configure_test(
    cfg: Config,
    *,
    checkpoint: str,
    mode: str | None = None,
    tta: bool = False,
    out_dir: str | None = None,
    show_dir: str | None = None,
) -> Config:
    """Apply tools/test.py's flags: inference mode, TTA, prediction writers."""
    cfg.load_from = checkpoint
    cfg.resume = False
    if mode == "slide":
        crop = tuple(cfg.model.data_preprocessor.get("size") or (512, 1024))
        cfg.model.test_cfg = slide_test_cfg(crop)
    elif mode == "whole":
        cfg.model.test_cfg = dict(mode="whole")
    if tta:
        if "tta_pipeline" not in cfg or "tta_model" not in cfg:
            raise ConfigError("--tta needs tta_pipeline and tta_model in the config")
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if out_dir or show_dir:
        # --out writes a benchmark's official PNGs; --show-dir pictures fit any dataset.
        fmt = (
            require_format(
                cfg.test_dataloader.dataset.type,
                key="test_dataloader.dataset.type",
                needed_for="--out (predictions in the official benchmark format)",
            ).key
            if out_dir
            else None
        )
        cfg.setdefault("custom_hooks", []).append(
            dict(
                type="PredictionWriterHook",
                dataset_format=fmt,
                out_dir=out_dir,
                show_dir=show_dir,
            )
        )
    return cfg
