"""Print the fully resolved config: `python tools/print_config.py CONFIG [--cfg-options ...]`."""

from __future__ import annotations

import argparse

import hrnet_seg  # noqa: F401  (registers the backbone; configs import it too)


def main(argv=None) -> int:
    from mmengine.config import Config, DictAction

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    print(cfg.pretty_text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
