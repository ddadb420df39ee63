"""PyInstaller entry point: the same `wallboard` command as the console script."""

import sys

from wallboard.cli import main

if __name__ == "__main__":
    sys.exit(main())
