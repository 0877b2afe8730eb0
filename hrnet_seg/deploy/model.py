"""A trained segmentor ready for inference: its config and weights, loaded by the rules of
``tools/test.py`` (the same config checks, the same inference modes, the same weight
loading), so that deployed predictions are the evaluated ones."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn as nn
from mmengine.config import Config

from ..errors import UserError

MODES = ("whole", "slide", "tta")


class DeployError(UserError, ValueError):
    """A deploy input (model, image, video, option) that cannot be used as given."""


@dataclass(frozen=True)
class LoadedModel:
    """The config as evaluated (mode applied) and the segmentor in eval mode.

    ``model`` is mmseg's segmentor, or its ``SegTTAModel`` wrapper for mode ``tta``;
    ``segmentor`` is always the plain segmentor (what is exported)."""

    cfg: Config
    model: nn.Module
    segmentor: nn.Module
    config_path: str
    checkpoint_path: str | None


def load_config_for_inference(
    config: str, *, mode: str = "whole", cfg_options: Mapping | None = None
) -> Config:
    """The config with ``tools/test.py``'s checks and its ``--mode`` / ``--tta`` applied."""
    from ..engine.config import configure_test, load_config

    if mode not in MODES:
        raise DeployError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    # Inference needs the model and the test pipeline (for the resize before the model),
    # not the evaluator or the data.
    cfg = load_config(config, cfg_options, required=("model", "test_dataloader"))
    configure_test(
        cfg,
        checkpoint="",
        mode="slide" if mode == "slide" else "whole",
        tta=mode == "tta",
    )
    cfg.load_from = None
    return cfg


def load_model(
    config: str,
    checkpoint: str | None,
    *,
    mode: str = "whole",
    device: str = "cpu",
    cfg_options: Mapping | None = None,
) -> LoadedModel:
    """Build the config's segmentor and load ``checkpoint`` into it (every key must match;
    read with ``weights_only=True``: a checkpoint never runs code). ``checkpoint=None``
    keeps the initial weights (for tests and export smoke runs)."""
    from mmengine.model import BaseTTAModel

    from ..engine.checkpoint import load_segmentor_weights
    from ..engine.config import check_head_widths
    from ..models.builder import build_segmentor
    from ..models.sync_bn import SyncBNFallbackWarning
    from ..utils.quiet import quiet_stack
    from ..utils.torch_load import load_checkpoint_file

    quiet_stack()
    cfg = load_config_for_inference(config, mode=mode, cfg_options=cfg_options)
    check_head_widths(cfg)
    # The checkpoint holds every weight: no ImageNet download or file for the backbone.
    segmentor_cfg = cfg.model.module if "module" in cfg.model else cfg.model
    segmentor_cfg.backbone.pretrained = None
    segmentor_cfg.backbone.pop("init_cfg", None)
    device_type = torch.device(device).type
    with warnings.catch_warnings():
        # In eval mode SyncBN and BN compute the same (running statistics): the fallback's
        # advice is for training.
        warnings.simplefilter("ignore", SyncBNFallbackWarning)
        model = build_segmentor(cfg.model, device_type=device_type)
    segmentor = model.module if isinstance(model, BaseTTAModel) else model
    if checkpoint is not None:
        load_segmentor_weights(segmentor, load_checkpoint_file(checkpoint), path=checkpoint)
    model.to(device).eval()
    return LoadedModel(
        cfg=cfg,
        model=model,
        segmentor=segmentor,
        config_path=config,
        checkpoint_path=checkpoint,
    )
