"""The one place the QApplication is made, with the process settings the board runs best with."""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication

# Set (unless the environment already says otherwise) before Qt starts: Qt reads them once.
QT_ENV_DEFAULTS = {
    # Qt's own event dispatcher instead of GLib's main loop: the board wakes some 30 times a second (each feed
    # frame, its timers) and a GLib loop iteration costs more per wake-up. Measured with benchmarks/ui.py at
    # ~300 events/s: about 0.9 % of a core less. The board uses nothing that needs GLib's loop (no native
    # GTK dialogs). An empty QT_NO_GLIB brings GLib's back.
    "QT_NO_GLIB": "1",
    # No GUI thread pool: Qt's raster engine hands every blit or fill of 96 spans or more to it and waits. The
    # board's repaints are many small blits (changed digits, cells): each hand-off (waking pool threads,
    # waiting on them) cost more than the blit, some 230 futex calls a second at ~300 events/s (10 with it
    # off) and ~8 % of a refresh's CPU. Full repaints at 4K take no longer without it. Qt reads it when it
    # first makes the pool; set at all (even empty), it is off: WALLBOARD_QT_THREADPOOL=1 leaves it unset.
    "QT_NO_GUI_THREADPOOL": "1",
}


def make_application(argv: Sequence[str] = ("wallboard",)) -> QApplication:
    """The running QApplication, or a new one made with QT_ENV_DEFAULTS (see qt_env_defaults)."""
    app = QApplication.instance()
    if app is not None:
        return app  # type: ignore[return-value]
    for name, value in qt_env_defaults().items():
        os.environ.setdefault(name, value)
    return QApplication(list(argv))


def qt_env_defaults() -> dict[str, str]:
    """QT_ENV_DEFAULTS less what the environment opts out of."""
    env = dict(QT_ENV_DEFAULTS)
    if os.environ.get("WALLBOARD_QT_THREADPOOL") == "1":
        del env["QT_NO_GUI_THREADPOOL"]
    return env
