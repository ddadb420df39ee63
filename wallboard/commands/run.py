"""``wallboard run``: the board, connected to the feed named in the config."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "run"
HELP = "run the board connected to the configured feed"
ENV_CONFIG = "WALLBOARD_CONFIG"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None,
                        help=f"board config (TOML); default ${ENV_CONFIG}, else wallboard.toml in the "
                             "user's, then the site's config directory, else built-in defaults")
    parser.add_argument("--url", default=None, help="feed URL (overrides the config's feed.url)")
    parser.add_argument("--kiosk", action="store_true",
                        help="full screen wall display (no cursor, no chrome)")
    parser.add_argument("--screen", default=None, help="kiosk: screen name or 0-based index")
    parser.add_argument("--theme", choices=("dark", "light", "high-contrast"), default=None)
    parser.add_argument("--quit-after", type=float, default=None, help=argparse.SUPPRESS)  # tests


def default_config_path() -> Path | None:
    from wallboard.config_loader import find_config
    return find_config(None)


def load_config(path: str | None):  # -> BoardConfig
    """Read and validate the board config (search order: docs/configuration.md); raises ConfigError
    (a ValueError) naming the file, line and field."""
    from wallboard.config_loader import load_config as load
    return load(path).config


def run(args: argparse.Namespace) -> int:
    from wallboard.ui.display import display_problem
    problem = display_problem("run")
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from wallboard.config_loader import load_config as load
    from wallboard.config_loader import resolve_token, ssl_context
    try:
        loaded = load(args.config)
        base = loaded.path.parent if loaded.path else None
        token, tls = resolve_token(loaded.config, base), ssl_context(loaded.config, base)
    except (OSError, ValueError) as exc:
        print(f"wallboard run: {exc}", file=sys.stderr)
        return 2
    config = loaded.config
    from wallboard.ui.app import run_board
    # The config file is watched: valid changes apply live (wallboard.ui.live_config).
    return run_board(config, args.url or config.feed.url, token=token, kiosk=args.kiosk,
                     screen=args.screen, theme_name=args.theme, quit_after_s=args.quit_after,
                     config_path=loaded.path, config_text=loaded.text or None, ssl_context=tls,
                     proxy=config.feed.proxy)
