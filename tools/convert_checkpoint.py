"""Convert an official HRNet-Semantic-Segmentation checkpoint (FCN or OCR) into this
project's segmentor layout, loadable with `tools/train.py --cfg-options load_from=...`
or mmengine's `load_checkpoint`.

    python tools/convert_checkpoint.py hrnet_w48_cityscapes_cls19_1024x2048_trainset.pth \
        work_dirs/converted/hrnet_w48_cityscapes.pth --config configs/hrnet_w48_cityscapes.py
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

import hrnet_seg
from hrnet_seg.errors import UserError, run_tool
from hrnet_seg.models.convert import convert_official_segmentation
from hrnet_seg.utils.torch_load import load_checkpoint_file


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="official checkpoint (.pth)")
    parser.add_argument("dst", help="output checkpoint (.pth)")
    parser.add_argument(
        "--config",
        help="check the result loads strictly into this config's model "
        "(FCN configs for seg_hrnet, OCR configs for seg_hrnet_ocr)",
    )
    return parser.parse_args(argv)


def _run(argv=None) -> int:
    args = parse_args(argv)
    state, head = convert_official_segmentation(load_checkpoint_file(args.src))
    if args.config:
        from hrnet_seg.engine.config import load_config
        from hrnet_seg.models import build_segmentor

        cfg = load_config(args.config)
        cfg.model.backbone.pretrained = None  # weights come from the checkpoint
        model = build_segmentor(cfg.model)
        result = model.load_state_dict(state, strict=False)
        problems = [*result.missing_keys, *result.unexpected_keys]
        problems = [k for k in problems if not k.endswith("num_batches_tracked")]
        if problems:
            raise UserError(
                f"{args.src} ({head.upper()} head) does not load into {args.config}: "
                f"{', '.join(problems[:5])}{' ...' if len(problems) > 5 else ''}. "
                f"Use an {'OCR' if head == 'ocr' else 'FCN'} config of the same width "
                f"and number of classes."
            )
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    meta = dict(
        converted_from=os.path.basename(args.src),
        head=head,
        hrnet_seg_version=hrnet_seg.__version__,
    )
    torch.save({"state_dict": state, "meta": meta}, args.dst)
    print(f"{args.src}: official {head.upper()} checkpoint, {len(state)} tensors -> {args.dst}")
    return 0


def main(argv=None) -> int:
    return run_tool(lambda: _run(argv), also=(RuntimeError,))


if __name__ == "__main__":
    sys.exit(main())
