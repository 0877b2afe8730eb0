"""The two models a benchmark compares: ours (HighResolutionNet, lean heads, the fast
path) and mmseg 1.2.2's own HRNet with mmseg's heads, in mmseg's default fp32 / NCHW /
eager form, both built from the same config."""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
from mmengine.config import Config

from ..errors import ConfigValueError
from ..models import build_segmentor, resolve_arch
from ..utils.quiet import init_weights_quietly

_MMSEG_HEADS = {"HRNetV2FCNHead": "FCNHead", "HRNetV2OCRHead": "OCRHead"}


def _plain_bn(model_cfg) -> None:
    """Benchmarks run in one process: BN, not SyncBN (no warning, same maths)."""

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "SyncBN":
                node["type"] = "BN"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(model_cfg)


def model_config(
    cfg: Config, *, reference: bool = False, crop: tuple[int, int] | None = None
) -> dict:
    """``cfg.model`` ready to build offline: no pretrained file, BN; with ``reference``
    the same network made of mmseg's classes (``HRNet`` with the same stage spec,
    ``FCNHead`` / ``OCRHead``)."""
    model = copy.deepcopy(cfg.model.to_dict())
    if crop is not None:  # the preprocessor pads training batches to this size
        model["data_preprocessor"]["size"] = tuple(crop)
    backbone = model["backbone"]
    for node in (model, backbone):  # DeepLabV3+ names its weights on the segmentor
        if "pretrained" in node:
            node["pretrained"] = None
    backbone.pop("init_cfg", None)
    _plain_bn(model)
    if reference:
        if backbone.get("type") != "HighResolutionNet":
            # mmseg has HRNet, not Lite-HRNet or HRFormer; a peer config is mmseg's own.
            raise ConfigValueError(
                f"--vs-mmseg times our HRNet against mmseg's own HRNet, and this config's "
                f"backbone is {backbone.get('type')!r}, which has no mmseg counterpart to "
                "compare with (a peer config already is mmseg's model): run without "
                "--vs-mmseg, or use --suite peers to time it beside HRNet"
            )
        model["backbone"] = dict(
            type="HRNet",
            extra=resolve_arch(backbone["arch"]).to_mmseg_extra(),
            norm_cfg=backbone.get("norm_cfg"),
            norm_eval=backbone.get("norm_eval", False),
        )
        heads = model["decode_head"]
        for head in heads if isinstance(heads, list) else [heads]:
            head["type"] = _MMSEG_HEADS.get(head["type"], head["type"])
    return model


def train_pipeline(cfg: Config) -> list:
    """The config's training pipeline (what :func:`~.timing.synthetic_batch` runs)."""
    dataset = cfg.train_dataloader.dataset
    # mmseg's RepeatDataset / ConcatDataset wrappers hold the real dataset inside.
    while "pipeline" not in dataset and "dataset" in dataset:
        dataset = dataset.dataset
    return list(dataset.get("pipeline") or [])


def build(
    cfg: Config,
    *,
    reference: bool = False,
    channels_last: bool = False,
    crop: tuple[int, int] | None = None,
) -> nn.Module:
    model = build_segmentor(model_config(cfg, reference=reference, crop=crop))
    init_weights_quietly(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def compile_segmentor(model: nn.Module, *, backend: str = "inductor") -> nn.Module:
    """``torch.compile`` the networks of a segmentor in place: the backbone, the neck and
    every decode / auxiliary head.

    ``torch.compile(segmentor)`` would compile only ``segmentor.forward``, which the
    paths that matter bypass: mmseg's ``encode_decode`` calls the backbone and then the
    heads' ``predict``, and ``loss`` calls each head's ``self.forward(...)`` directly, so
    a compiled wrapper around the segmentor (or ``module.compile()``, which hooks
    ``__call__``) never runs. Replacing each network's ``forward`` catches every call;
    the losses, the final resize and the data preprocessor stay eager.
    """
    parts = [model.backbone, getattr(model, "neck", None)]
    for name in ("decode_head", "auxiliary_head"):
        heads = getattr(model, name, None)
        parts += list(heads) if isinstance(heads, nn.ModuleList) else [heads]
    for part in parts:
        if part is not None:
            part.forward = torch.compile(part.forward, backend=backend)
    return model


def num_classes(model: nn.Module) -> int:
    """Classes of a built segmentor (the last head's, for a cascade such as OCR)."""
    head = model.decode_head
    return head[-1].num_classes if isinstance(head, nn.ModuleList) else head.num_classes
