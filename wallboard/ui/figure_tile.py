"""A big-figure tile: label, the figure fitted to the tile in tabular digits, unit, trend mark,
a detail line (goal, rate), severity in words, an optional service-level bar and sparkline."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from functools import lru_cache
from itertools import zip_longest
from operator import attrgetter
from typing import NamedTuple, TypeVar

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QWidget

from wallboard.core.view_model import DASH, TileView
from wallboard.ui.alert_badge import ICON_ROOM, paint_badge_icon, paint_flash
from wallboard.ui.pixel_grid import grid_step, repaints_in_parts
from wallboard.ui.sparkline import Sparkline
from wallboard.ui.theme import Theme, make_font
from wallboard.ui.tile_frame import DETAIL_PX, Rect, TileFrame, ref_height, text_painter

_T = TypeVar("_T")
CAP_HEIGHT = 0.727  # Inter's cap/digit height as a fraction of the pixel size
# View fields painted in their own areas (figure, detail line, bar) or by the sparkline widget. A change to
# any other field (title, severity, staleness, ...) repaints the whole tile; the stale overlay draws stale_text.
FIGURE_FIELDS = ("value", "unit", "trend", "trend_good")
PARTIAL_FIELDS = frozenset((*FIGURE_FIELDS, "detail", "bar", "bar_goal", "spark", "spark_version", "stale_text"))


class FigureTileWidget(TileFrame):
    def __init__(self, sparkline: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spark: Sparkline | None = Sparkline(self) if sparkline else None
        self.view: TileView | None = None
        # The panel, title, badge and severity marks, rendered once per look: a repaint of the figure
        # alone blits its part of this instead of filling and re-shaping the whole tile.
        self._panel: tuple[tuple, QPixmap] | None = None
        # Laid out for TileFrame._geo (size, ref height, pixel ratio); dropped when that changes.
        self._areas_by_bar: dict[bool, tuple[QRectF, QRectF | None, QRectF | None, QRectF]] = {}
        self._pieces_cache: dict[tuple, tuple[Piece, ...]] = {}  # the last few views' runs of pieces, by run
        self._shown: tuple[TileView, tuple, tuple[tuple[Piece, ...], ...]] | None = None  # view, panel key, runs
        self._detail_font: tuple[float, QFont, QFontMetrics, QFontMetricsF] | None = None
        self._detail_place: tuple[QRectF, float, float, float] | None = None  # detail rect, left, baseline, width

    def set_theme(self, t: Theme) -> None:
        self._panel = None
        self._forget_pieces()
        super().set_theme(t)
        if self.spark is not None:
            self.spark.set_background(t.tile)
            self.spark.set_color(t.spark)

    def view_changed(self, old: object | None, new: object) -> None:
        assert isinstance(new, TileView)
        if self.spark is not None:
            self.spark.set_ring(new.spark, new.spark_version)
            if old is None or getattr(old, "stale", None) != new.stale:
                self.spark.set_color(self.theme.text_dim if new.stale else self.theme.spark)
        self._update_changed(old, new)

    def _update_changed(self, old: object | None, new: TileView) -> None:
        """Repaint only what changed: the glyphs of the figure, its unit and trend mark, the detail text, the
        bar (the old and the new bounds of each piece that differs; see Piece)."""
        if not isinstance(old, TileView):
            self._shown = None
            self.update()
            return
        shown = self._shown
        if shown is not None and shown[0] is old:  # the runs of the view on show, kept from the last change
            old_key, old_runs = shown[1], shown[2]
        else:
            old_key, old_runs = _panel_key(old), None
        new_key = _panel_key(new)
        if old_key != new_key or (old.bar_goal is None) != (new.bar_goal is None):  # the bar changes the layout
            self._shown = None
            self.update()
            return
        if old_runs is None:
            old_runs = self._runs(old)
        new_runs = self._runs(new)
        self._shown = (new, new_key, new_runs)
        update_rects(self, changed_rects(old_runs, new_runs))

    def _geometry_changed(self) -> None:
        self._forget_pieces()

    def _forget_pieces(self) -> None:
        self._areas_by_bar.clear()
        self._pieces_cache.clear()
        self._shown = None

    def _runs(self, v: TileView) -> tuple[tuple[Piece, ...], ...]:
        """What paintEvent draws over the panel, in order: (figure glyphs, unit and trend mark), (detail line),
        (bar), each run cached by what it shows."""
        shown = self._shown
        if shown is not None and shown[0] is v:
            return shown[2]
        if self._geo is None:
            self._sync_geometry()
        has_bar = v.bar_goal is not None
        fig, bar, _spark, detail = self._areas(has_bar)
        cache = self._pieces_cache
        vkey = ("value", has_bar, v.value, v.unit, v.trend, v.trend_good, v.stale, v.severity)
        value = cache.get(vkey)
        if value is None:
            t = self.theme
            color = t.severity_color(v.severity) if v.severity in ("warn", "alarm") else t.text
            if v.stale:
                color = t.text_dim
            value = remember(cache, vkey, tuple(self._value_pieces(fig, v, color, self._geo[3])))
        dkey = ("detail", has_bar, v.detail)
        shown_detail = cache.get(dkey)
        if shown_detail is None:
            shown_detail = remember(cache, dkey, self._detail_pieces(detail, v.detail))
        if bar is None:
            return value, shown_detail
        bkey = ("bar", v.bar, v.bar_goal, v.severity, v.stale)
        bar_run = cache.get(bkey)
        if bar_run is None:
            bar_run = remember(cache, bkey, (Piece(bkey, rect_bounds(_bar_bounds(bar)),
                                                   lambda p, bar=bar, v=v: self._paint_bar(p, bar, v)),))
        return value, shown_detail, bar_run

    def _areas(self, has_bar: bool | None = None) -> tuple[QRectF, QRectF | None, QRectF | None, QRectF]:
        """(figure, bar, sparkline, detail) rects inside the content rect, with a bar or not (by default as
        the view on show)."""
        if self._geo is None:
            self._sync_geometry()
        if has_bar is None:
            has_bar = self.view is not None and self.view.bar_goal is not None
        got = self._areas_by_bar.get(has_bar)
        if got is None:
            got = self._areas_by_bar[has_bar] = self._compute_areas(has_bar)
        return got

    def _compute_areas(self, has_bar: bool) -> tuple[QRectF, QRectF | None, QRectF | None, QRectF]:
        r = QRectF(self.rect())
        pad = self.pad()
        top = pad * 0.8 + make_font_height(self.title_px()) + pad * 0.4
        content = QRectF(r.left() + pad, r.top() + top, r.width() - 2 * pad, r.height() - top - pad)
        h = content.height()
        detail_h = make_font_height(self.detail_px()) * 1.1
        spark = None
        if self.spark is not None:
            sh = h * 0.24
            spark = QRectF(content.left(), content.bottom() - sh, content.width(), sh)
            content.setBottom(spark.top() - pad * 0.3)
        bar = None
        if has_bar:
            bh = max(6.0, ref_height(self) * 0.012)
            bar = QRectF(content.left(), content.bottom() - bh, content.width(), bh)
            content.setBottom(bar.top() - pad * 0.5)
        detail = QRectF(content.left(), content.bottom() - detail_h, content.width(), detail_h)
        content.setBottom(detail.top())
        return content, bar, spark, detail

    def detail_px(self) -> float:
        return ref_height(self) * DETAIL_PX

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._panel = None
        self._sync_geometry()
        self._place_spark()

    def _place_spark(self) -> None:
        if self.spark is not None:
            _, _, spark, _ = self._areas()
            if spark is not None:
                self.spark.setGeometry(spark.toAlignedRect())

    def paintEvent(self, event: QPaintEvent) -> None:
        begun = self.begin_partial_paint(event)
        if begun is None:
            return
        p, rects = begun
        panel = self._panel_pixmap(self.view)
        blit_panel(p, panel, rects, self._geo[3])
        paint_pieces(p, self._runs(self.view), rects)
        p.end()

    def _panel_pixmap(self, v: TileView) -> QPixmap:
        t = self.theme
        dpr = self._geo[3]
        key = (self._geo, t.name, _panel_key(v))
        if self._panel is not None and self._panel[0] == key:
            return self._panel[1]
        pm = QPixmap(round(self.width() * dpr), round(self.height() * dpr))
        pm.setDevicePixelRatio(dpr)
        pm.fill(t.background)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        badge = ICON_ROOM + v.severity_text.upper() if v.severity in ("warn", "alarm") else ""
        self.paint_panel(p, v.title, badge, t.severity_color(v.severity))
        if badge:  # colour + icon + words: severity is never told by colour alone
            paint_badge_icon(p, QRectF(self.rect()), self.pad(), self.title_px(), badge, v.severity, t)
        if v.flash_on:
            paint_flash(p, QRectF(self.rect()), v.severity, t)
        if v.severity in ("warn", "alarm"):  # a severity stripe along the left edge
            w = max(3.0, ref_height(self) * 0.004)
            p.fillRect(QRectF(0, ref_height(self) * 0.006, w, self.height() - ref_height(self) * 0.012),
                       t.severity_color(v.severity))
        p.end()
        self._panel = (key, pm)
        return pm

    def _value_pieces(self, area: QRectF, v: TileView, color: QColor, dpr: float) -> list[Piece]:
        """The figure's glyphs, its unit and trend mark, fitted to ``area`` on one baseline."""
        if area.height() <= 4 or area.width() <= 4:
            return []
        px = area.height() * 0.86 / CAP_HEIGHT * 0.92
        if v.value == DASH:  # "nothing to average yet": a quiet mark, not a bar as loud as a figure
            px *= 0.5
        unit_ratio, trend_ratio = 0.30, 0.42

        def width(size: float) -> float:
            w = sum(_advance(ch, size) for ch in v.value)
            if v.unit:
                w += size * 0.08 + _text_advance(v.unit, size * unit_ratio)
            if v.trend:
                w += size * 0.08 * 3 + size * trend_ratio
            return w

        w = width(round(px))
        if w > area.width():
            px *= area.width() / w
        px = round(px)  # whole pixels: the glyph cache is keyed by size
        gap = px * 0.08
        cap = px * CAP_HEIGHT
        baseline = area.top() + (area.height() + cap) / 2
        glyphs, x = big_text_pieces(area.left(), baseline, v.value, px, color, dpr)
        pieces = list(glyphs)
        x += gap
        if v.unit:
            uf = make_font(px * unit_ratio, QFont.Weight.Normal)
            fm = QFontMetricsF(uf)
            pos = QPointF(x, baseline)
            unit, dim = v.unit, self.theme.text_dim

            def paint_unit(p: QPainter) -> None:
                p.setFont(uf)
                p.setPen(dim)
                p.drawText(pos, unit)

            ink = fm.boundingRect(unit).translated(pos)
            pieces.append(Piece(("unit", unit, x, baseline, px), rect_bounds(ink, 2), paint_unit))
            x += fm.horizontalAdvance(v.unit) + gap
        if v.trend:
            pieces.append(self._trend_piece(QPointF(x + gap, baseline - cap / 2), px * trend_ratio, v))
        return pieces

    def _detail_pieces(self, detail: QRectF, text: str) -> tuple[Piece, ...]:
        """The detail line, left-aligned, as pieces: one per digit and one per word (``small_text_pieces``), so a
        count that ticks repaints its changed digits, not the line. Too long for the tile: one elided piece."""
        px = self._geo[2] * DETAIL_PX  # detail_px() for the geometry laid out
        if self._detail_font is None or self._detail_font[0] != px:
            font = make_font(px)
            self._detail_font = (px, font, QFontMetrics(font, self), QFontMetricsF(font, self))
        _px, font, fm, fmf = self._detail_font
        if not text:
            return ()
        dim = self.theme.text_dim
        place = self._detail_place
        if place is None or place[0] is not detail:  # (the areas are remade when the geometry changes)
            top = detail.top()
            place = self._detail_place = (detail, detail.left(), top + (detail.height() - fmf.height()) / 2
                                          + fmf.ascent(), detail.width())
        _rect, left, baseline, room = place
        pieces, end = small_text_pieces(left, baseline, text, px, dim, self._geo[3])
        if end - left <= room:
            return pieces
        top = detail.top()
        width = int(detail.width())
        text = fm.elidedText(text, Qt.TextElideMode.ElideRight, width)
        advance = fmf.horizontalAdvance(text)

        def paint_detail(p: QPainter) -> None:
            p.setFont(font)
            p.setPen(dim)
            p.drawText(detail, _LEFT_VCENTER, text)

        # Ink may pass the advance a little (a glyph's overhang) and anti-aliasing a pixel more: a margin.
        margin = max(3, math.ceil(px * 0.3))
        bounds = (math.floor(left) - margin, math.floor(top) - margin,
                  math.ceil(left + advance) + margin, math.ceil(detail.bottom()) + margin)
        return (Piece(("detail", text, left, top), bounds, paint_detail),)

    def _trend_piece(self, center_left: QPointF, size: float, v: TileView) -> Piece:
        t = self.theme
        if v.stale or v.trend == "flat" or v.trend_good is None:
            color = t.neutral
        else:
            good = (v.trend == "up") == v.trend_good
            color = t.ok if good else t.warn
        s = size * (0.8 if v.trend != "flat" else 0.55)
        x, y = center_left.x(), center_left.y()
        path = QPainterPath()
        if v.trend == "up":
            path.moveTo(x, y + s * 0.45)
            path.lineTo(x + s, y + s * 0.45)
            path.lineTo(x + s / 2, y - s * 0.5)
        elif v.trend == "down":
            path.moveTo(x, y - s * 0.45)
            path.lineTo(x + s, y - s * 0.45)
            path.lineTo(x + s / 2, y + s * 0.5)
        else:  # flat: a triangle pointing right ("steady"), not a bar that reads as a minus sign
            path.moveTo(x + s * 0.1, y - s * 0.5)
            path.lineTo(x + s * 0.1, y + s * 0.5)
            path.lineTo(x + s * 0.95, y)
        path.closeSubpath()

        def paint_trend(p: QPainter) -> None:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawPath(path)

        return Piece(("trend", v.trend, x, y, s, color.rgba()), rect_bounds(path.boundingRect(), 2), paint_trend)

    def _paint_bar(self, p: QPainter, bar: QRectF, v: TileView) -> None:
        t = self.theme
        radius = bar.height() / 2
        p.setPen(Qt.PenStyle.NoPen)
        track = QColor(t.text_dim)
        track.setAlpha(70)
        p.setBrush(track)
        p.drawRoundedRect(bar, radius, radius)
        if v.bar is not None and v.bar > 0:
            fill = QRectF(bar.left(), bar.top(), bar.width() * v.bar, bar.height())
            color = t.severity_color(v.severity) if v.severity != "none" else t.spark
            if v.stale:
                color = t.text_dim
            p.setBrush(color)
            p.drawRoundedRect(fill, radius, radius)
        if v.bar_goal is not None:  # goal marker: a tick taller than the bar
            x = bar.left() + bar.width() * v.bar_goal
            w = max(2.0, bar.height() * 0.35)
            p.setBrush(t.text)
            p.drawRect(QRectF(x - w / 2, bar.top() - bar.height() * 0.6, w, bar.height() * 2.2))


