"""Agents by state: one column per state (count, label, state code), and a stacked bar of the shares."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPaintEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QWidget

from wallboard.core.view_model import AgentStatesView
from wallboard.ui.figure_tile import CAP_HEIGHT, draw_big_text
from wallboard.ui.theme import make_font
from wallboard.ui.tile_frame import TileFrame, ref_height


class AgentStatesWidget(TileFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: AgentStatesView | None = None
        self._panel: tuple[tuple, QPixmap, QRectF] | None = None  # panel and title row, redrawn on change

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._panel = None
        super().resizeEvent(event)

    def _paint_cached_panel(self, p: QPainter, v: AgentStatesView, right: str) -> QRectF:
        """The panel, title row and state labels through a pixmap: the counts change at every refresh,
        the rest rarely (and text shaping is the dear part)."""
        dpr = self.devicePixelRatioF()
        key = (self.width(), self.height(), dpr, ref_height(self), self.theme.name, v.title, right, v.stale,
               tuple((c.state, c.label) for c in v.counts))
        if self._panel is None or self._panel[0] != key:
            pm = QPixmap(round(self.width() * dpr), round(self.height() * dpr))
            pm.setDevicePixelRatio(dpr)
            pm.fill(self.theme.background)
            pp = QPainter(pm)
            pp.setRenderHint(QPainter.RenderHint.Antialiasing)
            area = self.paint_panel(pp, v.title, right)
            self._paint_labels(pp, v, area)
            pp.end()
            self._panel = (key, pm, area)
        p.drawPixmap(QPoint(0, 0), self._panel[1])
        return self._panel[2]

    def _geometry(self, area: QRectF, n: int) -> tuple[QRectF, QRectF, float, float, float, float]:
        """(bar, columns, column width, number height, label height, label px) inside ``area``."""
        bar_h = max(6.0, ref_height(self) * 0.012)
        label_px = ref_height(self) * 0.0165
        label_h = QFontMetricsF(make_font(label_px)).height() * 1.1
        bar = QRectF(area.left(), area.bottom() - bar_h, area.width(), bar_h)
        cols = QRectF(area.left(), area.top(), area.width(), bar.top() - area.top() - label_h * 0.5)
        return bar, cols, cols.width() / max(1, n), cols.height() - label_h, label_h, label_px

    def _paint_labels(self, p: QPainter, v: AgentStatesView, area: QRectF) -> None:
        """Each column's state chip (colour) and label text: colour never alone."""
        t = self.theme
        _bar, cols, col_w, num_h, label_h, label_px = self._geometry(area, len(v.counts))
        small = make_font(label_px)
        chip = label_px * 0.9
        p.setFont(small)
        fm = p.fontMetrics()
        for i, sc in enumerate(v.counts):
            x = cols.left() + i * col_w
            ly = cols.top() + num_h
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(t.text_dim if v.stale else t.states[sc.state])
            p.drawRoundedRect(QRectF(x, ly + (label_h - chip) / 2, chip, chip), chip * 0.2, chip * 0.2)
            p.setPen(t.text_dim)
            lr = QRectF(x + chip * 1.4, ly, col_w - chip * 1.6, label_h)
            p.drawText(lr, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       fm.elidedText(sc.label, Qt.TextElideMode.ElideRight, int(lr.width())))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = self.begin_paint()
        if p is None:
            return
        v = self.view
        t = self.theme
        right = f"{v.logged_in} logged in · occupancy {v.occupancy}%"
        area = self._paint_cached_panel(p, v, right)
        bar, cols, col_w, num_h, _label_h, _label_px = self._geometry(area, len(v.counts))
        px = num_h * 0.82 / CAP_HEIGHT
        big = make_font(px, QFont.Weight.DemiBold)
        fm_big = QFontMetricsF(big)
        # At least three digits' width: single digits would otherwise grow until the columns read as one
        # number ("0 2 7 0" as "0270").
        widest = max(fm_big.horizontalAdvance(t) for t in ["000", *(c.text for c in v.counts)])
        if widest > col_w * 0.72:  # one size for all columns, fitted to the widest count (with a gap)
            px *= col_w * 0.72 / widest
        dpr = self.devicePixelRatioF()
        baseline = cols.top() + (num_h + px * CAP_HEIGHT) / 2
        for i, sc in enumerate(v.counts):
            draw_big_text(p, cols.left() + i * col_w, baseline, sc.text, round(px),
                          t.text_dim if v.stale else t.text, dpr)
        total = sum(c.count for c in v.counts)
        x = bar.left()
        p.setPen(Qt.PenStyle.NoPen)
        for sc in v.counts:
            if not total or not sc.count:
                continue
            w = bar.width() * sc.count / total
            p.setBrush(t.text_dim if v.stale else t.states[sc.state])
            p.drawRect(QRectF(x, bar.top(), w, bar.height()))
            x += w
        p.end()
