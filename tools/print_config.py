"""Print the fully resolved config: `python tools/print_config.py CONFIG [--cfg-options ...]`."""

from __future__ import annotations

import argparse
import sys

import hrnet_seg  # noqa: F401  (registers the backbone; configs import it too)
from hrnet_seg.errors import run_tool


def main(argv=None) -> int:
    from hrnet_seg.engine.cli import add_cfg_options_arg
    from hrnet_seg.engine.config import load_config

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config", help="config file")
    add_cfg_options_arg(parser)
    args = parser.parse_args(argv)
    # Any config file prints (a _base_ part too); keys, types and values are checked.
    cfg = load_config(args.config, args.cfg_options, required=())
    print(cfg.pretty_text)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
