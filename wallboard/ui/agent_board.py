"""Every agent as a cell, in ONE custom-painted widget (a widget per agent does not scale to 5,000).

The view model decides grouping, order and paging; this widget only decides how many cells fit
(``grid_shape``), where each goes, and repaints just the cells whose content changed (dirty rects).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QFontMetricsF,
    QPainter,
    QPaintEvent,
    QPixmap,
    QRegion,
    QResizeEvent,
)
from PySide6.QtWidgets import QWidget

from wallboard.core.view_model import AgentBoardView, AgentCell, AgentSection
from wallboard.ui.pixel_grid import repaints_in_parts
from wallboard.ui.theme import Theme, make_font
from wallboard.ui.tile_frame import ANTIALIASING, TileFrame, ref_height, text_painter

ELIDE = Qt.TextElideMode.ElideRight
_INK = 3  # px of room around a word's advance in its piece: ink may reach past it (italic, overhangs)
# (where, what: AgentCell or section header title, (x, y, w, h) of where as ints: read per cell per paint
# without four calls into Qt)
Item = tuple[QRect, object, tuple[int, int, int, int]]
Slot = tuple[QRect, tuple[int, int, int, int]]


class AgentBoardWidget(TileFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: AgentBoardView | None = None
        self._items: list[Item] = []
        self._fonts: tuple[QFont, QFont, QFont, QFont] | None = None
        self._cell_cache: dict[tuple, QPixmap] = {}  # insertion-ordered: oldest first
        self._time_cache: dict[tuple, QPixmap] = {}  # time-in-state texts ("4:05"), oldest first
        self._word_cache: dict[tuple, tuple[QPixmap, float, int]] = {}  # words of names, reasons (_word_piece)
        self._grid: tuple[tuple, QRectF, tuple[int, int]] | None = None  # (size key, grid rect, shape)
        self._slot_cache: tuple[tuple, tuple[int, list[Slot], list[list[Slot]]]] | None = None
        self._clock_rects: dict[tuple[int, int, int, int], QRect] = {}  # per slot (_clock_rect)
        self._title_strip: tuple[tuple, QPixmap] | None = None  # the title row without the page text
        self.cells_painted = 0  # for tests and benchmarks: cells drawn by the last paint
        self._dpr = 1.0  # the device pixel ratio of the paint in progress

    # ----------------------------------------------------------------- geometry
    def cell_size(self) -> tuple[float, float, float]:
        h = max(18.0, ref_height(self) * 0.034)
        return h * 5.6, h, h * 0.14  # min width, height, gap

    def _grid_rect(self) -> QRectF:
        return self._grid_geometry()[0]

    def grid_shape(self) -> tuple[int, int]:
        """(cols, rows) of cell slots that fit; the view model pages agents with it."""
        return self._grid_geometry()[1]

    def _grid_geometry(self) -> tuple[QRectF, tuple[int, int]]:
        key = (self.width(), self.height(), ref_height(self))  # asked at every refresh: keep it
        if self._grid is None or self._grid[0] != key:
            pad = self.pad()
            top = pad * 0.8 + QFontMetricsF(make_font(self.title_px())).height() + pad * 0.5
            g = QRectF(pad, top, self.width() - 2 * pad, self.height() - top - pad * 0.8)
            min_w, h, gap = self.cell_size()
            cols = max(1, int((g.width() + gap) // (min_w + gap)))
            rows = max(2, int((g.height() + gap) // (h + gap)))
            self._grid = (key, g, (cols, rows))
        return self._grid[1], self._grid[2]

    def _slots(self) -> tuple[int, list[Slot], list[list[Slot]]]:
        """(cols, header rect per row, cell rects per row): fixed per size, so a layout only indexes them."""
        key = (self.width(), self.height(), ref_height(self))
        if self._slot_cache is None or self._slot_cache[0] != key:
            _, h, gap = self.cell_size()
            g = self._grid_rect()
            cols, rows = self.grid_shape()
            w = (g.width() - gap * (cols - 1)) / cols
            cw, ch = int(w), int(h)  # every cell the same whole-pixel size: one cached pixmap fits any slot
            headers, cells = [], []
            for row in range(rows + 1):
                y = g.top() + row * (h + gap)
                hr = QRectF(g.left(), y, g.width(), h).toAlignedRect()
                headers.append((hr, (hr.x(), hr.y(), hr.width(), hr.height())))
                xs = [round(g.left() + c * (w + gap)) for c in range(cols)]
                cells.append([(QRect(x, round(y), cw, ch), (x, round(y), cw, ch)) for x in xs])
            self._slot_cache = (key, (cols, headers, cells))
        return self._slot_cache[1]

    def _layout(self, view: AgentBoardView) -> list[Item]:
        cols, headers, slots = self._slots()
        last = len(headers) - 1
        items: list[Item] = []
        row = 0
        for sec in view.sections:
            items.append((*headers[min(row, last)][:1], sec.title, headers[min(row, last)][1]))
            row += 1
            for i, cell in enumerate(sec.cells):
                r, c = divmod(i, cols)
                rect, xywh = slots[min(row + r, last)][c]
                items.append((rect, cell, xywh))
            row += -(-len(sec.cells) // cols)
        return items

    def _state_of_header(self, view: AgentBoardView, title: str) -> str | None:
        for sec in view.sections:
            if sec.title == title:
                return sec.state
        return None

    # ----------------------------------------------------------------- updates
    def view_changed(self, old: object | None, new: object) -> None:
        assert isinstance(new, AgentBoardView)
        prev = self._items
        dpr = self.devicePixelRatioF()
        if (not isinstance(old, AgentBoardView) or old.title != new.title or old.stale != new.stale
                or not repaints_in_parts(dpr)):
            self._items = self._layout(new)
            self.update()
            return
        # At a fractional device pixel ratio a rect's edges fall inside device pixels, which Qt may leave out
        # of the repaint while a full paint covers them: one more pixel around each rect.
        grow = 0 if dpr.is_integer() else 1

        def grown(rect: QRect) -> QRect:
            return rect.adjusted(-grow, -grow, grow, grow) if grow else rect

        if old.page_text != new.page_text:  # (the agents' count: it changes with every login and logout)
            self.update(self._title_row_rect().adjusted(0, 0, 0, grow))
        patched = _patched_items(prev, old, new, self._clock_rect)
        if patched is not None:  # cells changed in place (between regroupings): only they are repainted
            self._items, rects = patched
            for rect in rects:
                self.update(grown(rect))
            return
        # Regrouped: slot by slot, a cell that moved, changed or went away is repainted, nothing else (when
        # the groups above it change size, the cells below shift; each one is two blits). A cell that only
        # shows the next second (each second, nearly all of them) repaints its clock alone.
        items = self._items = self._layout(new)
        dirty = QRegion()
        for i in range(max(len(prev), len(items))):
            a = prev[i] if i < len(prev) else None
            b = items[i] if i < len(items) else None
            if a != b:
                if a is not None and b is not None and a[2] == b[2] and _clock_only(a[1], b[1]):
                    dirty += grown(self._clock_rect(b[2], a[1].time_text, b[1].time_text))  # type: ignore[union-attr]
                    continue
                for it in (a, b):
                    if it is not None:
                        dirty += grown(it[0])
        if not dirty.isEmpty():
            self.update(dirty)

    def _title_row_rect(self) -> QRect:
        """The panel above the cells: title and page text."""
        return QRect(0, 0, self.width(), math.ceil(self._grid_rect().top()))

    def _clock_rect(self, xywh: tuple[int, int, int, int], *texts: str) -> QRect:
        """Where a cell's clock is drawn (see _paint_cell): wide enough for any clock text, so one rect per
        slot (each second every clock on the page changes: 8 rects in 10 of the calls, not computing each)."""
        got = self._clock_rects.get(xywh)
        if got is None:
            x, y, w, h = xywh
            font = self._cell_fonts()[2]
            # The widest texts view_model.format_clock makes (0:42, 12m, 1h05, 3d; tabular digits), as
            # _time_pixmap sizes them.
            tw = max(math.ceil(QFontMetricsF(font).horizontalAdvance(t)) + 2 for t in ("00:00", "00h00", "000d", "00m"))
            left = math.floor(x + w - h * 0.14 - tw) - 2
            got = self._clock_rects[xywh] = QRect(left, y, x + w - left, math.ceil(h * 0.6) + 2)
        return got

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fonts = None
        self._clock_rects.clear()
        self._cell_cache.clear()
        self._time_cache.clear()
        self._word_cache.clear()
        if self.view is not None:
            self._items = self._layout(self.view)  # type: ignore[arg-type]

    def set_theme(self, t: Theme) -> None:
        self._clock_rects.clear()
        self._cell_cache.clear()
        self._time_cache.clear()
        self._word_cache.clear()
        super().set_theme(t)

    def _cell_fonts(self) -> tuple[QFont, QFont, QFont, QFont]:
        if self._fonts is None:
            _, h, _ = self.cell_size()
            self._fonts = (make_font(h * 0.36, QFont.Weight.DemiBold, tabular=False),  # name
                           make_font(h * 0.28, tabular=False),  # reason
                           make_font(h * 0.36, QFont.Weight.DemiBold),  # time (tabular)
                           make_font(h * 0.27, QFont.Weight.Bold, tabular=False))  # state code
        return self._fonts

    # ----------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        v = self.view
        p = QPainter(self)
        clip = event.region()
        # (QRegion.contains(QRect) means "overlaps", so test coverage by subtraction)
        full = (v is None or QRegion(self.rect()).subtracted(clip).isEmpty()
                or not repaints_in_parts(self.devicePixelRatioF()))
        items = self._items
        if full:
            p.setRenderHint(ANTIALIASING)
            self.paint_panel(p, v.title if v else "", v.page_text if v else "")
        else:  # a few slots: the items within the region's bounds (in Python: a call into Qt per item is dear)
            left, top, width, height = event.rect().getRect()
            right, bottom = left + width, top + height
            items = [it for it in items if it[2][0] < right and it[2][0] + it[2][2] > left
                     and it[2][1] < bottom and it[2][1] + it[2][3] > top]
            p.setClipRegion(clip)
            covered = QRegion()  # cell pixmaps are opaque: clear only the rest to the tile's colour
            title_row = top < self._title_row_rect().bottom() + 1  # the page text changed
            if title_row:
                covered += self._title_row_rect()
            for rect, what, _ in items:
                if type(what) is AgentCell:
                    covered += rect
            # (Not anti-aliased: at a fractional device pixel ratio two fills meeting inside a device pixel
            # would each cover it by a part, and the old pixel would show through.)
            for r in clip.subtracted(covered):
                p.fillRect(r, self.theme.tile)
            p.setRenderHint(ANTIALIASING)
            if title_row:
                self._paint_title_row(p, v)
        painted = 0
        if v is not None:
            fonts = self._cell_fonts()
            stale = v.stale
            self._dpr = dpr = self.devicePixelRatioF()
            paint_cell = self._paint_cell if dpr.is_integer() else self._paint_cell_snapped
            for rect, what, xywh in items:
                if type(what) is AgentCell:
                    paint_cell(p, xywh, what, fonts, stale)
                    painted += 1
                else:
                    self._paint_header(p, QRectF(rect), str(what), self._state_of_header(v, str(what)),
                                       fonts, v.stale)
        self.cells_painted = painted
        p.end()

    def _paint_title_row(self, p: QPainter, v: AgentBoardView) -> QRect:
        """The title row, laid out as paint_panel lays it out: the panel's top and the title from a cached
        strip (filling the whole rounded panel, clipped, took ~1 ms, and the page text's agent count changes
        most seconds), the page text drawn over it. Returns the row's rect."""
        row_rect = self._title_row_rect()
        pad = self.pad()
        font = make_font(self.title_px(), QFont.Weight.DemiBold, tabular=False)
        fm = QFontMetrics(font, self)
        row = QRectF(pad, pad * 0.8, self.width() - 2 * pad, fm.height())
        right_w = fm.horizontalAdvance(v.page_text) + pad if v.page_text else 0.0
        title = fm.elidedText(v.title, ELIDE, int(row.width() - right_w))
        dpr = self.devicePixelRatioF()
        key = (self.width(), row_rect.height(), ref_height(self), dpr, self.theme.name, title)
        if self._title_strip is None or self._title_strip[0] != key:
            pm = QPixmap(math.ceil(self.width() * dpr), math.ceil(row_rect.height() * dpr))
            pm.setDevicePixelRatio(dpr)
            pm.fill(self.theme.background)
            sp = QPainter(pm)
            sp.setRenderHint(QPainter.RenderHint.Antialiasing)
            self.paint_panel(sp, title)  # (the whole panel, of which the strip keeps the top)
            sp.end()
            self._title_strip = (key, pm)
        p.drawPixmap(0, 0, self._title_strip[1])
        if v.page_text:
            p.setFont(font)
            p.setPen(self.theme.text_dim)
            p.drawText(row, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, v.page_text)
        return row_rect

    def _paint_header(self, p: QPainter, r: QRectF, title: str, state: str | None,
                      fonts: tuple[QFont, ...], stale: bool) -> None:
        t = self.theme
        p.fillRect(r, t.tile)
        h = r.height()
        x = r.left()
        if state is not None:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(t.text_dim if stale else t.states[state])
            p.drawRoundedRect(QRectF(x, r.top() + h * 0.3, h * 0.4, h * 0.4), h * 0.08, h * 0.08)
            x += h * 0.6
        p.setFont(fonts[0])
        p.setPen(t.text)
        p.drawText(QRectF(x, r.top(), r.width() - (x - r.left()), h),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)

    def _paint_cell(self, p: QPainter, xywh: tuple[int, int, int, int], cell: AgentCell,
                    fonts: tuple[QFont, ...], stale: bool) -> None:
        # Two blits: the cell without its clock (cached per agent and look), and the clock (cached per
        # text), the only part that changes every second. Few calls into Qt: each one releases and
        # retakes the GIL, which the feed thread wants too.
        x, y, w, h = xywh
        p.drawPixmap(x, y, self._cell_pixmap(cell, w, h, stale, fonts))
        tp, tw = self._time_pixmap(cell.time_text, h, stale, fonts[2])
        p.drawPixmap(QPointF(x + w - h * 0.14 - tw, y + h * 0.06), tp)

    def _paint_cell_snapped(self, p: QPainter, xywh: tuple[int, int, int, int], cell: AgentCell,
                            fonts: tuple[QFont, ...], stale: bool) -> None:
        """_paint_cell at a fractional device pixel ratio, where a logical pixel may start inside a device
        pixel: there Qt blits a pixmap one way unclipped (a full paint) and another, blended, clipped (a
        partial one). Both pixmaps start on a whole device pixel instead (of the window too: the board puts the
        tile's origin on one, pixel_grid)."""
        x, y, w, h = xywh
        dpr = self._dpr
        p.drawPixmap(QPointF(round(x * dpr) / dpr, round(y * dpr) / dpr), self._cell_pixmap(cell, w, h, stale, fonts))
        tp, tw = self._time_pixmap(cell.time_text, h, stale, fonts[2])
        p.drawPixmap(QPointF(round((x + w - h * 0.14 - tw) * dpr) / dpr, round((y + h * 0.06) * dpr) / dpr), tp)

    def _time_pixmap(self, text: str, h: float, stale: bool, font: QFont) -> tuple[QPixmap, float]:
        """The clock of a cell, right-aligned in its own transparent pixmap; shaped and drawn once per text
        (a few hundred distinct texts), then blitted: it is the part of every cell that changes each second."""
        key = (text, h, stale)
        hit = self._time_cache.get(key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        fm = QFontMetricsF(font)
        w, rh = math.ceil(fm.horizontalAdvance(text)) + 2, h * 0.5
        pm = self._text_pixmap(w, rh, font, self.theme.text_dim if stale else self.theme.text, QRectF(0, 0, w, rh),
                               Qt.AlignmentFlag.AlignRight, text)
        cache = self._time_cache
        cache[key] = (pm, w)
        while len(cache) > 2048:  # 0:00 to 9:59 and the coarser texts after, in live and stale colours
            del cache[next(iter(cache))]
        return pm, w

    def _cell_pixmap(self, cell: AgentCell, w: int, h: int, stale: bool,
                     fonts: tuple[QFont, ...]) -> QPixmap:
        key = (cell.name, cell.state, cell.code, cell.reason, w, h, stale)
        pm = self._cell_cache.get(key)
        if pm is not None:
            return pm
        # A miss is common: paged by time in state, a page of a large centre takes in dozens of new agents
        # a second. Its texts come from pieces shaped once (a name word by word, a reason whole), so a miss
        # is blits, not text shaping; a text too wide for its place is elided the slow way.
        pm = QPixmap(self._cell_base(cell.state, cell.code, w, h, stale, fonts))  # shared until painted on
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        name_f, reason_f, time_f, _ = fonts
        pad = h * 0.14
        left = h * 1.05 + pad
        inner_w = w - left - pad
        name_w = inner_w - self._time_width(time_f) - pad
        if not self._paint_words(p, cell.name.split(" "), 0, left, name_w, h, name_f):
            name_rect = QRectF(left, h * 0.06, name_w, h * 0.5)
            p.setFont(name_f)
            p.setPen(self.theme.text)
            p.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       QFontMetricsF(name_f).elidedText(cell.name, ELIDE, name_rect.width()))
        if not self._paint_words(p, [cell.reason], 1, left, inner_w, h, reason_f):
            bottom = QRectF(left, h * 0.5, inner_w, h * 0.44)
            p.setFont(reason_f)
            p.setPen(self.theme.text_dim)
            p.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       QFontMetricsF(reason_f).elidedText(cell.reason, ELIDE, bottom.width()))
        p.end()
        cache = self._cell_cache
        cache[key] = pm
        limit = max(64, 3 * len(self._items))  # a few pages' worth; oldest entries go first
        while len(cache) > limit:
            del cache[next(iter(cache))]
        return pm

    def _paint_words(self, p: QPainter, words: list[str], line: int, left: float, width: float, h: int,
                     font: QFont) -> bool:
        """Paint ``words`` (one space apart) left-aligned on the cell's ``line`` (0: name, 1: reason) from
        their cached pieces; False, painting nothing, when they do not fit in ``width``."""
        pieces = [self._word_piece(word, line, h, font) for word in words]
        space = self._word_piece(" ", line, h, font)[1] if len(words) > 1 else 0.0
        if sum(piece[1] for piece in pieces) + space * (len(words) - 1) > width:
            return False
        x = left
        for pm, adv, top in pieces:
            if not pm.isNull():
                p.drawPixmap(QPointF(round(x) - _INK, top), pm)
            x += adv + space
        return True

    def _word_piece(self, word: str, line: int, h: int, font: QFont) -> tuple[QPixmap, float, int]:
        """A word of a cell's name (``line`` 0) or a whole reason (1), drawn once as it would be in the cell,
        in a transparent pixmap just tall enough for its line: (pixmap, advance, its top in the cell). A few
        hundred distinct words cover a large centre's names."""
        key = (word, line, h)
        hit = self._word_cache.get(key)
        if hit is not None:
            return hit
        adv = QFontMetricsF(font).horizontalAdvance(word)
        band_top, band_h = (h * 0.5, h * 0.44) if line else (h * 0.06, h * 0.5)
        top = math.floor(band_top)
        if not word.strip():
            piece = (QPixmap(), adv, top)
        else:
            w = math.ceil(adv) + 2 * _INK
            pm = self._text_pixmap(w, math.ceil(band_top + band_h) - top, font,
                                   self.theme.text_dim if line else self.theme.text,
                                   QRectF(_INK, band_top - top, w, band_h), Qt.AlignmentFlag.AlignLeft, word)
            piece = (pm, adv, top)
        cache = self._word_cache
        cache[key] = piece
        while len(cache) > 1024:  # oldest first (at 4K a piece is ~15 KB)
            del cache[next(iter(cache))]
        return piece

    def _text_pixmap(self, w: float, h: float, font: QFont, color: QColor, rect: QRectF,
                     align: Qt.AlignmentFlag, text: str) -> QPixmap:
        """``text`` drawn once in ``rect`` (aligned, vertically centred) of a transparent w x h pixmap."""
        dpr = self.devicePixelRatioF()
        pm, tp = text_painter(math.ceil(w * dpr), math.ceil(h * dpr), dpr, font, color)
        tp.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, text)
        tp.end()
        return pm

    def _time_width(self, time_f: QFont) -> float:
        key = ("time_w", time_f.pixelSize())
        tw = self._time_cache.get(key)
        if tw is None:
            fm = QFontMetricsF(time_f)
            tw = self._time_cache[key] = max(fm.horizontalAdvance(x) for x in ("00:00", "00h00"))
        return tw  # type: ignore[return-value]

    def _cell_base(self, state: str, code: str, w: int, h: int, stale: bool,
                   fonts: tuple[QFont, ...]) -> QPixmap:
        """The cell's background and state band with its code: one per state and look."""
        key = ("base", state, code, w, h, stale)
        pm = self._time_cache.get(key)
        if pm is not None:
            return pm  # type: ignore[return-value]
        dpr = self.devicePixelRatioF()
        pm = QPixmap(math.ceil(w * dpr), math.ceil(h * dpr))
        pm.setDevicePixelRatio(dpr)
        t = self.theme
        pm.fill(t.tile)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(0, 0, w, h)
        state_color = t.text_dim if stale else t.states.get(state, t.neutral)
        radius = h * 0.1
        bg = QColor(t.background) if t.cell_fill_alpha == 0 else _mix(t.tile, state_color, t.cell_fill_alpha)
        p.setPen(Qt.PenStyle.NoPen) if t.cell_fill_alpha else p.setPen(state_color)
        p.setBrush(bg)
        p.drawRoundedRect(r.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
        band = QRectF(0, 0, h * 1.05, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(state_color)
        p.drawRoundedRect(band, radius, radius)
        p.drawRect(band.adjusted(band.width() / 2, 0, 0, 0))
        p.setFont(fonts[3])
        p.setPen(t.state_text.get(state, t.text) if not stale else t.background)
        p.drawText(band, Qt.AlignmentFlag.AlignCenter, code)
        p.end()
        self._time_cache[key] = pm  # (kept with the clock texts: same lifetime, cleared on resize/theme)
        return pm

def _clock_only(a: object, b: object) -> bool:
    """Whether cell ``b`` is cell ``a`` a moment later: the same agent showing the same, but its clock."""
    return (type(a) is AgentCell and type(b) is AgentCell and a.agent_id == b.agent_id and a.name == b.name
            and a.state == b.state and a.code == b.code and a.reason == b.reason)


def _patched_items(items: list[Item], old: AgentBoardView, new: AgentBoardView,
                   clock_rect: Callable[..., QRect]) -> tuple[list[Item], list[QRect]] | None:
    """When ``new`` is ``old`` with cells changed in place (wallboard.core.view_model.patch_agent_board_view:
    the same sections, each with as many cells, maybe with new header counts), ``items`` (laid out for
    ``old``) for ``new`` and the rects of the cells and headers that changed (only the clock's,
    ``clock_rect(xywh, old text, new text)``, where it alone did); otherwise None."""
    if len(old.sections) != len(new.sections):
        return None
    for a, b in zip(old.sections, new.sections, strict=True):
        if a is not b and (a.state != b.state or len(a.cells) != len(b.cells)):
            return None
    out: list[Item] | None = None
    rects: list[QRect] = []
    at = 0
    for a, b in zip(old.sections, new.sections, strict=True):
        if a is not b and a.title != b.title and at < len(items):  # the header's count
            if out is None:
                out = list(items)
            rect, _, xywh = items[at]
            out[at] = (rect, b.title, xywh)
            rects.append(rect)
        at += 1  # the section's header
        if a is not b:
            for i, (ca, cb) in enumerate(zip(a.cells, b.cells, strict=True)):
                if ca is not cb and ca != cb and at + i < len(items):
                    if out is None:
                        out = list(items)
                    rect, _, xywh = items[at + i]
                    out[at + i] = (rect, cb, xywh)
                    rects.append(clock_rect(xywh, ca.time_text, cb.time_text) if _clock_only(ca, cb) else rect)
        at += len(b.cells)
    return (items if out is None else out), rects


def _mix(a: QColor, b: QColor, alpha: int) -> QColor:
    """``b`` laid over ``a`` at ``alpha``/255 (an opaque result paints faster than a translucent one)."""
    f = alpha / 255
    return QColor(round(a.red() * (1 - f) + b.red() * f), round(a.green() * (1 - f) + b.green() * f),
                  round(a.blue() * (1 - f) + b.blue() * f))


__all__ = ["AgentBoardWidget", "AgentSection"]
