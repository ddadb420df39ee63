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
}


def make_application(argv: Sequence[str] = ("wallboard",)) -> QApplication:
    """The running QApplication, or a new one made with QT_ENV_DEFAULTS."""
    app = QApplication.instance()
    if app is not None:
        return app  # type: ignore[return-value]
    for name, value in QT_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    return QApplication(list(argv))