class _Glyph(NamedTuple):
    pixmap: QPixmap | None  # None for blank characters (spaces)
    left: float  # pixmap's top-left relative to the pen position on the baseline
    top: float
    advance: float


_GLYPHS: dict[tuple, _Glyph] = {}  # insertion-ordered: the oldest entries go first
_GLYPH_LIMIT = 192  # digits and a few marks in the sizes and colours on show (≤ ~30 MB at 4K)


def cached_glyph(ch: str, px: float, color: QColor, dpr: float) -> _Glyph:
    """One character of a big figure, rendered once (anti-aliased, on transparency) and then blitted."""
    key = (ch, px, color.rgba(), dpr)
    g = _GLYPHS.get(key)
    if g is not None:
        return g
    g = _render_text(ch, make_font(px, QFont.Weight.DemiBold), color, dpr)
    _GLYPHS[key] = g
    while len(_GLYPHS) > _GLYPH_LIMIT:
        del _GLYPHS[next(iter(_GLYPHS))]
    return g


def _render_text(text: str, font: QFont, color: QColor, dpr: float) -> _Glyph:
    """``text`` in ``font`` on a transparent pixmap just big enough for its ink, and its advance."""
    fm = QFontMetricsF(font)
    ink = fm.tightBoundingRect(text)
    advance = fm.horizontalAdvance(text)
    if ink.isEmpty():
        return _Glyph(None, 0.0, 0.0, advance)
    m = 2.0  # room for anti-aliasing
    left, top = math.floor(ink.left() - m), math.floor(ink.top() - m)
    pm, gp = text_painter(math.ceil((ink.right() + m - left) * dpr), math.ceil((ink.bottom() + m - top) * dpr),
                          dpr, font, color)
    gp.drawText(QPointF(-left, -top), text)
    gp.end()
    return _Glyph(pm, left, top, advance)


