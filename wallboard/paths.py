"""Where the shipped resources (scenarios, fonts, sounds, icons, recordings) are, however wallboard was installed.

One lookup for every caller, so the three layouts stay in one place:
- a PyInstaller bundle (the .deb, the Windows installer, the macOS .app): ``sys._MEIPASS/resources``;
- a source checkout (``pip install -e .`` or plain ``python -m wallboard``): ``<checkout>/resources``;
- a wheel (``pip install .``): the wheel's data files, ``<prefix>/share/wallboard/resources`` (pyproject.toml,
  ``[tool.setuptools.data-files]``), in the environment's prefix or the user's (``pip install --user``).
"""

from __future__ import annotations

import sys
import sysconfig
from functools import cache
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _candidates() -> list[Path]:
    frozen = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and frozen:
        return [Path(frozen) / "resources"]
    found = []
    # A checkout: resources/ beside the package *and* a pyproject.toml, so that a stray top-level
    # "resources" directory some other distribution dropped into site-packages is never taken for ours.
    if (_SOURCE_ROOT / "pyproject.toml").is_file():
        found.append(_SOURCE_ROOT / "resources")
    schemes = [sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")]
    for scheme in dict.fromkeys(schemes):
        try:
            data = sysconfig.get_path("data", scheme)
        except KeyError:
            continue
        found.append(Path(data) / "share" / "wallboard" / "resources")
    return found


@cache
def resources_dir() -> Path:
    """The directory holding ``scenarios/``, ``fonts/``, ``sounds/``, ``icons/``, ``recordings/``.

    Falls back to the checkout's path when nothing is found, so that an error names a real place to look."""
    for candidate in _candidates():
        if candidate.is_dir():
            return candidate
    return _SOURCE_ROOT / "resources"


def resource_path(*parts: str) -> Path:
    """``resource_path("sounds", "warning.wav")``: a path inside the shipped resources (may not exist)."""
    return resources_dir().joinpath(*parts)
