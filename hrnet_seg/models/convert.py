"""Convert official HRNet-Semantic-Segmentation checkpoints to this project's layout.

The official segmentation models (``seg_hrnet.py``, ``seg_hrnet_ocr.py``) are saved
from a ``FullModel`` wrapper: ``model.*`` weights and ``loss.*`` buffers. Their heads
map onto mmseg's ``FCNHead`` / ``OCRHead`` one to one:

=============================================  ==============================================
official                                       this project (mmseg segmentor)
=============================================  ==============================================
``last_layer.{0,1,3}`` (FCN)                   ``decode_head.convs.0.{conv,bn}``, ``conv_seg``
``aux_head.{0,1,3}`` (OCR)                     ``decode_head.0.convs.0.{conv,bn}``, ``.conv_seg``
``conv3x3_ocr.{0,1}``                          ``decode_head.1.bottleneck.{conv,bn}``
``ocr_distri_head.object_context_block.``      ``decode_head.1.object_context_block.``
  ``f_pixel.{0,1.0,2,3.0}``                      ``query_project.{0.conv,0.bn,1.conv,1.bn}``
  ``f_object.{0,1.0,2,3.0}``                     ``key_project.{0.conv,0.bn,1.conv,1.bn}``
  ``f_down.{0,1.0}`` / ``f_up.{0,1.0}``          ``value_project.{conv,bn}`` / ``out_project``
``ocr_distri_head.conv_bn_dropout.{0,1.0}``    ``...object_context_block.bottleneck.{conv,bn}``
``cls_head``                                   ``decode_head.1.conv_seg``
=============================================  ==============================================

The official ``last_layer.0``, ``aux_head.0`` and ``conv3x3_ocr.0`` convs have a bias
and are followed by BN; mmseg's ConvModule has none. The bias is folded into the BN's
running mean (``BN(x + b)`` with mean ``m`` equals ``BN(x)`` with mean ``m - b``), which
is exact in eval mode, and in train mode where batch statistics absorb it anyway.

Weights alone do not reproduce an official model: :func:`official_config` writes the
config that does (``reproduce='official'``: the official fusion resize, its
``align_corners`` in the backbone, both heads and the final resize, the OCR head's
``Dropout2d(0.05)``; the checkpoint's number of classes).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping

import torch

from ..errors import UserError
from .pretrained import BACKBONE_PREFIXES

_BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")

# (official conv, official BN, our ConvModule) for conv(+bias) -> BN pairs.
_FCN_CONVS = [("last_layer.0", "last_layer.1", "decode_head.convs.0")]
_FCN_PLAIN = {"last_layer.3": "decode_head.conv_seg"}

_OCR_BLOCK = "ocr_distri_head.object_context_block"
_OUR_BLOCK = "decode_head.1.object_context_block"
_OCR_CONVS = [
    ("aux_head.0", "aux_head.1", "decode_head.0.convs.0"),
    ("conv3x3_ocr.0", "conv3x3_ocr.1", "decode_head.1.bottleneck"),
    (f"{_OCR_BLOCK}.f_pixel.0", f"{_OCR_BLOCK}.f_pixel.1.0", f"{_OUR_BLOCK}.query_project.0"),
    (f"{_OCR_BLOCK}.f_pixel.2", f"{_OCR_BLOCK}.f_pixel.3.0", f"{_OUR_BLOCK}.query_project.1"),
    (f"{_OCR_BLOCK}.f_object.0", f"{_OCR_BLOCK}.f_object.1.0", f"{_OUR_BLOCK}.key_project.0"),
    (f"{_OCR_BLOCK}.f_object.2", f"{_OCR_BLOCK}.f_object.3.0", f"{_OUR_BLOCK}.key_project.1"),
    (f"{_OCR_BLOCK}.f_down.0", f"{_OCR_BLOCK}.f_down.1.0", f"{_OUR_BLOCK}.value_project"),
    (f"{_OCR_BLOCK}.f_up.0", f"{_OCR_BLOCK}.f_up.1.0", f"{_OUR_BLOCK}.out_project"),
    (
        "ocr_distri_head.conv_bn_dropout.0",
        "ocr_distri_head.conv_bn_dropout.1.0",
        f"{_OUR_BLOCK}.bottleneck",
    ),
]
_OCR_PLAIN = {"aux_head.3": "decode_head.0.conv_seg", "cls_head": "decode_head.1.conv_seg"}


class ConversionError(UserError, ValueError):
    """The checkpoint is not an official HRNet segmentation checkpoint we can convert."""


def _unwrap(checkpoint) -> dict[str, torch.Tensor]:
    state = checkpoint
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ConversionError("expected a state dict (a dict of tensors)")
    state = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if any(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    if any(k.startswith("model.") for k in state):
        # FullModel wrapper: drop the loss's buffers (class weights).
        state = {k[6:]: v for k, v in state.items() if k.startswith("model.")}
    return state


def detect_head(state: Mapping[str, torch.Tensor]) -> str:
    """'fcn' or 'ocr', from the official head keys."""
    if any(k.startswith("cls_head.") for k in state) and any(
        k.startswith("ocr_distri_head.") for k in state
    ):
        return "ocr"
    if any(k.startswith("last_layer.") for k in state):
        return "fcn"
    heads = sorted({k.split(".")[0] for k in state if not k.startswith(BACKBONE_PREFIXES)})
    raise ConversionError(
        "not an official HRNet-Semantic-Segmentation checkpoint: found neither `last_layer` "
        f"(seg_hrnet, FCN) nor `ocr_distri_head` + `cls_head` (seg_hrnet_ocr); non-backbone "
        f"top-level keys: {heads or 'none'}"
    )


def convert_official_segmentation(checkpoint) -> tuple[dict[str, torch.Tensor], str]:
    """Convert an official segmentation checkpoint (already loaded) to a segmentor state
    dict for ``EncoderDecoder`` + FCNHead (``'fcn'``) or ``CascadeEncoderDecoder`` +
    FCNHead + OCRHead (``'ocr'``). Returns ``(state_dict, head)``."""
    state = _unwrap(checkpoint)
    head = detect_head(state)
    convs, plain = (_FCN_CONVS, _FCN_PLAIN) if head == "fcn" else (_OCR_CONVS, _OCR_PLAIN)

    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for key, value in state.items():
        if key.startswith(BACKBONE_PREFIXES):
            out[f"backbone.{key}"] = value
            used.add(key)

    for conv, bn, ours in convs:
        weight_key = f"{conv}.weight"
        if weight_key not in state:
            raise ConversionError(f"missing official key {weight_key!r} ({head} head)")
        out[f"{ours}.conv.weight"] = state[weight_key]
        used.add(weight_key)
        for suffix in _BN_SUFFIXES:
            if f"{bn}.{suffix}" in state:
                out[f"{ours}.bn.{suffix}"] = state[f"{bn}.{suffix}"].clone()
                used.add(f"{bn}.{suffix}")
        if f"{ours}.bn.running_mean" not in out:
            raise ConversionError(f"missing official BN statistics {bn}.running_mean")
        bias_key = f"{conv}.bias"
        if bias_key in state:
            out[f"{ours}.bn.running_mean"] = out[f"{ours}.bn.running_mean"] - state[bias_key]
            used.add(bias_key)

    for theirs, ours in plain.items():
        for suffix in ("weight", "bias"):
            if f"{theirs}.{suffix}" in state:
                out[f"{ours}.{suffix}"] = state[f"{theirs}.{suffix}"]
                used.add(f"{theirs}.{suffix}")
        if f"{ours}.weight" not in out:
            raise ConversionError(f"missing official key {theirs}.weight ({head} head)")

    left = sorted(set(state) - used)
    if left:
        raise ConversionError(
            f"{len(left)} official keys have no counterpart in the {head} layout: "
            f"{', '.join(left[:5])}{' ...' if len(left) > 5 else ''}"
        )
    return out, head


#: The official yamls' MODEL.ALIGN_CORNERS where no flag says otherwise. OCR: the
#: default of the HRNet-OCR branch's lib/config/default.py (True), which no OCR yaml
#: overrides. FCN: False, as in the Cityscapes, LIP and PASCAL-Context yamls and on the
#: master / pytorch-v1.1 branches (interpolate's default); the HRNet-OCR branch's
#: ADE20K and COCO-Stuff FCN yamls keep the default True.
OFFICIAL_ALIGN_CORNERS = {"ocr": True, "fcn": False}
#: The official OCR head: SpatialOCR_Module(dropout=MODEL.OCR.DROPOUT) before cls_head.
OFFICIAL_OCR_DROPOUT = 0.05


def num_classes_of(state: Mapping[str, torch.Tensor], head: str) -> int:
    """Classes of a converted segmentor state dict (its last classifier's rows)."""
    key = "decode_head.conv_seg.weight" if head == "fcn" else "decode_head.1.conv_seg.weight"
    return int(state[key].shape[0])


def check_config(cfg, *, head: str, num_classes: int, src: str, name: str) -> None:
    """The loaded config ``cfg`` (file ``name``) has the checkpoint's head and classes."""
    is_ocr = isinstance(cfg.model.get("decode_head"), list)
    if is_ocr != (head == "ocr"):
        raise ConversionError(
            f"{src} ({head.upper()} head) does not load into {name}: it has an "
            f"{'OCR' if is_ocr else 'FCN'} model. Use an {head.upper()} config of the same "
            "width and number of classes."
        )
    if cfg.get("num_classes") not in (None, num_classes):
        raise ConversionError(
            f"{src} has {num_classes} classes; {name} is set up for {cfg.num_classes} (its "
            "dataset's). Use a config of the dataset the checkpoint was trained on."
        )


def check_loads(cfg, state: Mapping[str, torch.Tensor], *, head: str, src: str, name: str):
    """``state`` loads strictly into the model of the loaded config ``cfg``."""
    from .builder import build_segmentor

    cfg.model.backbone.pretrained = None  # the weights come from the checkpoint
    result = build_segmentor(cfg.model).load_state_dict(state, strict=False)
    problems = [*result.missing_keys, *result.unexpected_keys]
    problems = [k for k in problems if not k.endswith("num_batches_tracked")]
    if problems:
        raise ConversionError(
            f"{src} ({head.upper()} head) does not load into {name}: "
            f"{', '.join(problems[:5])}{' ...' if len(problems) > 5 else ''}. "
            f"Use an {head.upper()} config of the same width and number of classes."
        )


def official_config(
    *,
    base: str,
    out: str,
    head: str,
    num_classes: int,
    align_corners: bool,
    source: str,
) -> str:
    """The text of a config that reproduces a converted official model: ``base`` (a
    zoo config of the same width, head and dataset) with ``reproduce='official'``, the
    given ``align_corners``, the OCR head's dropout and ``num_classes``."""
    base_path, out_dir = os.path.abspath(base), os.path.dirname(os.path.abspath(out))
    cwd = os.getcwd() + os.sep
    if base_path.startswith(cwd) and out_dir.startswith(cwd):
        # Both in the project (configs/, work_dirs/): relative, so the tree can move.
        base_path = os.path.relpath(base_path, out_dir)
    dropout = (
        f" Dropout2d({OFFICIAL_OCR_DROPOUT}) before the OCR classifier." if head == "ocr" else ""
    )
    about = (
        f"The official HRNet-Semantic-Segmentation {head.upper()} model of {source}, converted "
        'by tools/convert_checkpoint.py. reproduce="official": the official fusion resize; '
        f"align_corners={align_corners} in the backbone, every head, the loss and the final "
        f"resize.{dropout} {num_classes} classes. README: 'Fidelity: mmseg or official'."
    )
    lines = [
        *textwrap.wrap(about, width=88, initial_indent="# ", subsequent_indent="# "),
        f"_base_ = [{base_path!r}]",
        'reproduce = "official"',
        f"align_corners = {align_corners}",
        "model = dict(",
        "    backbone=dict(pretrained=None),  # every weight is in the converted checkpoint",
    ]
    if head == "fcn":
        lines.append(f"    decode_head=dict(num_classes={num_classes}),")
    else:
        lines += [
            "    decode_head=[",
            f"        dict(_base_.model.decode_head[0], num_classes={num_classes}),",
            "        dict(",
            "            _base_.model.decode_head[1],",
            f"            num_classes={num_classes},",
            f"            dropout_ratio={OFFICIAL_OCR_DROPOUT},  # official MODEL.OCR.DROPOUT",
            "        ),",
            "    ],",
        ]
    lines.append(")")
    return "\n".join(lines) + "\n"
