"""Convert an official HRNet-Semantic-Segmentation checkpoint (FCN or OCR) into this
project's segmentor layout, and write the config that reproduces the official model.

    python tools/convert_checkpoint.py hrnet_ocr_cs_8162_torch11.pth \
        work_dirs/official/hrnet_w48_ocr_cityscapes.pth \
        --config configs/hrnet_w48_ocr_cityscapes.py \
        --write-config work_dirs/official/hrnet_w48_ocr_cityscapes_official.py
    python tools/test.py work_dirs/official/hrnet_w48_ocr_cityscapes_official.py \
        work_dirs/official/hrnet_w48_ocr_cityscapes.pth
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

import hrnet_seg
from hrnet_seg.errors import UserError, run_tool
from hrnet_seg.models.convert import (
    OFFICIAL_ALIGN_CORNERS,
    convert_official_segmentation,
    num_classes_of,
    official_config,
)
from hrnet_seg.utils.torch_load import load_checkpoint_file


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="official checkpoint (.pth)")
    parser.add_argument("dst", help="output checkpoint (.pth)")
    parser.add_argument(
        "--config",
        help="a zoo config of the same width, head and dataset (FCN configs for seg_hrnet, "
        "OCR configs for seg_hrnet_ocr): the result must load strictly into its model",
    )
    parser.add_argument(
        "--write-config",
        metavar="OUT.py",
        help="also write a config (--config plus reproduce='official', align_corners, the "
        "OCR head's dropout, the checkpoint's classes) that reproduces the official model",
    )
    parser.add_argument(
        "--align-corners",
        choices=["true", "false"],
        help="the official model's MODEL.ALIGN_CORNERS (default: true for OCR, the default of "
        "every official OCR yaml; false for FCN, as in the Cityscapes / LIP / PASCAL-Context "
        "yamls and on master / pytorch-v1.1; true for the HRNet-OCR branch's ADE20K and "
        "COCO-Stuff FCN models)",
    )
    return parser.parse_args(argv)


def _check_head(config: str, head: str, src: str) -> None:
    """The config's model has the checkpoint's head (its written config builds on it)."""
    from hrnet_seg.engine.config import load_config

    is_ocr = isinstance(load_config(config).model.get("decode_head"), list)
    if is_ocr != (head == "ocr"):
        raise UserError(
            f"{src} ({head.upper()} head) does not load into {config}: it has an "
            f"{'OCR' if is_ocr else 'FCN'} model. Use an {head.upper()} config of the same "
            "width and number of classes."
        )


def _check_loads(config: str, state: dict, head: str, src: str, classes: int, name: str) -> None:
    """``state`` loads strictly into ``config``'s model (``name`` is the config the user
    gave, for the messages)."""
    from hrnet_seg.engine.config import load_config
    from hrnet_seg.models import build_segmentor

    cfg = load_config(config)
    if cfg.get("num_classes") not in (None, classes):
        raise UserError(
            f"{src} has {classes} classes; {name} is set up for {cfg.num_classes} (its "
            "dataset's). Use a config of the dataset the checkpoint was trained on."
        )
    cfg.model.backbone.pretrained = None  # weights come from the checkpoint
    model = build_segmentor(cfg.model)
    result = model.load_state_dict(state, strict=False)
    problems = [*result.missing_keys, *result.unexpected_keys]
    problems = [k for k in problems if not k.endswith("num_batches_tracked")]
    if problems:
        raise UserError(
            f"{src} ({head.upper()} head) does not load into {name}: "
            f"{', '.join(problems[:5])}{' ...' if len(problems) > 5 else ''}. "
            f"Use an {'OCR' if head == 'ocr' else 'FCN'} config of the same width "
            f"and number of classes."
        )


def _run(argv=None) -> int:
    args = parse_args(argv)
    if args.write_config and not args.config:
        raise UserError(
            "--write-config needs --config: the zoo config of the checkpoint's width, head "
            "and dataset, e.g. --config configs/hrnet_w48_ocr_cityscapes.py"
        )
    state, head = convert_official_segmentation(load_checkpoint_file(args.src))
    classes = num_classes_of(state, head)
    if args.align_corners is None:
        align_corners = OFFICIAL_ALIGN_CORNERS[head]
    else:
        align_corners = args.align_corners == "true"
    config = args.config
    if config:
        _check_head(config, head, args.src)
    if args.write_config:
        text = official_config(
            base=args.config,
            out=args.write_config,
            head=head,
            num_classes=classes,
            align_corners=align_corners,
            source=os.path.basename(args.src),
        )
        os.makedirs(os.path.dirname(os.path.abspath(args.write_config)), exist_ok=True)
        # Checked before it replaces anything: a config that does not load is never written.
        config = args.write_config + ".tmp.py"
        with open(config, "w") as f:
            f.write(text)
    try:
        if config:
            _check_loads(config, state, head, args.src, classes, name=args.config)
        if args.write_config:
            os.replace(config, args.write_config)
    finally:
        if args.write_config and os.path.exists(config):
            os.remove(config)
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    meta = dict(
        converted_from=os.path.basename(args.src),
        head=head,
        upsample="official",  # the official fusion (models/pretrained.trained_upsample)
        align_corners=align_corners,
        hrnet_seg_version=hrnet_seg.__version__,
    )
    torch.save({"state_dict": state, "meta": meta}, args.dst)
    print(
        f"{args.src}: official {head.upper()} checkpoint, {classes} classes, "
        f"{len(state)} tensors -> {args.dst}"
    )
    if args.write_config:
        print(
            f"config reproducing it (reproduce='official', align_corners={align_corners}) -> "
            f"{args.write_config}\nevaluate: python tools/test.py {args.write_config} {args.dst}"
        )
    return 0


def main(argv=None) -> int:
    return run_tool(lambda: _run(argv), also=(RuntimeError,))


if __name__ == "__main__":
    sys.exit(main())
