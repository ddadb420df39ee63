"""The board's QApplication runs on Qt's own event dispatcher, not GLib's, and without Qt's GUI thread pool
(wallboard.ui.qt_app)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
from PySide6.QtCore import QAbstractEventDispatcher
from wallboard.ui.qt_app import make_application
app = make_application()
print(QAbstractEventDispatcher.instance().metaObject().className())
"""


# Blits and fills big enough for Qt's raster engine to share out to its GUI thread pool, if it has one; then
# the threads the process has.
POOL_PROBE = """
import os
from PySide6.QtGui import QColor, QImage, QPainter
from wallboard.ui.qt_app import make_application
app = make_application()
img = QImage(1600, 1200, QImage.Format.Format_ARGB32_Premultiplied)
src = QImage(1600, 1200, QImage.Format.Format_RGB32)
src.fill(QColor(10, 20, 30))
p = QPainter(img)
p.drawImage(0, 0, src)
p.fillRect(0, 0, 1600, 1200, QColor(255, 0, 0, 128))
p.end()
print(len(os.listdir("/proc/self/task")))
"""
OURS = ("QT_NO_GLIB", "QT_NO_GUI_THREADPOOL", "WALLBOARD_QT_THREADPOOL")


def _run(probe: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in OURS}
    r = subprocess.run([sys.executable, "-c", probe], env={**base, "QT_QPA_PLATFORM": "offscreen", **env},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _dispatcher(**env: str) -> str:
    return _run(PROBE, **env)


def test_the_app_runs_on_qts_own_event_dispatcher() -> None:
    assert "Glib" not in _dispatcher()


def test_an_empty_qt_no_glib_brings_glibs_dispatcher_back() -> None:
    assert "Glib" in _dispatcher(QT_NO_GLIB="")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads in /proc")
def test_qts_gui_thread_pool_is_off_unless_asked_for() -> None:
    assert _run(POOL_PROBE) == "1"  # the paints stayed on the one thread
    assert int(_run(POOL_PROBE, WALLBOARD_QT_THREADPOOL="1")) > 1  # the probe does reach the pool
