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
from hrnet_seg.engine.config import load_config
from hrnet_seg.errors import UserError, run_tool
from hrnet_seg.models.convert import (
    OFFICIAL_ALIGN_CORNERS,
    check_config,
    check_loads,
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
        check_config(load_config(config), head=head, num_classes=classes, src=args.src, name=config)
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
            check_loads(load_config(config), state, head=head, src=args.src, name=args.config)
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