class Piece(NamedTuple):
    """One thing a tile paints over its cached panel. Pieces with equal keys paint the same pixels, so a view
    change repaints only the bounds of the pieces that differ between the old and the new view. Pieces come
    in runs (the glyphs, unit and trend of a figure; a detail line; a bar): each run's changed pieces are
    repainted as one rect, their union."""
    key: tuple  # what is painted, where, in which colour
    bounds: tuple[int, int, int, int]  # (left, top, right, bottom), right/bottom exclusive, with anti-aliasing
    paint: Callable[[QPainter], None]


def big_text_pieces(x: float, baseline: float, text: str, px: int, color: QColor,
                    dpr: float) -> tuple[tuple[Piece, ...], float]:
    """Big text (DemiBold, tabular) as pieces, one per inked glyph drawn from the glyph cache; returns them and
    the x after the text. Qt fills glyphs this large as paths on every paint, which made big figures the most
    expensive thing on the board."""
    return _big_text_pieces(x, baseline, text, px, color.rgba(), dpr)


def big_text_rgba_pieces(x: float, baseline: float, text: str, px: int, rgba: int,
                         dpr: float) -> tuple[tuple[Piece, ...], float]:
    """big_text_pieces with the colour as a QColor.rgba() (asked of Qt once by the caller)."""
    return _big_text_pieces(x, baseline, text, px, rgba, dpr)


