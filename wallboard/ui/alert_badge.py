"""Severity marks painted on tiles: an icon beside the badge text (shape differs per level, so severity is
never told by colour alone) and the flash veil."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF

from wallboard.ui.theme import Theme, make_font

ICON_ROOM = "\u2003"  # an em space put before the badge text: the icon is painted into it
FLASH_ALPHA = 70


def paint_icon(p: QPainter, box: QRectF, severity: str, color: QColor, ink: QColor) -> None:
    """Warning: a triangle with "!"; alarm: an octagon with "!" (a stop sign); ok: nothing."""
    if severity not in ("warn", "alarm"):
        return
    s = min(box.width(), box.height())
    c = box.center()
    path = QPainterPath()
    if severity == "warn":
        path.addPolygon(QPolygonF([QPointF(c.x(), c.y() - s * 0.48), QPointF(c.x() + s * 0.52, c.y() + s * 0.42),
                                   QPointF(c.x() - s * 0.52, c.y() + s * 0.42)]))
    else:
        r = s * 0.5
        k = r * 0.4142  # tan(22.5°): an octagon with flat sides up and down
        pts = [(-k, -r), (k, -r), (r, -k), (r, k), (k, r), (-k, r), (-r, k), (-r, -k)]
        path.addPolygon(QPolygonF([QPointF(c.x() + x, c.y() + y) for x, y in pts]))
    path.closeSubpath()
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawPath(path)
    p.setPen(QPen(ink, max(1.0, s * 0.12), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    top = c.y() - s * (0.12 if severity == "warn" else 0.24)
    bottom = c.y() + s * (0.12 if severity == "warn" else 0.06)
    p.drawLine(QPointF(c.x(), top), QPointF(c.x(), bottom))
    p.drawPoint(QPointF(c.x(), c.y() + s * (0.27 if severity == "warn" else 0.24)))
    p.restore()


def paint_badge_icon(p: QPainter, tile_rect: QRectF, pad: float, title_px: float, badge: str,
                     severity: str, theme: Theme) -> None:
    """The icon in front of a badge that TileFrame.paint_panel drew right-aligned in the title row."""
    font = make_font(title_px, QFont.Weight.DemiBold, tabular=False)
    p.setFont(font)
    fm = p.fontMetrics()
    right = tile_rect.right() - pad
    x = right - fm.horizontalAdvance(badge)
    w = fm.horizontalAdvance(ICON_ROOM)
    row_top = tile_rect.top() + pad * 0.8
    box = QRectF(x, row_top + fm.height() * 0.12, w * 0.85, fm.height() * 0.76)
    paint_icon(p, box, severity, theme.severity_color(severity), theme.background)


def paint_flash(p: QPainter, rect: QRectF, severity: str, theme: Theme) -> None:
    veil = QColor(theme.severity_color(severity))
    veil.setAlpha(FLASH_ALPHA)
    p.fillRect(rect, veil)
