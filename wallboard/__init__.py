"""Real-time contact-centre wallboard."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wallboard")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
