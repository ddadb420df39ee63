"""Agents by state: one column per state (count, label, state code), and a stacked bar of the shares."""

from __future__ import annotations

import math
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QFontMetricsF, QPainter, QPaintEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QWidget

from wallboard.core.view_model import AgentStatesView
from wallboard.ui.figure_tile import (
    CAP_HEIGHT,
    Piece,
    big_text_rgba_pieces,
    blit_panel,
    changed_rects,
    paint_pieces,
    rect_bounds,
    remember,
    update_rects,
)
from wallboard.ui.theme import Theme, make_font
from wallboard.ui.tile_frame import DETAIL_PX, TileFrame, ref_height


class AgentStatesWidget(TileFrame):
    """Counts change at nearly every refresh, the rest rarely: the panel, title and state labels are a cached
    pixmap, and a view change repaints only the counts' glyphs that changed, the bar if the shares did and
    the "logged in · occupancy" text if it did (see figure_tile.Piece)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: AgentStatesView | None = None
        self._panel: tuple[tuple, QPixmap, QRectF] | None = None  # panel and title row, redrawn on change
        self._pieces_cache: dict[tuple, tuple[Piece, ...]] = {}
        self._title_cache: tuple[tuple, tuple[QFont, QFontMetrics, QRectF]] | None = None
        self._elided: dict[tuple[str, str], str] = {}  # (title, right-hand text) -> title as shown beside it
        self._right_cache: dict[str, tuple[Piece, ...]] = {}
        self._geometry_cache: tuple[tuple, tuple[QRectF, QRectF, float, float, float, float]] | None = None
        self._shown: tuple[AgentStatesView, tuple, tuple[tuple[Piece, ...], ...]] | None = None  # with key, runs
        self._bar_bounds_cache: tuple[tuple | None, tuple[int, int, int, int]] | None = None
        self._widest: dict[tuple, float] = {}  # (count texts, px) -> the widest count's advance
        self._colors_cache: dict[tuple[str, bool], tuple[int, dict[str, tuple[QColor, int]]]] = {}

    def set_theme(self, t: Theme) -> None:
        self._forget_pieces()
        self._colors_cache.clear()
        super().set_theme(t)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._sync_geometry()
        super().resizeEvent(event)

    def _geometry_changed(self) -> None:
        self._panel = None
        self._title_cache = None
        self._elided.clear()
        self._forget_pieces()

    def _forget_pieces(self) -> None:
        self._pieces_cache.clear()
        self._right_cache.clear()
        self._shown = None

    def view_changed(self, old: object | None, new: object) -> None:
        assert isinstance(new, AgentStatesView)
        if self._geo is None:
            self._sync_geometry()
        panel = self._panel
        shown = self._shown
        key = self._panel_key(new)
        if shown is not None and shown[0] is old:  # the runs of the view on show, kept from the last change
            old_key, old_runs = shown[1], shown[2]
        elif isinstance(old, AgentStatesView):
            old_key, old_runs = self._panel_key(old), None
        else:
            old_key = old_runs = None
        if panel is None or panel[0] != key or old_key != key:
            self._shown = None
            self.update()  # the panel changes (or is not drawn yet): all of the tile
            return
        if old_runs is None:
            old_runs = self._runs(old, panel[2])
        new_runs = self._runs(new, panel[2])
        self._shown = (new, key, new_runs)
        update_rects(self, changed_rects(old_runs[:-1], new_runs[:-1]))  # the title text and the counts
        update_rects(self, bar_changed_rects(old_runs[-1][0], new_runs[-1][0]))

    def _title_row(self) -> tuple[QFont, QFontMetrics, QRectF]:
        """The title font, its metrics and the title row, as TileFrame.paint_panel lays them out."""
        key = self._geo
        if self._title_cache is None or self._title_cache[0] != key:
            font = make_font(self.title_px(), QFont.Weight.DemiBold, tabular=False)
            fm = QFontMetrics(font, self)
            pad = self.pad()
            self._title_cache = (key, (font, fm, QRectF(pad, pad * 0.8, self.width() - 2 * pad, fm.height())))
        return self._title_cache[1]

    def _panel_key(self, v: AgentStatesView) -> tuple:
        """Everything the cached panel shows. The right-hand title text (logged in, occupancy) is painted
        over it, so the key holds the title as elided beside that text, not the text itself."""
        right = _right_text(v)
        title = self._elided.get((v.title, right))
        if title is None:
            _font, fm, row = self._title_row()
            right_w = fm.horizontalAdvance(right) + self.pad()
            title = fm.elidedText(v.title, Qt.TextElideMode.ElideRight, int(row.width() - right_w))
            remember(self._elided, (v.title, right), title)
        return (self._geo, self.theme.name, title, v.stale, tuple([(c.state, c.label) for c in v.counts]))

    def _paint_cached_panel(self, p: QPainter, v: AgentStatesView, rects: list) -> QRectF:
        """The panel, title and state labels through a pixmap (text shaping is the dear part)."""
        dpr = self._geo[3]
        shown = self._shown
        key = shown[1] if shown is not None and shown[0] is v else self._panel_key(v)
        if self._panel is None or self._panel[0] != key:
            pm = QPixmap(round(self.width() * dpr), round(self.height() * dpr))
            pm.setDevicePixelRatio(dpr)
            pm.fill(self.theme.background)
            pp = QPainter(pm)
            pp.setRenderHint(QPainter.RenderHint.Antialiasing)
            # The title already elided for the width left beside the right-hand text: paint_panel then
            # lays it out (left-aligned) exactly where it would with that text.
            area = self.paint_panel(pp, key[2])
            self._geometry_cache = None
            self._paint_labels(pp, v, area)
            pp.end()
            self._panel = (key, pm, area)
            self._forget_pieces()
        blit_panel(p, self._panel[1], rects, dpr)
        return self._panel[2]

    def _geometry(self, area: QRectF, n: int) -> tuple[QRectF, QRectF, float, float, float, float]:
        """(bar, columns, column width, number height, label height, label px) inside ``area``."""
        key = n  # (the area changes only with the panel, which drops this cache)
        if self._geometry_cache is None or self._geometry_cache[0] != key:
            self._geometry_cache = (key, self._compute_geometry(area, n))
        return self._geometry_cache[1]

    def _compute_geometry(self, area: QRectF, n: int) -> tuple[QRectF, QRectF, float, float, float, float]:
        bar_h = max(6.0, ref_height(self) * 0.012)
        label_px = ref_height(self) * DETAIL_PX
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

    def _runs(self, v: AgentStatesView, area: QRectF) -> tuple[tuple[Piece, ...], ...]:
        """What paintEvent draws over the panel, in runs (see Piece): the right-hand title text, each column's
        count, the share bar."""
        shown = self._shown
        if shown is not None and shown[0] is v:
            return shown[2]
        # (the area and the pixel ratio change only with the panel, which drops this cache)
        key = (v.stale, v.logged_in, v.occupancy, tuple([(c.state, c.count, c.text) for c in v.counts]))
        got = self._pieces_cache.get(key)
        if got is None:
            got = remember(self._pieces_cache, key, (self._right_run(v), *self._count_runs(v, area)))
        return got

    def _right_run(self, v: AgentStatesView) -> tuple[Piece, ...]:
        """"N logged in · occupancy N%", right-aligned in the title row (as paint_panel would draw it)."""
        text = _right_text(v)
        got = self._right_cache.get(text)
        if got is not None:
            return got
        font, fm, row = self._title_row()
        dim = self.theme.text_dim
        flags = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

        def paint_right(p: QPainter) -> None:
            p.setFont(font)
            p.setPen(dim)
            p.drawText(row, flags, text)

        margin = max(3.0, self.title_px() * 0.2)  # ink may reach a little past the advance
        bounds = rect_bounds(QRectF(QPointF(row.right() - fm.horizontalAdvance(text) - margin, row.top() - margin),
                                    QPointF(row.right() + margin, row.bottom() + margin)))
        return remember(self._right_cache, text, (Piece(("right", text), bounds, paint_right),))

    def _count_runs(self, v: AgentStatesView, area: QRectF) -> list[tuple[Piece, ...]]:
        """One run of glyphs per column, then the bar."""
        bar, cols, col_w, num_h, _label_h, _label_px = self._geometry(area, len(v.counts))
        px = num_h * 0.82 / CAP_HEIGHT
        # At least three digits' width: single digits would otherwise grow until the columns read as one
        # number ("0 2 7 0" as "0270").
        texts = tuple([c.text for c in v.counts])
        widest = self._widest.get((texts, px))
        if widest is None:
            widest = remember(self._widest, (texts, px), max(_demibold_advance(t, px) for t in ("000", *texts)))
        if widest > col_w * 0.72:  # one size for all columns, fitted to the widest count (with a gap)
            px *= col_w * 0.72 / widest
        dpr = self._geo[3]
        baseline = cols.top() + (num_h + px * CAP_HEIGHT) / 2
        rgba, state_colors = self._colors(v.stale)
        size, left = round(px), cols.left()
        runs = [big_text_rgba_pieces(left + i * col_w, baseline, text, size, rgba, dpr)[0]
                for i, text in enumerate(texts)]
        total = sum(c.count for c in v.counts)
        # Each state's share from one whole device pixel to another: crisp edges, and a share that grows by an
        # agent moves an edge by a pixel or none, so a refresh repaints the pixels between the old and the new
        # edges (bar_changed_rects), not the bar (at 4K ~1,800 px wide, once per refresh otherwise).
        shares = []  # (left, right, rgba) of each state's share, in plain numbers: fewer calls into Qt
        colors = []
        left, top, height, width = bar.left(), bar.top(), bar.height(), bar.width()
        cum = 0
        x0 = round(left * dpr) / dpr
        for sc in v.counts:
            if not total or not sc.count:
                continue
            cum += sc.count
            x1 = round((left + width * cum / total) * dpr) / dpr
            if x1 > x0:
                color, color_rgba = state_colors[sc.state]
                shares.append((x0, x1, color_rgba))
                colors.append(color)
            x0 = x1

        def paint_bar(p: QPainter) -> None:  # (the edges are whole device pixels: plain fills)
            for (x0, x1, _), color in zip(shares, colors, strict=True):
                p.fillRect(QRectF(x0, top, x1 - x0, height), color)

        runs.append((Piece(("bar", tuple(shares)), self._bar_bounds(bar), paint_bar),))
        return runs

    def _colors(self, stale: bool) -> tuple[int, dict[str, tuple[QColor, int]]]:
        """(the counts' rgba, each state's (colour, rgba) in the bar) in this theme: asked of Qt once."""
        key = (self.theme.name, stale)
        got = self._colors_cache.get(key)
        if got is None:
            t = self.theme
            text = t.text_dim if stale else t.text
            states = {s: (c, c.rgba()) for s, c0 in t.states.items() for c in [t.text_dim if stale else c0]}
            got = self._colors_cache[key] = (text.rgba(), states)
        return got

    def _bar_bounds(self, bar: QRectF) -> tuple[int, int, int, int]:
        got = self._bar_bounds_cache
        if got is None or got[0] != self._geo:
            got = self._bar_bounds_cache = (self._geo, rect_bounds(bar, 2))
        return got[1]

    def paintEvent(self, event: QPaintEvent) -> None:
        begun = self.begin_partial_paint(event)
        if begun is None:
            return
        p, rects = begun
        area = self._paint_cached_panel(p, self.view, rects)
        paint_pieces(p, self._runs(self.view, area), rects)
        p.end()


@lru_cache(maxsize=512)
def _demibold_advance(text: str, px: float) -> float:
    return QFontMetricsF(make_font(px, QFont.Weight.DemiBold)).horizontalAdvance(text)


def _right_text(v: AgentStatesView) -> str:
    if not v.occupancy:  # a tile for one queue: occupancy is site-wide
        return f"{v.logged_in} logged in"
    return f"{v.logged_in} logged in · occupancy {v.occupancy}%"


def bar_changed_rects(old: Piece, new: Piece) -> list[tuple[int, int, int, int]]:
    """The parts of the share bar whose colour differs from ``old`` to ``new`` (pieces keyed
    ``("bar", ((left, right, rgba), ...))``, whole device pixels), as (x, y, width, height) rects of the bar's
    height: where an edge moved, from its old place to its new one."""
    if old.key == new.key:
        return []
    a, b = old.key[1], new.key[1]
    edges = sorted({x for seg in a + b for x in seg[:2]})
    rects: list[tuple[int, int, int, int]] = []
    _, top, _, bottom = new.bounds
    start = None
    for x0 in edges[:-1]:  # each stretch between two edges has one colour before and one after
        differ = _colour_at(a, x0) != _colour_at(b, x0)
        if differ and start is None:
            start = x0
        elif not differ and start is not None:
            rects.append(_span(start, x0, top, bottom))
            start = None
    if start is not None:
        rects.append(_span(start, edges[-1], top, bottom))
    return rects


def _colour_at(segments: tuple[tuple[float, float, int], ...], x: float) -> int | None:
    for x0, x1, rgba in segments:
        if x0 <= x < x1:
            return rgba
    return None


def _span(x0: float, x1: float, top: int, bottom: int) -> tuple[int, int, int, int]:
    left = math.floor(x0) - 1  # a pixel of margin either side: the painter's rounding never leaks past it
    return (left, top, math.ceil(x1) + 1 - left, bottom - top)
