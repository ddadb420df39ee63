"""Tiles on whole device pixels at a fractional device pixel ratio (a 125 %, 150 % or 175 % desktop).

At such a ratio a logical pixel may start inside a device pixel, and there Qt draws a clipped paint (a
partial repaint) a little differently from an unclipped one: a glyph a device pixel to one side, an edge
blended with what was there before. A tile whose origin sits on a whole device pixel of the window repaints
exactly (tests/test_ui_partial_repaint.py, tests/test_ui_scale_factors.py), so the board's grid places each
tile's edges on the coarsest logical pixels that are whole device pixels too.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QGridLayout


@lru_cache(maxsize=16)
def grid_step(dpr: float) -> int:
    """The fewest logical pixels that make a whole number of device pixels at ``dpr``: 1 at 1.0, 2.0 or 3.0;
    2 at 1.5 or 2.5; 4 at 1.25 or 1.75. 1 (no snapping) when no step up to 8 does."""
    for step in range(1, 9):
        if abs(step * dpr - round(step * dpr)) < 1e-6:
            return step
    return 1


def repaints_in_parts(dpr: float) -> bool:
    """Whether partial repaints are exact at ``dpr``: at a whole ratio, or where tiles can be snapped. At
    another ratio (e.g. 1.1) tiles repaint whole."""
    return dpr.is_integer() or grid_step(dpr) > 1


def snap_rect(rect: QRect, origin: QPoint, step: int) -> QRect:
    """``rect`` (in a widget whose top-left is at ``origin`` in the window) shrunk to edges on whole multiples
    of ``step`` in window coordinates."""
    ox, oy = origin.x(), origin.y()
    left = -(-(ox + rect.x()) // step) * step - ox
    top = -(-(oy + rect.y()) // step) * step - oy
    right = (ox + rect.x() + rect.width()) // step * step - ox
    bottom = (oy + rect.y() + rect.height()) // step * step - oy
    return QRect(left, top, max(0, right - left), max(0, bottom - top))


class PixelGridLayout(QGridLayout):
    """A grid layout whose items' edges fall on whole device pixels of the window (``snap_rect``). The
    window offset changes without a resize when the board drifts (burn-in) or moves in its window:
    ``BoardWidget`` calls ``resnap`` then."""

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._snap()

    def resnap(self) -> None:
        """Lay the grid out afresh and snap again (snapping the snapped places again would shrink them)."""
        parent = self.parentWidget()
        if parent is None or grid_step(parent.devicePixelRatioF()) == 1:
            return  # (nothing snapped: nothing to redo)
        self.invalidate()
        self.setGeometry(parent.contentsRect())  # (the rect Qt lays a widget's own layout out in)

    def _snap(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        step = grid_step(parent.devicePixelRatioF())
        if step == 1:
            return
        origin = parent.mapTo(parent.window(), QPoint(0, 0))
        for i in range(self.count()):
            item = self.itemAt(i)
            w = item.widget() if item is not None else None
            if w is not None:
                w.setGeometry(snap_rect(item.geometry(), origin, step))
