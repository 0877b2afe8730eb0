"""One switch for which implementation a model reproduces: mmseg's or the official code's.

HRNet resamples in four places: the fusion inside the backbone, the heads' HRNetV2
upsample-and-concatenate, the resize of the logits to the labels in the loss, and the
final resize to the image. mmseg and the official code differ in how, and only a
setting applied to all four together reproduces either. So the base model configs set
none of these keys: two top-level variables decide them, and :func:`apply_reproduce`
writes them into ``cfg.model`` when the config is loaded
(``hrnet_seg.engine.config.load_config``, ``tools/print_config.py``):

``reproduce``
    ``'mmseg'`` (the zoo): mmseg 1.2.2's ``HRNet`` fusion (``upsample='mmseg'``),
    ``align_corners=False`` everywhere, no dropout in the OCR head.
    ``'official'``: HRNet-Semantic-Segmentation (``seg_hrnet.py`` /
    ``seg_hrnet_ocr.py``): the fusion resizes straight to the branch's size, the OCR
    head has ``Dropout2d(0.05)`` before ``cls_head``, ``align_corners`` as below.
``align_corners``
    ``None``: the reproduced code's default (mmseg False; official True, its
    ``lib/config/default.py``, inherited by every official OCR yaml); ``False`` for the
    official yamls that set ``ALIGN_CORNERS: False`` (Cityscapes / LIP / PASCAL-Context
    FCN) and for the master / pytorch-v1.1 branches, which never pass it.

A model-dict key that disagrees with the switch (``model.backbone.align_corners=True``
under ``reproduce='mmseg'``) is an error: it would rebuild the mixed model this switch
exists to prevent. The OCR head's ``dropout_ratio`` is a regulariser, not resampling:
an explicit value wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import UserError


@dataclass(frozen=True)
class Reproduction:
    """What one ``reproduce`` value sets."""

    upsample: str
    align_corners: bool  # the default; the official code's is configurable
    ocr_dropout_ratio: float  # mmseg's heads take <= 0 for none
    align_corners_configurable: bool


REPRODUCTIONS: dict[str, Reproduction] = {
    "mmseg": Reproduction("mmseg", False, -1, align_corners_configurable=False),
    "official": Reproduction("official", True, 0.05, align_corners_configurable=True),
}
#: Head types whose ``dropout_ratio`` the switch sets (the official OCR head has one).
OCR_HEADS = ("HRNetV2OCRHead", "OCRHead")
README = "README section 'Fidelity: mmseg or official'"


class ReproduceError(UserError, ValueError):
    """The config's reproduce / align_corners switch is invalid or contradicted."""


def resolve(reproduce: str, align_corners: bool | None) -> tuple[Reproduction, bool]:
    """The reproduction and the align_corners it gives."""
    if reproduce not in REPRODUCTIONS:
        raise ReproduceError(
            f"reproduce={reproduce!r}: expected one of {sorted(REPRODUCTIONS)} ({README})"
        )
    target = REPRODUCTIONS[reproduce]
    if align_corners is None:
        return target, target.align_corners
    if not isinstance(align_corners, bool):
        raise ReproduceError(f"align_corners={align_corners!r}: expected True, False or None")
    if align_corners != target.align_corners and not target.align_corners_configurable:
        raise ReproduceError(
            f"reproduce={reproduce!r} resamples with align_corners={target.align_corners} "
            f"everywhere (mmseg's HRNet has no other); align_corners={align_corners} exists "
            f"in the official code: set reproduce='official' ({README})"
        )
    return target, align_corners


def _heads(model: Mapping):
    for key in ("decode_head", "auxiliary_head"):
        heads = model.get(key)
        if isinstance(heads, Mapping):
            yield key, heads
        elif isinstance(heads, list | tuple):
            yield from ((f"{key}.{i}", h) for i, h in enumerate(heads))


def apply_reproduce(cfg) -> None:
    """Write the top-level ``reproduce`` / ``align_corners`` switch into ``cfg.model``
    (the backbone, every decode and auxiliary head, and through the last decode head
    the final resize). A config without ``reproduce`` is left as it is."""
    if "reproduce" not in cfg or not isinstance(cfg.get("model"), Mapping):
        return
    target, align_corners = resolve(cfg.reproduce, cfg.get("align_corners"))
    switch = f"reproduce={cfg.reproduce!r}, align_corners={cfg.get('align_corners')!r}"
    settings: list[tuple[str, Mapping, str, object]] = []
    backbone = cfg.model.get("backbone")
    if isinstance(backbone, Mapping) and backbone.get("type") == "HighResolutionNet":
        settings += [
            ("model.backbone", backbone, "upsample", target.upsample),
            ("model.backbone", backbone, "align_corners", align_corners),
        ]
    for where, head in _heads(cfg.model):
        settings.append((f"model.{where}", head, "align_corners", align_corners))
    for where, node, key, value in settings:
        if key in node and node[key] != value:
            raise ReproduceError(
                f"{where}.{key}={node[key]!r} contradicts the config's switch ({switch}, "
                f"which gives {key}={value!r}). Resampling must agree in the backbone, every "
                "head and the final resize: set the top-level switch instead, e.g. "
                f"--cfg-options reproduce=official align_corners={node[key]!r} ({README}). "
                "A work dir's resolved copy of a config carries these keys: start from the "
                "original config."
            )
        node[key] = value
    for _, head in _heads(cfg.model):
        if head.get("type") in OCR_HEADS:
            head.setdefault("dropout_ratio", target.ocr_dropout_ratio)