@lru_cache(maxsize=64)  # runs hold their glyph pixmaps: few, so the glyph cache's limit still bounds memory
def _big_text_pieces(x: float, baseline: float, text: str, px: int, rgba: int,
                     dpr: float) -> tuple[tuple[Piece, ...], float]:
    # A count that ticks keeps most of its glyphs where they were (tabular digits).
    return placed_pieces(text, x, baseline, px, rgba, dpr, "glyph")


# Pieces are made anew whenever a text changes, but its digits and words mostly keep their places (tabular
# digits): each placed piece, by (kind, token, x, baseline, size, colour, ratio), is made once.
_PLACED: dict[tuple, tuple[Piece | None, float]] = {}
_PLACED_LIMIT = 1536


def placed_pieces(tokens: Iterable[str], x: float, baseline: float, px: float, rgba: int, dpr: float,
                  kind: str) -> tuple[tuple[Piece, ...], float]:
    """``tokens`` (big glyphs, ``kind`` "glyph", or detail-line tokens, "small") set from ``x`` on ``baseline``
    as pieces, each made once per place; returns them and the x after them."""
    pieces = []
    placed = _PLACED
    for token in tokens:
        key = (kind, token, x, baseline, px, rgba, dpr)
        hit = placed.get(key)
        if hit is None:
            hit = placed[key] = _place(kind, token, x, baseline, px, rgba, dpr)
            while len(placed) > _PLACED_LIMIT:
                del placed[next(iter(placed))]
        piece, advance = hit
        if piece is not None:
            pieces.append(piece)
        x += advance
    return tuple(pieces), x


