"""Print the fully resolved config: `python tools/print_config.py CONFIG [--cfg-options ...]`."""

from __future__ import annotations

import argparse

import hrnet_seg  # noqa: F401  (registers the backbone; configs import it too)


def main(argv=None) -> int:
    from mmengine.config import Config, DictAction

    from hrnet_seg.models.reproduce import apply_reproduce

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    apply_reproduce(cfg)  # the keys it writes into cfg.model are part of what runs
    print(cfg.pretty_text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
