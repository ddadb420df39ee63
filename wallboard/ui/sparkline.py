"""The last 60 minutes of a figure, drawn by pyqtgraph with a 1-px cosmetic pen (cheap to repaint)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from wallboard.core.view_model import SPARK_POINTS, SparkRing

pg.setConfigOptions(antialias=False, background=None, foreground="w")


class Sparkline(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, enableMenu=False)
        self.setBackground(None)
        item = self.getPlotItem()
        for axis in ("left", "bottom", "right", "top"):
            item.hideAxis(axis)
        item.setMouseEnabled(False, False)
        item.hideButtons()
        item.setContentsMargins(0, 0, 0, 0)
        self.setContentsMargins(0, 0, 0, 0)
        item.getViewBox().setDefaultPadding(0.04)
        item.setXRange(0, SPARK_POINTS - 1, padding=0)
        self._curve = item.plot([], [], connect="finite")
        self._version = -1
        self._color = QColor("#56B4E9")
        self.set_color(self._color)

    def set_background(self, color: QColor) -> None:
        self.setBackground(color)

    def set_color(self, color: QColor) -> None:
        self._color = color
        self._curve.setPen(pg.mkPen(color, width=1, cosmetic=True))

    def set_ring(self, ring: SparkRing | None, version: int) -> None:
        if ring is None or version == self._version:
            return
        self._version = version
        vals = ring.values()
        y = np.array([np.nan if v is None else v for v in vals], dtype=float)
        # Right-aligned: the newest sample sits at the right edge; x spans the full 60 minutes.
        x = np.arange(SPARK_POINTS - len(y), SPARK_POINTS, dtype=float)
        self._curve.setData(x, y, connect="finite")
        finite = y[np.isfinite(y)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            lo = min(lo, 0.0)
            if hi - lo < 1e-9:
                hi = lo + 1.0
            self.getPlotItem().setYRange(lo, hi, padding=0.05)
