"""Wall-display mode: the chosen screen, full screen, no cursor or chrome, burn-in drift, no screensaver."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QCursor, QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

log = logging.getLogger("wallboard.ui.kiosk")

# Positions the layout visits, one step every few minutes: a small loop around the origin.
DRIFT_PATTERN: tuple[tuple[int, int], ...] = (
    (0, 0), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1),
)


@dataclass(frozen=True)
class ScreenInfo:
    name: str
    model: str = ""
    serial: str = ""
    manufacturer: str = ""


class ScreenNotFoundError(ValueError):
    pass


def choose_screen(screens: Sequence[ScreenInfo], primary: int, wanted: str | None) -> int:
    """Index of the screen to use. ``wanted``: None (the primary), an index ("1"), a screen name
    ("HDMI-1"), or a case-insensitive part of its name, model or serial number."""
    if not screens:
        raise ScreenNotFoundError("no screens available")
    if wanted is None or wanted == "":
        return primary if 0 <= primary < len(screens) else 0
    if wanted.isdigit():
        i = int(wanted)
        if i < len(screens):
            return i
        raise ScreenNotFoundError(f"screen index {i} out of range; {describe_screens(screens)}")
    for i, s in enumerate(screens):
        if s.name == wanted:
            return i
    w = wanted.casefold()
    hits = [i for i, s in enumerate(screens)
            if any(w in f.casefold() for f in (s.name, s.model, s.serial, s.manufacturer) if f)]
    if len(hits) == 1:
        return hits[0]
    why = "matches several screens" if hits else "matches no screen"
    raise ScreenNotFoundError(f"--screen {wanted!r} {why}; {describe_screens(screens)}")


def describe_screens(screens: Sequence[ScreenInfo]) -> str:
    parts = [f"{i}: {s.name}" + (f" ({s.model})" if s.model else "") for i, s in enumerate(screens)]
    return "available: " + ", ".join(parts)


def screen_infos() -> tuple[list[QScreen], list[ScreenInfo], int]:
    qs = QGuiApplication.screens()
    infos = [ScreenInfo(s.name(), s.model(), s.serialNumber(), s.manufacturer()) for s in qs]
    primary = QGuiApplication.primaryScreen()
    return qs, infos, qs.index(primary) if primary in qs else 0


def pick_screen(wanted: str | None) -> QScreen:
    qs, infos, primary = screen_infos()
    return qs[choose_screen(infos, primary, wanted)]


def drift_offset(step: int, px: int) -> tuple[int, int]:
    dx, dy = DRIFT_PATTERN[step % len(DRIFT_PATTERN)]
    return dx * px, dy * px


class BurnInDrift(QObject):
    """Moves the layout by a few pixels every few minutes (board.set_drift)."""

    def __init__(self, board: QWidget, px: int, every_s: float) -> None:
        super().__init__(board)
        self.board = board
        self.px = px
        self.step = 0
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.VeryCoarseTimer)
        self.timer.timeout.connect(self.advance)
        if px > 0:
            self.timer.start(round(every_s * 1000))

    def advance(self) -> None:
        self.step += 1
        self.board.set_drift(*drift_offset(self.step, self.px))  # type: ignore[attr-defined]


class ScreenSaverInhibitor:
    """org.freedesktop.ScreenSaver.Inhibit over the D-Bus session bus, where there is one.

    Elsewhere (no session bus, Windows, macOS) it is a logged no-op: configure the display's power
    settings instead (docs/ui.md).
    """

    def __init__(self) -> None:
        self.cookie: int | None = None
        self._iface = None

    def inhibit(self, reason: str = "wall display") -> bool:
        try:
            from PySide6.QtDBus import QDBusConnection, QDBusInterface
        except ImportError:
            log.info("QtDBus not available: screensaver not inhibited")
            return False
        bus = QDBusConnection.sessionBus()
        if not bus.isConnected():
            log.info("no D-Bus session bus: screensaver not inhibited")
            return False
        iface = QDBusInterface("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver",
                               "org.freedesktop.ScreenSaver", bus)
        if not iface.isValid():
            log.info("no org.freedesktop.ScreenSaver service: screensaver not inhibited")
            return False
        reply = iface.call("Inhibit", "wallboard", reason)
        args = reply.arguments()
        if not args:
            log.info("screensaver inhibit refused: %s", reply.errorMessage())
            return False
        self.cookie = int(args[0])
        self._iface = iface
        log.info("screensaver inhibited (cookie %s)", self.cookie)
        return True

    def release(self) -> None:
        if self._iface is not None and self.cookie is not None:
            self._iface.call("UnInhibit", self.cookie)
            self.cookie = None


def enter_kiosk(window: QWidget, screen: QScreen, hide_cursor: bool) -> None:
    """Frameless, full screen on ``screen``, above other windows, no cursor."""
    window.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
                          | Qt.WindowType.Window)
    window.setGeometry(screen.geometry())
    handle = window.windowHandle()
    if handle is None:
        window.create()
        handle = window.windowHandle()
    if handle is not None:
        handle.setScreen(screen)
    if hide_cursor:
        window.setCursor(QCursor(Qt.CursorShape.BlankCursor))
    window.showFullScreen()
