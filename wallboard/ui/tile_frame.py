"""Common parts of every tile: background, title, and the stale overlay (hatched, "feed lost m:ss ago")."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPaintEvent, QPen, QPixmap, QResizeEvent
from PySide6.QtWidgets import QWidget

from wallboard.ui.theme import Theme, make_font, theme

DETAIL_PX = 0.0165  # small text (detail lines, state labels) as a fraction of the window's height

Rect = tuple[int, int, int, int]  # (left, top, right, bottom), right/bottom exclusive
# Enum members looked up once: each PySide enum attribute access is a Python-level lookup (~0.1 µs warm,
# more cold), and these run at every paint of every tile.
ANTIALIASING = QPainter.RenderHint.Antialiasing


def region_rects(event: QPaintEvent) -> list[Rect]:
    """The rects of the region a paint event repaints. (One ``getRect`` call per rect, not four calls.)"""
    region = event.region()
    if region.rectCount() == 1:
        x, y, w, h = event.rect().getRect()
        return [(x, y, x + w, y + h)]
    return [(x, y, x + w, y + h) for x, y, w, h in (r.getRect() for r in region)]


def text_painter(w: int, h: int, dpr: float, font: QFont, color: QColor) -> tuple[QPixmap, QPainter]:
    """A transparent pixmap of w x h device pixels at ratio ``dpr`` and an antialiased painter on it, set to
    ``font`` and ``color``: for text drawn once and blitted after (end the painter when done)."""
    pm = QPixmap(w, h)
    pm.setDevicePixelRatio(dpr)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setFont(font)
    p.setPen(color)
    return pm, p


def ref_height(w: QWidget) -> float:
    """Text sizes follow the window's height, so they stay consistent from tile to tile."""
    return float(max(300, w.window().height()))


class StaleOverlay(QWidget):
    """Hatches the tile and names how long ago the feed was lost. Sits above every child."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text = ""
        self.theme: Theme = theme("dark")
        self._up = False  # shown by set_text (Qt shows it when its tile is shown)
        self.hide()

    def set_text(self, text: str | None) -> None:
        # Called at every view change of every tile: whether it is up is kept here, not asked of Qt each time.
        if not text:
            if self._up:
                self._up = False
                self.hide()
            return
        if text != self.text or not self._up:
            self.text = text
            self._up = True
            self.setGeometry(self.parentWidget().rect())
            self.raise_()
            self.show()
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        t = self.theme
        r = QRectF(self.rect())
        veil = QColor(t.background)
        veil.setAlpha(150)
        p.fillRect(r, veil)
        hatch = QBrush(t.hatch, Qt.BrushStyle.BDiagPattern)
        scale = max(1.0, ref_height(self) / 1080)
        hatch.setTransform(hatch.transform().scale(scale * 2, scale * 2))
        p.fillRect(r, hatch)
        px = ref_height(self) * 0.022
        font = make_font(px, QFont.Weight.DemiBold)
        p.setFont(font)
        fm = p.fontMetrics()
        tw = fm.horizontalAdvance(self.text) + px * 1.4
        th = fm.height() + px * 0.7
        box = QRectF(r.center().x() - tw / 2, r.center().y() - th / 2, tw, th)
        p.setPen(QPen(t.alarm, max(1.0, px * 0.08)))
        p.setBrush(t.background)
        p.drawRoundedRect(box, px * 0.3, px * 0.3)
        p.setPen(t.stale_text)
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, self.text)
        p.end()


class TileFrame(QWidget):
    """Base of all tiles: paints the panel and the title; subclasses paint their content."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme: Theme = theme("dark")
        self.view: object | None = None
        self.overlay = StaleOverlay(self)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        # (width, height, ref height, device pixel ratio) what subclasses laid out was made for: read from Qt
        # on resize and at each paint, not at each view change (Qt calls are dear at 25 refreshes a second).
        self._geo: tuple[int, int, float, float] | None = None

    def set_theme(self, t: Theme) -> None:
        self.theme = t
        self.overlay.theme = t
        self.update()
        self.overlay.update()

    def set_view(self, view: object) -> None:
        if view == self.view:
            return
        old, self.view = self.view, view
        self.view_changed(old, view)
        self.overlay.set_text(getattr(view, "stale_text", "") if getattr(view, "stale", False) else "")

    def view_changed(self, old: object | None, new: object) -> None:
        self.update()

    def _sync_geometry(self) -> bool:
        """Read the size, ref height and pixel ratio from Qt; if they changed, drop what was laid out for the
        old ones (``_geometry_changed``). Returns whether they changed."""
        geo = (self.width(), self.height(), ref_height(self), self.devicePixelRatioF())
        if geo == self._geo:
            return False
        self._geo = geo
        self._geometry_changed()
        return True

    def _geometry_changed(self) -> None:
        """Subclasses drop their layout caches here."""

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.overlay.setGeometry(self.rect())
        super().resizeEvent(event)

    # geometry shared by subclasses
    def pad(self) -> float:
        return max(6.0, ref_height(self) * 0.011)

    def title_px(self) -> float:
        return ref_height(self) * 0.019

    def begin_paint(self) -> QPainter | None:
        """An antialiased painter on this tile, or None once the empty panel is drawn (no view yet)."""
        p = QPainter(self)
        p.setRenderHint(ANTIALIASING)
        if self.view is None:
            self.paint_panel(p, "")
            p.end()
            return None
        return p

    def begin_partial_paint(self, event: QPaintEvent) -> tuple[QPainter, list[Rect]] | None:
        """``begin_paint``, and the rects of the region to repaint. A tile resized (or moved to another screen)
        since its last view change asks for a whole repaint, next."""
        p = self.begin_paint()
        if p is None:
            return None
        if self._sync_geometry() and event.rect() != self.rect():
            self.update()
        return p, region_rects(event)

    def paint_panel(self, p: QPainter, title: str, right_text: str = "",
                    right_color: QColor | None = None) -> QRectF:
        """Background, border and title row; returns the content rect below the title."""
        t = self.theme
        r = QRectF(self.rect())
        p.fillRect(r, t.background)
        radius = ref_height(self) * 0.006
        bw = ref_height(self) * t.border_px_ratio
        p.setPen(QPen(t.tile_border, bw) if bw else Qt.PenStyle.NoPen)
        p.setBrush(t.tile)
        inset = bw / 2 if bw else 0
        p.drawRoundedRect(r.adjusted(inset, inset, -inset, -inset), radius, radius)
        pad = self.pad()
        tp = self.title_px()
        p.setFont(make_font(tp, QFont.Weight.DemiBold, tabular=False))
        fm = p.fontMetrics()
        row = QRectF(r.left() + pad, r.top() + pad * 0.8, r.width() - 2 * pad, fm.height())
        right_w = 0.0
        if right_text:
            right_w = fm.horizontalAdvance(right_text) + pad
            p.setPen(right_color or t.text_dim)
            p.drawText(row, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, right_text)
        p.setPen(t.text_dim)
        title_rect = QRectF(row.left(), row.top(), row.width() - right_w, row.height())
        p.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   fm.elidedText(title, Qt.TextElideMode.ElideRight, int(title_rect.width())))
        return QRectF(r.left() + pad, row.bottom() + pad * 0.4, r.width() - 2 * pad,
                      r.bottom() - row.bottom() - pad * 1.4)
