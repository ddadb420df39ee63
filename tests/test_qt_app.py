"""The board's QApplication runs on Qt's own event dispatcher, not GLib's (wallboard.ui.qt_app)."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
from PySide6.QtCore import QAbstractEventDispatcher
from wallboard.ui.qt_app import make_application
app = make_application()
print(QAbstractEventDispatcher.instance().metaObject().className())
"""


def _dispatcher(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "QT_NO_GLIB"}
    r = subprocess.run([sys.executable, "-c", PROBE], env={**base, "QT_QPA_PLATFORM": "offscreen", **env},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_the_app_runs_on_qts_own_event_dispatcher() -> None:
    assert "Glib" not in _dispatcher()


def test_an_empty_qt_no_glib_brings_glibs_dispatcher_back() -> None:
    assert "Glib" in _dispatcher(QT_NO_GLIB="")
