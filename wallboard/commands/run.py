"""``wallboard run``: the board, connected to the feed named in the config."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

NAME = "run"
HELP = "run the board connected to the configured feed"
ENV_CONFIG = "WALLBOARD_CONFIG"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None,
                        help=f"board config (TOML); default ${ENV_CONFIG}, else the user's config "
                             "directory's wallboard/board.toml, else built-in defaults")
    parser.add_argument("--url", default=None, help="feed URL (overrides the config's feed.url)")
    parser.add_argument("--kiosk", action="store_true",
                        help="full screen wall display (no cursor, no chrome)")
    parser.add_argument("--screen", default=None, help="kiosk: screen name or 0-based index")
    parser.add_argument("--theme", choices=("dark", "light", "high-contrast"), default=None)
    parser.add_argument("--quit-after", type=float, default=None, help=argparse.SUPPRESS)  # tests


def default_config_path() -> Path | None:
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    from platformdirs import user_config_path
    p = user_config_path("wallboard") / "board.toml"
    return p if p.exists() else None


def load_config(path: str | None):  # -> BoardConfig
    """Read and validate a board config; raises OSError / BoardConfigError with a readable message."""
    from wallboard.core.board_config import BoardConfig, parse_board_config
    p = Path(path) if path else default_config_path()
    if p is None:
        return BoardConfig()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise OSError(f"cannot read config {p}: {exc.strerror or exc}") from exc
    return parse_board_config(text, str(p))


def run(args: argparse.Namespace) -> int:
    from wallboard.ui.display import display_problem
    problem = display_problem("run")
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
    except (OSError, ValueError) as exc:
        print(f"wallboard run: {exc}", file=sys.stderr)
        return 2
    from wallboard.ui.app import run_board
    return run_board(config, args.url or config.feed.url, token=config.feed.token, kiosk=args.kiosk,
                     screen=args.screen, theme_name=args.theme, quit_after_s=args.quit_after)
