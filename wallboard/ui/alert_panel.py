"""Desktop alert panel: the active alerts with their since-time, acknowledge, and the history."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wallboard.core.alerts import ActiveAlert
from wallboard.core.view_model import ALERT_SEVERITY
from wallboard.ui.alert_badge import paint_icon
from wallboard.ui.alert_center import AlertCenter
from wallboard.ui.theme import Theme, theme

KIND_WORD = {"raised": "raised", "escalated": "escalated", "cleared": "cleared", "acknowledged": "ack'd"}


def severity_icon(level: str, t: Theme, size: int = 18) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    sev = ALERT_SEVERITY.get(level, "ok")
    paint_icon(p, QRectF(1, 1, size - 2, size - 2), sev, t.severity_color(sev), QColor("#111111"))
    p.end()
    return QIcon(pm)


class AlertPanel(QDockWidget):
    COLUMNS = ("Level", "Alert", "Since", "")

    def __init__(self, center: AlertCenter, timezone: str, parent: QWidget | None = None) -> None:
        super().__init__("Alerts", parent)
        self.setObjectName("alerts")
        self.center = center
        self.zone = ZoneInfo(timezone)
        self.theme = theme("dark")
        body = QWidget()
        lay = QVBoxLayout(body)
        self.summary = QLabel("No active alerts")
        lay.addWidget(self.summary)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setIconSize(QSize(18, 18))
        self.table.setWordWrap(True)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for c in (0, 2, 3):
            head.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.table, 2)
        buttons = QHBoxLayout()
        self.ack_button = QPushButton("&Acknowledge")
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.ack_all_button = QPushButton("Acknowledge a&ll")
        self.ack_all_button.clicked.connect(self.center.acknowledge_all)
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.ack_all_button)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        lay.addWidget(QLabel("History"))
        self.history = QListWidget()
        self.history.setWordWrap(True)
        lay.addWidget(self.history, 1)
        self.setWidget(body)
        self.setMinimumWidth(440)
        self._keys: list[tuple[int, str]] = []
        center.changed.connect(self.refresh)
        self.refresh()

    def _clock(self, t: float) -> str:
        return datetime.fromtimestamp(t, UTC).astimezone(self.zone).strftime("%H:%M:%S")

    def refresh(self, _transitions: object = None) -> None:
        active = self.center.active()
        self._fill_table(active)
        n = len(active)
        crit = sum(a.level == "critical" for a in active)
        self.summary.setText("No active alerts" if not n else
                             f"{n} active alert{'s' if n > 1 else ''} · {crit} critical")
        self.history.clear()
        for rec in reversed(self.center.history.recent):
            item_text = (f"{self._clock(float(rec['at']))}  {KIND_WORD.get(str(rec['kind']), rec['kind'])}"
                         f"  {rec['text']}")
            self.history.addItem(item_text)
            item = self.history.item(self.history.count() - 1)
            item.setIcon(severity_icon(str(rec["level"]), self.theme))

    def _fill_table(self, active: list[ActiveAlert]) -> None:
        self.table.setRowCount(len(active))
        self._keys = [a.key for a in active]
        for row, a in enumerate(active):
            level = QTableWidgetItem(severity_icon(a.level, self.theme), a.level.capitalize())
            text = QTableWidgetItem(a.text)
            text.setToolTip(f"{a.rule} · {a.window}")
            since = QTableWidgetItem(self._clock(a.since) + (f" (crit. {self._clock(a.level_since)})"
                                                             if a.level_since != a.since else ""))
            ack = QTableWidgetItem("acknowledged" if a.acknowledged else "")
            for col, item in enumerate((level, text, since, ack)):
                if a.acknowledged:
                    item.setForeground(QColor("#808890"))
                self.table.setItem(row, col, item)
        self.table.resizeRowsToContents()

    def acknowledge_selected(self) -> int:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        done = sum(self.center.acknowledge(self._keys[r]) for r in rows if r < len(self._keys))
        return done

    def sizeHint(self) -> QSize:
        return QSize(460, 600)


def alert_area() -> Qt.DockWidgetArea:
    return Qt.DockWidgetArea.RightDockWidgetArea
