"""PyInstaller entry point: the same `wallboard` command as the console script.

Started from a desktop launcher with no arguments (the macOS .app from Finder, the Windows `wallboardw.exe`
from the Start menu), it runs the board instead of printing the command-line help to nowhere.
"""

import sys
from pathlib import Path

from wallboard.cli import main


def _launched_as_app() -> bool:
    exe = Path(sys.executable)
    return (sys.platform == "darwin" and ".app/Contents/MacOS" in exe.as_posix()) or exe.stem == "wallboardw"


if __name__ == "__main__":
    argv = sys.argv[1:]
    if not argv and _launched_as_app():
        argv = ["run"]
    sys.exit(main(argv))