def _place(kind: str, token: str, x: float, baseline: float, px: float, rgba: int,
           dpr: float) -> tuple[Piece | None, float]:
    color = QColor.fromRgba(rgba)
    g = cached_glyph(token, px, color, dpr) if kind == "glyph" else cached_small(token, px, color, dpr)
    if g.pixmap is None:
        return None, g.advance
    pos = QPointF(x + g.left, baseline + g.top)
    if not dpr.is_integer():  # on a whole device pixel: at a fraction of one Qt places a pixmap differently
        pos = QPointF(round(pos.x() * dpr) / dpr, round(pos.y() * dpr) / dpr)  # clipped and not (pixel_grid)
    pm = g.pixmap
    bounds = (math.floor(pos.x()) - 1, math.floor(pos.y()) - 1,
              math.ceil(pos.x() + pm.width() / dpr) + 1, math.ceil(pos.y() + pm.height() / dpr) + 1)
    piece = Piece((kind, token, x, baseline, px, rgba), bounds, lambda p, pos=pos, pm=pm: p.drawPixmap(pos, pm))
    return piece, g.advance


# Small text (detail lines) in pieces: each digit alone (tabular: a ticking count changes glyphs in place) and
# each other run of non-space characters as a word (shaped whole, so kerning within it holds); spaces
# (including the thin space between thousands) only advance the pen. Drawing a line with drawText shapes it
# anew each time, which made detail lines the dearest text on the board at every refresh.
_SMALL_TOKEN = re.compile(r"\d|[^\d\s]+|\s")
_SMALL: dict[tuple, _Glyph] = {}  # insertion-ordered: the oldest entries go first
_SMALL_LIMIT = 256  # digits, the words of detail lines, in the sizes and colours on show (~12 KB each at 4K)


