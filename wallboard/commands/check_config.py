"""``wallboard check-config [FILE]``: validate a configuration file without starting anything."""

from __future__ import annotations

import argparse
import sys

NAME = "check-config"
HELP = "validate a configuration file (exit 1 with file, line and field of each problem)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default=None,
                        help="the file to check (default: the one the board would use: $WALLBOARD_CONFIG, "
                             "then the user's and the site's config directories)")


def run(args: argparse.Namespace) -> int:
    from wallboard.config_loader import ConfigError, find_config, load_file, resolve_token, ssl_context

    path = find_config(args.file)
    if path is None:
        print("wallboard check-config: no config file found; the built-in defaults apply")
        return 0
    try:
        loaded = load_file(path)
        resolve_token(loaded.config, path.parent)
        ssl_context(loaded.config, path.parent)
    except ConfigError as exc:
        for line in exc.details:
            print(line, file=sys.stderr)
        return 1
    cfg = loaded.config
    rules = cfg.alerts.all_rules()
    tiles = sum(len(p.tiles) for p in cfg.pages)
    print(f"{path}: OK · {len(cfg.pages)} page(s), {tiles} tile(s), {len(rules)} alert rule(s), "
          f"time zone {cfg.metrics.timezone}, day starts {cfg.metrics.reset_time}")
    return 0
