"""Live configuration: the config file is watched; a valid change applies without a restart, an invalid
one shows a banner naming the file, line and field while the last good configuration keeps running.

Watching: QFileSystemWatcher on the file and its folder (editors save by writing a new file and renaming
it over the old one, which a watch on the file alone loses), debounced, plus a slow poll of the file's
size and time for file systems that send no notifications (network shares).

Applying: goals and other metrics settings rebuild the engine from its own snapshot with the new
settings (exact and cheap: waits are kept in half-second histograms, so a new threshold applies to the
whole day at once); pages, title and theme rebuild the board's widgets; alert rules carry on where
unchanged. The feed connection (url, token, CA) is read at start: a change there needs a restart.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMainWindow, QWidget

from wallboard.config_loader import ConfigError, LoadedConfig, load_file
from wallboard.core.board_config import BoardConfig
from wallboard.core.view_model import BoardViewModel, agent_row
from wallboard.ui.board import BoardWidget
from wallboard.ui.tile_frame import ref_height

log = logging.getLogger("wallboard.ui.config")
DEBOUNCE_MS = 250
POLL_MS = 2000


class ConfigWatcher(QObject):
    loaded = Signal(object)  # LoadedConfig: a valid new configuration
    failed = Signal(object)  # ConfigError

    def __init__(self, path: Path, last_text: str | None = None, *, poll_ms: int = POLL_MS) -> None:
        super().__init__()
        self.path = Path(path)
        self._last_text = last_text
        self._stamp = self._file_stamp()
        self._watcher = QFileSystemWatcher(self)
        self._watch()
        self._watcher.fileChanged.connect(self._soon)
        self._watcher.directoryChanged.connect(self._soon)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.check)
        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self._poll_stamp)
        self._poll.start()

    def _watch(self) -> None:
        wanted = [str(self.path.parent)] + ([str(self.path)] if self.path.exists() else [])
        have = set(self._watcher.files()) | set(self._watcher.directories())
        missing = [p for p in wanted if p not in have]
        if missing:
            self._watcher.addPaths(missing)

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _soon(self, *_: object) -> None:
        # Not restarted while pending: a steady stream of notifications must not postpone it forever.
        if not self._debounce.isActive():
            self._debounce.start()

    def _poll_stamp(self) -> None:
        if self._file_stamp() != self._stamp:
            self._soon()

    def check(self) -> None:
        """Read the file now; emit ``loaded`` if its text changed and is valid, ``failed`` if not."""
        self._watch()  # a rename-over replaced the file: watch the new one
        self._stamp = self._file_stamp()
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            text = None
        if text is not None and text == self._last_text:
            return
        try:
            loaded = load_file(self.path)
        except ConfigError as exc:
            if text is None and not self.path.exists():
                return  # mid-save (removed, not yet renamed in): the directory event will follow
            self._last_text = text
            log.warning("config not applied: %s", exc)
            self.failed.emit(exc)
            return
        self._last_text = loaded.text
        self.loaded.emit(loaded)


class ConfigBanner(QLabel):
    """A red bar across the top of the board: the config problem, and that the last good one runs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.hide()

    def show_error(self, error: ConfigError) -> None:
        px = max(12, round(ref_height(self) * 0.02))
        self.setStyleSheet(f"background:#F0643A; color:#111111; font-weight:600; font-size:{px}px;"
                           f"padding:{px // 2}px {px}px; border-radius:{px // 3}px;")
        self.setText(f"Configuration change not applied: {error}\n"
                     "The last good configuration keeps running. Fix the file and save it again.")
        self.show()


class LiveConfig(QObject):
    """Ties a watcher to a BoardWindow: applies valid changes, shows the banner for invalid ones."""

    applied = Signal(object)  # BoardConfig
    rejected = Signal(object)  # ConfigError

    def __init__(self, window: QMainWindow, path: Path, text: str | None = None, *,
                 poll_ms: int = POLL_MS) -> None:
        super().__init__(window)
        self.window = window
        self.banner = ConfigBanner()
        self._place_banner()
        self.watcher = ConfigWatcher(path, text, poll_ms=poll_ms)
        self.watcher.loaded.connect(self._on_loaded)
        self.watcher.failed.connect(self._on_failed)
        self.settings_action: QAction | None = None
        if not getattr(window, "kiosk", True) and window.menuBar().actions():
            file_menu = window.menuBar().actions()[0].menu()
            self.settings_action = QAction("&Settings…", window)
            self.settings_action.triggered.connect(self.open_settings)
            first = file_menu.actions()[0] if file_menu.actions() else None
            file_menu.insertAction(first, self.settings_action)

    def open_settings(self) -> None:
        """Goals and alert rules; saving writes the file, which the watcher then applies."""
        from wallboard.ui.settings_dialog import SettingsDialog
        dialog = SettingsDialog(self.watcher.path, self.window.config, self.window)  # type: ignore[attr-defined]
        if dialog.exec() and dialog.saved is not None:
            self.watcher.check()  # apply now rather than at the next notification

    def _place_banner(self) -> None:
        board = self.window.board  # type: ignore[attr-defined]
        board.layout().insertWidget(0, self.banner)

    def _on_loaded(self, loaded: LoadedConfig) -> None:
        self.banner.hide()
        self.banner.setParent(None)  # out of the board, which apply_config may replace (and delete)
        before = self.window.board  # type: ignore[attr-defined]
        apply_config(self.window, loaded.config)
        self._place_banner()  # the board may have been rebuilt
        if self.window.board is not before and getattr(self.window, "kiosk", False):  # type: ignore[attr-defined]
            from wallboard.ui.kiosk import BurnInDrift  # the old one went with the old board
            k = loaded.config.kiosk
            BurnInDrift(self.window.board, k.drift_px, k.drift_every_s)  # type: ignore[attr-defined]
        self.applied.emit(loaded.config)

    def _on_failed(self, error: ConfigError) -> None:
        self.banner.show_error(error)
        self.rejected.emit(error)


def apply_config(window: QMainWindow, new: BoardConfig) -> None:
    """Switch a running BoardWindow to ``new`` (see the module docstring for what each part does)."""
    w = window
    old: BoardConfig = w.config  # type: ignore[attr-defined]
    if new == old:
        return
    ctl = w.controller  # type: ignore[attr-defined]
    board: BoardWidget = w.board  # type: ignore[attr-defined]
    if new.pages != old.pages or new.title != old.title:
        theme_name = new.theme if new.theme != old.theme else board.theme.name
        fresh = BoardWidget(new, theme_name)
        old_board = board
        w.setCentralWidget(fresh)  # deletes the old board (and takes the banner's parent: re-placed)
        del old_board
        w.board = fresh  # type: ignore[attr-defined]
        board = fresh
    elif new.theme != old.theme:
        board.set_theme(new.theme)
    board.config = new
    old_vm = ctl.vm
    vm = BoardViewModel(new)
    for key in vm.rings.keys() & old_vm.rings.keys():  # sparklines keep their hour of history
        vm.rings[key] = old_vm.rings[key]
    vm.queue_filter, vm.pinned_page = old_vm.queue_filter, old_vm.pinned_page
    if vm.pinned_page is not None and vm.pinned_page >= len(new.pages):
        vm.pinned_page = None
    vm.set_agents([agent_row(a) for a in ctl.engine.agents.values()])
    ctl.reconfigure(new, vm, board)
    w.alerts.set_config(new)  # type: ignore[attr-defined]
    w.alerts.attach(vm)  # type: ignore[attr-defined]
    w.config = new  # type: ignore[attr-defined]
    ctl.refresh()