def cached_small(token: str, px: float, color: QColor, dpr: float) -> _Glyph:
    """A digit, word or space of a detail line in the regular weight: rendered once, then blitted."""
    key = (token, px, color.rgba(), dpr)
    g = _SMALL.get(key)
    if g is not None:
        return g
    g = _render_text(token, make_font(px), color, dpr)
    _SMALL[key] = g
    while len(_SMALL) > _SMALL_LIMIT:
        del _SMALL[next(iter(_SMALL))]
    return g


def small_text_pieces(x: float, baseline: float, text: str, px: float, color: QColor,
                      dpr: float) -> tuple[tuple[Piece, ...], float]:
    """Small text as pieces (see _SMALL_TOKEN) from the small-text cache; returns them and the x after it."""
    return placed_pieces(_SMALL_TOKEN.findall(text), x, baseline, px, color.rgba(), dpr, "small")


def blit_panel(p: QPainter, panel: QPixmap, rects: Sequence[Rect], dpr: float) -> None:
    """Copy the parts of ``panel`` under ``rects`` to the tile. Rect by rect: the painter clips a whole-tile
    blit to a region of several rects slowly (~10x a rect's copy)."""
    if dpr == 1:
        for left, top, right, bottom in rects:
            p.drawPixmap(left, top, panel, left, top, right - left, bottom - top)
    elif dpr.is_integer():
        for left, top, right, bottom in rects:
            w, h = right - left, bottom - top
            p.drawPixmap(QRectF(left, top, w, h), panel, QRectF(left * dpr, top * dpr, w * dpr, h * dpr))
    else:  # a fractional ratio: each part widened to whole steps, where logical and device pixels both start
        step = grid_step(dpr)  # (the board puts a tile's origin on one: pixel_grid)
        if step == 1:  # (no such step: the whole panel, which lands pixel for pixel)
            p.drawPixmap(QPoint(0, 0), panel)
            return
        pw, ph = panel.width(), panel.height()
        for left, top, right, bottom in rects:
            left, top = left - left % step, top - top % step
            sx, sy = round(left * dpr), round(top * dpr)
            sw = min(round((-(-right // step) * step - left) * dpr), pw - sx)
            sh = min(round((-(-bottom // step) * step - top) * dpr), ph - sy)
            if sw > 0 and sh > 0:
                p.drawPixmap(QRectF(left, top, sw / dpr, sh / dpr), panel, QRectF(sx, sy, sw, sh))


def paint_pieces(p: QPainter, runs: Iterable[Iterable[Piece]], rects: Sequence[Rect]) -> None:
    """Paint, in order, the pieces that reach into any of ``rects`` (the painter clips to the exact region),
    each once."""
    for run in runs:
        for piece in run:
            left, top, right, bottom = piece.bounds
            for cl, ct, cr, cb in rects:
                if left < cr and right > cl and top < cb and bottom > ct:
                    piece.paint(p)
                    break


def changed_rects(old: Sequence[Sequence[Piece]], new: Sequence[Sequence[Piece]]) -> list[tuple[int, int, int, int]]:
    """What to repaint from the ``old`` runs to the ``new`` (run i of one matches run i of the other), as
    (x, y, width, height) rects for ``QWidget.update``: for each pair of runs that differ, the union of the
    bounds of the pieces that differ, place by place (a piece that only moved place counts as changed: more
    repainted, never less). Plain tuples: a QRegion built per tile per refresh costs more than it saves."""
    if len(old) != len(new):
        raise ValueError("runs of pieces do not match")
    rects = []
    for a, b in zip(old, new, strict=True):
        if a is b:  # cached by what it shows: the same run object, the same pixels
            continue
        left = top = 1 << 30
        right = bottom = -(1 << 30)
        for pa, pb in zip_longest(a, b):
            if pa is not None and pb is not None and pa.key == pb.key:
                continue
            for pc in (pa, pb):
                if pc is not None:
                    pl, pt, pr, pbm = pc.bounds
                    if pl < left:
                        left = pl
                    if pt < top:
                        top = pt
                    if pr > right:
                        right = pr
                    if pbm > bottom:
                        bottom = pbm
        if left < right:
            rects.append((left, top, right - left, bottom - top))
    return rects


def update_rects(w: TileFrame, rects: Sequence[tuple[int, int, int, int]]) -> None:
    """Ask Qt to repaint ``rects`` of ``w`` (it merges them into the widget's dirty region); at a device pixel
    ratio where that would not be exact, the whole tile (pixel_grid.repaints_in_parts)."""
    geo = w._geo  # (is_integer first: the usual whole ratio costs no call, at every view change)
    if geo is not None and not geo[3].is_integer() and not repaints_in_parts(geo[3]):
        if rects:
            w.update()
        return
    for x, y, width, height in rects:
        w.update(x, y, width, height)


def remember(cache: dict, key: object, value: _T, limit: int = 12) -> _T:
    """Keep ``value`` in a small insertion-ordered cache (the oldest entries go first); returns it."""
    cache[key] = value
    while len(cache) > limit:
        del cache[next(iter(cache))]
    return value


def rect_bounds(r: QRectF | QRect, margin: int = 0) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the whole pixels ``r`` touches, grown by ``margin``."""
    r = QRectF(r)
    return (math.floor(r.left()) - margin, math.floor(r.top()) - margin,
            math.ceil(r.right()) + margin, math.ceil(r.bottom()) + margin)


@lru_cache(maxsize=1024)
def _advance(ch: str, px: float) -> float:
    return QFontMetricsF(make_font(px, QFont.Weight.DemiBold)).horizontalAdvance(ch)


@lru_cache(maxsize=256)
def _text_advance(text: str, px: float) -> float:
    return QFontMetricsF(make_font(px)).horizontalAdvance(text)


def make_font_height(px: float) -> float:
    return QFontMetricsF(make_font(px, QFont.Weight.DemiBold, tabular=False)).height()


_panel_key = attrgetter(*(f.name for f in fields(TileView) if f.name not in PARTIAL_FIELDS))
"""Everything in a view that the panel pixmap shows (all but the partial fields), as a tuple."""


_LEFT_VCENTER = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


def _bar_bounds(bar: QRectF) -> QRect:
    """The bar with room for its goal marker (taller than the bar) and anti-aliased edges."""
    return bar.adjusted(-4, -bar.height() - 2, 4, bar.height() + 2).toAlignedRect()
