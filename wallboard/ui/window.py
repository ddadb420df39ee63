"""The top-level window: a desktop window with menus and a queue filter, or a kiosk wall display."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMainWindow, QToolBar, QWidget

from wallboard.core.board_config import THEMES, BoardConfig
from wallboard.core.view_model import BoardView
from wallboard.ui.alert_center import AlertCenter
from wallboard.ui.alert_panel import AlertPanel, alert_area
from wallboard.ui.board import BoardWidget
from wallboard.ui.controller import BoardController


class BoardWindow(QMainWindow):
    closing = Signal()

    def __init__(self, config: BoardConfig, *, theme_name: str | None = None, kiosk: bool = False,
                 alert_history: Path | None = None, clock: Callable[[], float] = time.time,
                 parent: QWidget | None = None) -> None:
        """``clock``: wall time for the board (tests and replays pass their own)."""
        super().__init__(parent)
        self.config = config
        self.kiosk = kiosk
        self.board = BoardWidget(config, theme_name)
        self.setCentralWidget(self.board)
        self.controller = BoardController(config, self.board, clock=clock)
        # Alert rules run on every refresh's figures; history goes to alert_history (None: memory only).
        self.alerts = AlertCenter(config, history_path=alert_history)
        self.alerts.attach(self.controller.vm)
        self.alert_panel: AlertPanel | None = None
        self.setWindowTitle(f"{config.title} — wallboard")
        self._queues: list[str] = []
        if not kiosk:
            self.alert_panel = AlertPanel(self.alerts, config.metrics.timezone, self)
            self.addDockWidget(alert_area(), self.alert_panel)
            self._build_menus()
            self.controller.view_applied.connect(self._update_queue_list)
        self.resize(1600, 900)

    # ------------------------------------------------------------------ desktop chrome
    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view = mb.addMenu("&View")
        themes = view.addMenu("&Theme")
        group = QActionGroup(self)
        for name in THEMES:
            a = QAction(name.replace("-", " ").capitalize(), self, checkable=True)
            a.setChecked(name == self.board.theme.name)
            a.triggered.connect(lambda _=False, n=name: self.controller.set_theme(n))
            group.addAction(a)
            themes.addAction(a)
        pages = view.addMenu("&Page")
        pgroup = QActionGroup(self)
        rotate = QAction("Rotate pages", self, checkable=True, checked=True)
        rotate.triggered.connect(lambda: self.controller.pin_page(None))
        pgroup.addAction(rotate)
        pages.addAction(rotate)
        for i, pc in enumerate(self.config.pages):
            a = QAction(f"{i + 1}. {pc.title}", self, checkable=True)
            a.triggered.connect(lambda _=False, n=i: self.controller.pin_page(n))
            pgroup.addAction(a)
            pages.addAction(a)
        full = QAction("&Full screen", self, checkable=True)
        full.setShortcut(QKeySequence.StandardKey.FullScreen)
        full.triggered.connect(lambda on: self.showFullScreen() if on else self.showNormal())
        view.addAction(full)
        if self.alert_panel is not None:
            view.addAction(self.alert_panel.toggleViewAction())
        bar = QToolBar("Filter", self)
        bar.setMovable(False)
        bar.addWidget(QLabel(" Queue: "))
        self.queue_box = QComboBox()
        self.queue_box.addItem("All queues", None)
        self.queue_box.currentIndexChanged.connect(self._queue_chosen)
        bar.addWidget(self.queue_box)
        self.addToolBar(bar)

    def _update_queue_list(self, view: BoardView) -> None:
        queues = self.controller.engine.queue_ids()
        if queues == self._queues:
            return
        self._queues = queues
        current = self.queue_box.currentData()
        self.queue_box.blockSignals(True)
        self.queue_box.clear()
        self.queue_box.addItem("All queues", None)
        for q in queues:
            meta = self.controller.engine.queues.get(q)
            self.queue_box.addItem(meta.name if meta and meta.name else q, q)
        idx = self.queue_box.findData(current)
        self.queue_box.setCurrentIndex(max(0, idx))
        self.queue_box.blockSignals(False)

    def _queue_chosen(self, index: int) -> None:
        self.controller.set_queue_filter(self.queue_box.itemData(index))

    # ------------------------------------------------------------------ events
    def closeEvent(self, event: QCloseEvent) -> None:
        self.controller.stop()
        self.closing.emit()
        super().closeEvent(event)
