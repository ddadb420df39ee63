"""The strip along the bottom: board and page, the ticker (broadcasts and configured messages), the feed's
connection state with the age of the data, and the clock."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from wallboard.core.view_model import BoardView
from wallboard.ui.theme import Theme, make_font, theme
from wallboard.ui.tile_frame import ref_height

_LEVEL_MARK = {"info": "ℹ", "warning": "⚠", "critical": "⚠"}


class StatusStrip(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme: Theme = theme("dark")
        self._key: tuple | None = None
        self.view: BoardView | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def strip_height(self) -> int:
        return round(ref_height(self) * 0.042)

    def set_theme(self, t: Theme) -> None:
        self.theme = t
        self.update()

    def set_view(self, v: BoardView) -> None:
        key = (v.title, v.clock_text, v.page_index, v.page_count, v.page_title, v.feed, v.ticker)
        self.view = v
        if key != self._key:
            self._key = key
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        t = self.theme
        r = QRectF(self.rect())
        p.fillRect(r, t.background)
        v = self.view
        if v is None:
            p.end()
            return
        h = r.height()
        pad = h * 0.35
        font = make_font(h * 0.42, QFont.Weight.DemiBold)
        small = make_font(h * 0.36)
        fm = QFontMetricsF(font)
        # right: feed pill + age + clock
        p.setFont(font)
        clock_w = fm.horizontalAdvance("00:00:00")
        clock = QRectF(r.right() - pad - clock_w, r.top(), clock_w, h)
        p.setPen(t.text)
        p.drawText(clock, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, v.clock_text)
        f = v.feed
        pill_text = f.banner.upper() if f.stale and f.banner else f.label.upper()
        sev_color = t.severity_color(f.severity)
        pill_w = fm.horizontalAdvance(pill_text) + h * 0.9
        age_w = QFontMetricsF(small).horizontalAdvance(f.age_text) + pad
        age = QRectF(clock.left() - pad * 2 - age_w, r.top(), age_w, h)
        p.setFont(small)
        p.setPen(t.text_dim)
        p.drawText(age, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f.age_text)
        pill = QRectF(age.left() - pad - pill_w, r.top() + h * 0.16, pill_w, h * 0.68)
        p.setPen(Qt.PenStyle.NoPen)
        if f.stale:
            p.setBrush(sev_color)
            p.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
            p.setPen(t.background)
        else:
            p.setBrush(sev_color)
            d = h * 0.22
            p.drawEllipse(QRectF(pill.left() + h * 0.2, pill.center().y() - d / 2, d, d))
            p.setPen(t.text)
        p.setFont(font)
        text_rect = pill.adjusted(h * 0.45, 0, -h * (0.45 if f.stale else 0.35), 0)
        p.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, pill_text)
        # left: board title and page
        left_text = v.title
        if v.page_count > 1:
            left_text += f"  ·  {v.page_title}  ({v.page_index + 1}/{v.page_count})"
        else:
            left_text += f"  ·  {v.page_title}"
        p.setPen(t.text_dim)
        p.setFont(font)
        lw = min(fm.horizontalAdvance(left_text) + pad, r.width() * 0.3)
        left = QRectF(r.left() + pad, r.top(), lw, h)
        p.drawText(left, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   fm.elidedText(left_text, Qt.TextElideMode.ElideRight, left.width()))
        # middle: ticker
        if v.ticker is not None:
            mid = QRectF(left.right() + pad * 2, r.top(), pill.left() - left.right() - pad * 4, h)
            level_color = {"warning": t.warn, "critical": t.alarm}.get(v.ticker.level, t.spark)
            text = f"{_LEVEL_MARK.get(v.ticker.level, '')}  {v.ticker.text}"
            p.setFont(font)
            p.setPen(level_color if v.ticker.level != "info" else t.text)
            p.drawText(mid, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter,
                       fm.elidedText(text, Qt.TextElideMode.ElideRight, mid.width()))
        p.end()
