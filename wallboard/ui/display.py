"""Whether a GUI can open here, checked before Qt is touched (Qt aborts the process without one)."""

from __future__ import annotations

import os
import sys

NO_DISPLAY_HELP = """\
wallboard: no display found (DISPLAY and WAYLAND_DISPLAY are unset).
  - on a server or in CI:      QT_QPA_PLATFORM=offscreen wallboard {cmd} ...   (runs, draws nothing visible)
  - a virtual screen:          xvfb-run -a -s "-screen 0 1920x1080x24" wallboard {cmd} ...
  - a picture of the board:    wallboard snapshot --demo --out board.png"""


def display_problem(cmd: str, environ: dict[str, str] | None = None,
                    platform: str | None = None) -> str | None:
    """A short explanation when no GUI can open, else None."""
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if not plat.startswith("linux") and "bsd" not in plat:
        return None  # Windows and macOS always have a window system
    if env.get("QT_QPA_PLATFORM") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return NO_DISPLAY_HELP.format(cmd=cmd)
