"""Share a checkpoint: `python tools/publish_model.py work_dirs/x/iter_80000.pth OUT.pth`

Keeps the weights and plain metadata (iteration, classes, palette, config text), drops
the optimizer, schedulers and mmengine's message hub, and names the file
OUT-<sha256[:8]>.pth, as mmseg's publish_model.py does. The result loads with
torch.load(weights_only=True), so mmseg's own tools/test.py reads it on torch >= 2.6.
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", help="checkpoint saved by tools/train.py (e.g. iter_80000.pth)")
    parser.add_argument("out", help="file to write; -<sha256[:8]> is added before .pth")
    args = parser.parse_args(argv)
    from hrnet_seg.engine.publish import publish
    from hrnet_seg.utils.torch_load import require_file

    require_file(args.src, what="checkpoint")
    print(f"{args.src} -> {publish(args.src, args.out)}")
    return 0


if __name__ == "__main__":
    from hrnet_seg.errors import run_tool

    sys.exit(run_tool(main))
