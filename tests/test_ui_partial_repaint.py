"""Tiles that repaint only what changed must leave on screen exactly what a full paint shows.

Each test drives a real tile (offscreen) through a sequence of views and, after each step, compares what is on
screen (the window's backing store, which partial repaints update in place; widget.grab() would repaint it
all) with a freshly made tile painted once with the same view: pixel for pixel, no tolerance (same process,
same fonts, same painter), within a small tolerance for Qt's own anti-aliasing (see TOLERANCE).
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

from wallboard.core.board_config import AgentBoardTile, BoardConfig
from wallboard.core.view_model import (
    DASH,
    AgentBoardView,
    AgentOrder,
    AgentStatesView,
    FeedView,
    StateCount,
    TileView,
    agent_board_view,
    page_text,
    patch_agent_board_view,
)
from wallboard.ui import agent_states_tile, figure_tile
from wallboard.ui.agent_board import AgentBoardWidget
from wallboard.ui.agent_states_tile import AgentStatesWidget, bar_changed_rects
from wallboard.ui.board import BoardWidget
from wallboard.ui.figure_tile import FigureTileWidget, Piece
from wallboard.ui.pixel_grid import PixelGridLayout, repaints_in_parts
from wallboard.ui.theme import theme
from wallboard.ui.tile_frame import TileFrame

# Qt draws large text (the figure's unit: drawText, not a cached glyph pixmap) with anti-aliasing that varies
# by a few levels (up to 5/255 seen) with the state of its glyph caches, i.e. with what the process drew
# before: two fresh tiles painting the same view can differ so (with the code before partial repaints too).
# A piece missed or cut by a dirty rect differs by far more (ink against background).
TOLERANCE = 8
# At a device pixel ratio where tiles cannot be snapped to whole device pixels (e.g. 1.1) they repaint whole
# (pixel_grid.repaints_in_parts): the tests of what a change repaints apply elsewhere only.
IN_PARTS = repaints_in_parts(float(os.environ.get("QT_SCALE_FACTOR", "1")))
in_parts_only = pytest.mark.skipif(not IN_PARTS, reason="tiles repaint whole at this device pixel ratio")
AGENT_SIZE = (1200, 420)
FIGURE_SIZE = (600, 420)


def _pixels(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    rows = np.frombuffer(img.constBits(), dtype=np.uint8).reshape(img.height(), img.bytesPerLine())
    return rows[:, :img.width() * 4].astype(np.int16)


def _differ(a: QImage, b: QImage) -> bool:
    """Whether two images differ by more than TOLERANCE in any channel of any pixel."""
    if a.size() != b.size():
        return True
    return a != b and int(np.abs(_pixels(a) - _pixels(b)).max()) > TOLERANCE


def _on_screen(w: TileFrame) -> QImage:
    QApplication.processEvents()  # the pending (partial) repaint
    QApplication.processEvents()
    # The backing store's own image, in device pixels. (The offscreen platform's grabWindow copies a rect of
    # the window's logical size from that image: at a device pixel ratio of 2 only its top-left quarter.)
    img = w.backingStore().paintDevice()
    assert isinstance(img, QImage)
    return img.copy().convertToFormat(QImage.Format.Format_RGB32)  # (a deep copy: the store paints on)


def _show(qtbot, w: TileFrame, size: tuple[int, int], theme_name: str) -> TileFrame:
    qtbot.addWidget(w)
    w.set_theme(theme(theme_name))
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


def _fresh_paint(qtbot, make, view: object, size: tuple[int, int], theme_name: str) -> QImage:
    w = _show(qtbot, make(), size, theme_name)
    w.set_view(view)
    img = _on_screen(w)
    w.close()
    return img


def _mismatches(qtbot, make, views: list, size: tuple[int, int], theme_name: str = "dark") -> list[int]:
    """Steps after which the tile on screen differs from a fresh tile painted with that step's view."""
    w = _show(qtbot, make(), size, theme_name)
    bad = []
    for i, v in enumerate(views):
        w.set_view(v)
        if _differ(_on_screen(w), _fresh_paint(qtbot, make, v, size, theme_name)):
            bad.append(i)
    return bad


# ------------------------------------------------------------------------------------------- agent states
def _agents(counts: tuple[int, ...], logged_in: str = "58", occupancy: str = "87", stale: bool = False,
            labels: tuple[str, ...] = ("Ringing", "Available", "On call", "Outbound", "Wrap-up", "Not ready"),
            title: str = "Agents") -> AgentStatesView:
    states = ("ringing", "available", "on_call", "outbound", "wrap_up", "not_ready")
    return AgentStatesView(
        kind="agent_states", title=title,
        counts=tuple(StateCount(state=s, label=lb, code=s[:3].upper(), count=c, text=f"{c:,}".replace(",", "\u2009"))
                     for s, lb, c in zip(states, labels, counts, strict=True)),
        logged_in=logged_in, occupancy=occupancy, stale=stale, stale_text="feed lost 0:12 ago" if stale else "")


AGENT_VIEWS = [
    _agents((3, 12, 28, 0, 9, 6)),
    _agents((3, 12, 29, 0, 9, 6)),  # one digit of one column; the shares move
    _agents((2, 13, 29, 0, 9, 6)),  # two columns, same total
    _agents((2, 13, 29, 0, 9, 6), occupancy="88"),  # the right-hand title text only
    _agents((2, 13, 99, 0, 9, 6), logged_in="128", occupancy="91"),
    _agents((2, 13, 100, 0, 9, 6), logged_in="129", occupancy="91"),  # a third digit
    _agents((2, 13, 1864, 0, 312, 145), logged_in="2\u2009336", occupancy="100"),  # wider: all columns refit
    _agents((0, 0, 0, 0, 0, 0), logged_in="0", occupancy=DASH),  # no shares: an empty bar
    _agents((1, 0, 0, 0, 0, 0), logged_in="1", occupancy="0"),
    _agents((1, 0, 0, 0, 0, 0), logged_in="1", occupancy="0", stale=True),  # stale: dim counts, overlay
    _agents((1, 2, 0, 0, 0, 0), logged_in="3", occupancy="0", stale=True),
    _agents((1, 2, 0, 0, 0, 0), logged_in="3", occupancy="0"),
    _agents((1, 2, 0, 0, 0, 0), logged_in="3", occupancy="0", labels=("R", "A", "C", "O", "W", "N")),
    _agents((5, 2, 7, 0, 0, 0), logged_in="14", occupancy="50",
            title="Agents with a title long enough to be elided beside the logged-in text, " * 2),
    _agents((5, 2, 7, 0, 0, 1), logged_in="15", occupancy="47",
            title="Agents with a title long enough to be elided beside the logged-in text, " * 2),
]


@pytest.mark.parametrize("theme_name", ["dark", "light"])
def test_agent_states_partial_repaints_match_a_full_paint(qtbot, theme_name: str) -> None:
    assert _mismatches(qtbot, AgentStatesWidget, AGENT_VIEWS, AGENT_SIZE, theme_name) == []


@in_parts_only
def test_agent_states_repaints_only_the_changed_column_and_the_bar(qtbot) -> None:
    w = _show(qtbot, AgentStatesWidget(), AGENT_SIZE, "dark")
    w.set_view(AGENT_VIEWS[0])
    _on_screen(w)
    dirty: list = []
    w.update = lambda *a: dirty.append(a)  # record what the tile asks Qt to repaint
    w.set_view(AGENT_VIEWS[1])  # "28" -> "29" in the third of six columns
    rects = [QRect(*a) for a in dirty]  # update(x, y, w, h), a call per rect
    col_w = w.width() / 6
    digit = [r for r in rects if r.bottom() < w.height() * 0.8]  # the count; the others are in the bar
    assert len(digit) == 1
    assert 2 * col_w < digit[0].left() and digit[0].right() < 3 * col_w
    assert digit[0].width() < col_w / 2  # the changed digit, not the whole count
    bar = [r for r in rects if r not in digit]
    # 58 -> 59 agents: every edge between shares moved a little; only the pixels around the edges repaint
    assert 1 <= len(bar) <= 5 and sum(r.width() for r in bar) < w.width() / 10


def test_the_bar_repaints_where_an_edge_moved() -> None:
    def bar(*segments):
        return Piece(("bar", segments), (0, 100, 200, 110), lambda p: None)

    old = bar((0.0, 50.0, 1), (50.0, 120.0, 2), (120.0, 200.0, 3))
    assert bar_changed_rects(old, old) == []
    # the edge between the first two shares moves from 50 to 52: x 50..52 turns from colour 2 to 1
    assert bar_changed_rects(old, bar((0.0, 52.0, 1), (52.0, 120.0, 2), (120.0, 200.0, 3))) == [(49, 100, 4, 10)]
    # a share goes (its pixels take the next colour) and the bar's end comes in: two stretches
    assert bar_changed_rects(old, bar((0.0, 120.0, 1), (120.0, 190.0, 3))) == [(49, 100, 72, 10),
                                                                              (189, 100, 12, 10)]


# ------------------------------------------------------------------------------------------- figure tiles
def _figure(value: str, **kw) -> TileView:
    base = dict(kind="asa", title="Avg speed of answer · today", value=value, unit="s", detail="1\u2009204 answered",
                severity="none", severity_text="", trend=None, trend_good=None, stale=False, stale_text="")
    return TileView(**{**base, **kw})


FIGURE_VIEWS = [
    _figure("7"),
    _figure("17"),  # a glyph more: the unit moves
    _figure("18"),  # one glyph
    _figure("18", detail="1\u2009205 answered"),  # the detail line only
    _figure("18", detail="1\u2009205 answered · a detail long enough to be elided at the tile's right edge " * 3),
    _figure("18", detail="short"),
    _figure("18", trend="up", trend_good=False),
    _figure("19", trend="up", trend_good=True),  # the trend mark's colour
    _figure("19", trend="down", trend_good=True),
    _figure("19", trend="flat", trend_good=None),
    _figure("1\u2009234\u2009567", trend="flat", trend_good=None),  # too wide: fitted, smaller
    _figure(DASH, trend=None),  # nothing to average: a quieter mark
    _figure("42", unit="", trend="up", trend_good=True),  # no unit: the trend mark moves left
    _figure("42", severity="warn", severity_text="above goal"),  # severity: badge, stripe, colour
    _figure("43", severity="warn", severity_text="above goal"),
    _figure("43", severity="alarm", severity_text="far above goal", flash_on=True),
    _figure("44", severity="alarm", severity_text="far above goal", flash_on=True),
    _figure("44", severity="alarm", severity_text="far above goal", flash_on=False),
    _figure("44", severity="alarm", severity_text="far above goal", stale=True, stale_text="feed lost 0:05 ago"),
    _figure("45", severity="alarm", severity_text="far above goal", stale=True, stale_text="feed lost 0:06 ago"),
    _figure("45"),
]


def _service_level(value: str, bar: float | None, **kw) -> TileView:
    base = dict(kind="service_level", title="Service level · today", unit="%", detail="goal 80% in 20 s",
                bar=bar, bar_goal=0.8)
    return _figure(value, **{**base, **kw})


BAR_VIEWS = [
    _service_level("81", 0.81),
    _service_level("82", 0.82),
    _service_level("82", 0.82, detail="goal 80% in 20 s · answered ≤ T / offered"),
    _service_level("79", 0.79, severity="warn", severity_text="below goal"),
    _service_level("100", 1.0),
    _service_level(DASH, None),
    _service_level("0", 0.0),
    _service_level("5", 0.05, stale=True, stale_text="feed lost 1:00 ago"),
    _service_level("5", 0.05),
    _figure("5"),  # the bar goes: the layout changes
]


@pytest.mark.parametrize("theme_name", ["dark", "high-contrast"])
def test_figure_tile_partial_repaints_match_a_full_paint(qtbot, theme_name: str) -> None:
    assert _mismatches(qtbot, lambda: FigureTileWidget(sparkline=False), FIGURE_VIEWS, FIGURE_SIZE, theme_name) == []


def test_service_level_tile_partial_repaints_match_a_full_paint(qtbot) -> None:
    assert _mismatches(qtbot, lambda: FigureTileWidget(sparkline=False), BAR_VIEWS, FIGURE_SIZE) == []


@in_parts_only
def test_figure_tile_repaints_only_the_changed_glyph(qtbot) -> None:
    w = _show(qtbot, FigureTileWidget(sparkline=False), FIGURE_SIZE, "dark")
    w.set_view(_figure("17"))
    _on_screen(w)
    dirty: list = []
    w.update = lambda *a: dirty.append(a)
    w.set_view(_figure("18"))
    (r,) = [QRect(*a) for a in dirty]
    one, _eight, unit = w._runs(_figure("18"))[0]
    assert w._areas()[0].toAlignedRect().contains(r)
    assert r.left() >= one.bounds[2] and r.right() < unit.bounds[0]  # the second digit, not the "1" or the unit


# ------------------------------------------------------------------------------------------- agent board
BOARD_SIZE = (1400, 520)


def _board_views() -> list[AgentBoardView]:
    """A board of 30 agents through in-place changes (one cell, two cells, a page of none), a regrouping
    (cells move between groups), staleness, and a logout and a login (a new page text with regrouped cells),
    as the controller makes them."""
    t0 = 1_800_000_000.0
    rows = {f"A{i:02d}": {"agent_id": f"A{i:02d}", "name": f"Agent {i}", "team": "t", "queues": ["q"],
                          "state": ("available", "on_call", "wrap_up")[i % 3], "reason": "", "since": t0 - 200 + i * 5}
            for i in range(30)}
    tile = AgentBoardTile(kind="agent_board", row=0, col=0)
    order = AgentOrder()
    order.rebuild(rows.values())
    live = FeedView("live", "Live", "ok", "data 0 s old", False, "")

    def grouped(now: float, feed: FeedView = live) -> AgentBoardView:
        return agent_board_view(tile, order, 6, 8, now, None, 15, feed, page=0)

    def change(now: float, view: AgentBoardView, **states: str) -> AgentBoardView:
        for agent, state in states.items():
            rows[agent] = {**rows[agent], "state": state, "since": now}
        order.update([rows[a] for a in states])
        return patch_agent_board_view(view, rows, set(states), now)

    def retimed(now: float, view: AgentBoardView) -> AgentBoardView:
        """A new second on a page held for its dwell (BoardViewModel.build): every clock, the headers' counts
        and the page text's total."""
        sizes = {title: len(group) for title, _state, group in order.groups}
        v = patch_agent_board_view(view, rows, None, now, sizes)
        return dataclasses.replace(v, total=order.total, page_text=page_text(v.page, v.pages, order.total))

    views = [grouped(t0)]
    views.append(change(t0 + 0.2, views[-1], A03="not_ready"))  # one cell in place
    views.append(change(t0 + 0.4, views[-1], A01="wrap_up", A10="ringing"))  # two cells
    views.append(grouped(t0 + 1))  # the next second: regrouped, the clocks tick
    views.append(change(t0 + 1.2, views[-1], A05="available"))
    views.append(grouped(t0 + 2, FeedView("lost", "Feed lost", "alarm", "data 9 s old", True, "feed lost 0:09 ago")))
    views.append(grouped(t0 + 3))
    views.append(grouped(t0 + 4))  # the clocks alone tick
    views.append(grouped(t0 + 400))  # ... past ten minutes: "10m", a narrower text
    views.append(change(t0 + 400.2, views[-1], A07="logged_out"))  # in place: logged out
    views.append(grouped(t0 + 401))  # regrouped: one agent fewer, a new page text
    assert views[-1].page_text != views[-2].page_text
    views.append(change(t0 + 401.2, views[-1], A07="available"))  # back: in place, then a new page text again
    views.append(grouped(t0 + 401.5))
    views.append(change(t0 + 401.7, views[-1], A02="not_ready", A04="logged_out"))
    views.append(retimed(t0 + 402, views[-1]))  # held page: clocks, header counts and total change in place
    assert [s.title for s in views[-1].sections] != [s.title for s in views[-2].sections]
    assert views[-1].page_text != views[-2].page_text
    views.append(retimed(t0 + 403, views[-1]))  # the clocks alone
    return views


def test_agent_board_partial_repaints_match_a_full_paint(qtbot) -> None:
    views = _board_views()
    assert views[1] is not views[0] and views[1].sections != views[0].sections  # a change in place, really
    assert _mismatches(qtbot, AgentBoardWidget, views, BOARD_SIZE) == []


# ------------------------------------------------------------------------------------------- the check itself
def _shrunk(changed_rects):
    """Deliberately broken dirty rects: each loses its right-most 6 pixels."""
    def broken(old, new):
        return [(x, y, w - 6, h) for x, y, w, h in changed_rects(old, new)]
    return broken


@in_parts_only
def test_the_comparison_catches_a_dirty_region_too_small(qtbot, monkeypatch) -> None:
    monkeypatch.setattr(figure_tile, "changed_rects", _shrunk(figure_tile.changed_rects))
    monkeypatch.setattr(agent_states_tile, "changed_rects", _shrunk(agent_states_tile.changed_rects))
    assert _mismatches(qtbot, lambda: FigureTileWidget(sparkline=False), FIGURE_VIEWS[:4], FIGURE_SIZE) != []
    assert _mismatches(qtbot, AgentStatesWidget, AGENT_VIEWS[:3], AGENT_SIZE) != []


def test_the_comparison_sees_a_stale_frame(qtbot) -> None:
    """No repaint at all after a change must show as a difference (the grab reads what is on screen)."""
    w = _show(qtbot, FigureTileWidget(sparkline=False), FIGURE_SIZE, "dark")
    w.set_view(_figure("17"))
    _on_screen(w)
    w.update = lambda *a: None
    w.set_view(_figure("18"))
    assert _differ(_on_screen(w), _fresh_paint(qtbot, lambda: FigureTileWidget(sparkline=False), _figure("18"),
                                         FIGURE_SIZE, "dark"))


# ------------------------------------------------------------------------------------------- inside a board
def _in_host(qtbot, make, size: tuple[int, int]) -> tuple[QWidget, TileFrame]:
    """A tile as a board places it: in the board's grid (pixel_grid.PixelGridLayout) at an odd offset, where at
    a ratio of 1.5 it would start inside a device pixel without the grid's snapping."""
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(size[0] + 20, size[1] + 20)
    grid = PixelGridLayout(host)
    grid.setContentsMargins(7, 5, 13, 15)
    w = make()
    w.set_theme(theme("dark"))
    grid.addWidget(w, 0, 0)
    host.show()
    qtbot.waitExposed(host)
    return host, w


@pytest.mark.parametrize("kind", ["figure", "agent_states", pytest.param("agent_board", marks=pytest.mark.xfail(
    not IN_PARTS, reason="unsnapped at a mid-pixel offset, Qt paints the board's first view a device pixel "
                         "apart from a repaint of it (docs/ui.md, Known limits)"))])
def test_tiles_in_a_board_match_a_full_paint(qtbot, kind: str) -> None:
    make, views, size = {"figure": (lambda: FigureTileWidget(sparkline=False), FIGURE_VIEWS, FIGURE_SIZE),
                         "agent_states": (AgentStatesWidget, AGENT_VIEWS, AGENT_SIZE),
                         "agent_board": (AgentBoardWidget, _board_views(), BOARD_SIZE)}[kind]
    host, w = _in_host(qtbot, make, size)
    dpr = w.devicePixelRatioF()
    origin = w.mapTo(host, QPoint(0, 0))
    if IN_PARTS:
        assert (origin.x() * dpr).is_integer() and (origin.y() * dpr).is_integer()  # on a whole device pixel
    bad = []
    for i, v in enumerate(views):
        w.set_view(v)
        fresh_host, fresh = _in_host(qtbot, make, size)
        fresh.set_view(v)
        if _differ(_on_screen(host), _on_screen(fresh_host)):
            bad.append(i)
        fresh_host.close()
    assert bad == []


@in_parts_only
def test_a_boards_tiles_sit_on_whole_device_pixels_after_a_burn_in_drift_or_a_move(qtbot) -> None:
    """(Meaningful at a fractional ratio, tests/test_ui_scale_factors.py; at 1 every pixel is whole.)"""
    host = QWidget()  # (the window: a board moves in it when, say, a docked panel opens beside it)
    qtbot.addWidget(host)
    host.resize(1300, 740)
    board = BoardWidget(BoardConfig(), parent=host)
    board.setGeometry(0, 0, 1283, 721)
    host.show()
    qtbot.waitExposed(host)

    def on_whole_pixels() -> bool:
        for tile in board.current_page().tiles:
            o, dpr = tile.mapTo(host, QPoint(0, 0)), tile.devicePixelRatioF()
            if not ((o.x() * dpr).is_integer() and (o.y() * dpr).is_integer()):
                return False
        return True

    assert on_whole_pixels()
    board.set_drift(0, 0)  # (lays the board out now, as a drift does)
    start = [tile.geometry() for tile in board.current_page().tiles]
    for dx, dy in ((1, 0), (3, 1), (-2, -1), (1, 0), (3, 1), (-2, -1), (0, 0)):
        board.set_drift(dx, dy)
        assert on_whole_pixels()
    assert [tile.geometry() for tile in board.current_page().tiles] == start  # drifts do not wear tiles down
    for x, y in ((1, 0), (3, 1), (0, 0)):
        board.move(x, y)
        assert on_whole_pixels()
    assert [tile.geometry() for tile in board.current_page().tiles] == start


@pytest.mark.parametrize("dpr", [1.0, 1.25, 1.5, 1.75, 2.0])
def test_a_panel_blitted_in_parts_is_the_panel_pixel_for_pixel(qtbot, dpr: float) -> None:
    """figure_tile.blit_panel copies the parts of a cached panel under a repaint's rects; each part must land
    exactly where a whole blit puts it (at a fractional ratio a part is widened to whole device pixels)."""
    w, h = 120, 80
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, size=(round(h * dpr), round(w * dpr), 4), dtype=np.uint8)
    noise[..., 3] = 255
    data = noise.tobytes()  # (kept alive while the image that wraps it is copied)
    img = QImage(data, noise.shape[1], noise.shape[0], noise.shape[1] * 4, QImage.Format.Format_RGB32).copy()
    panel = QPixmap.fromImage(img)
    panel.setDevicePixelRatio(dpr)
    rects = [(3, 5, 17, 29), (40, 41, 77, 80), (101, 0, 120, 13)]  # (left, top, right, bottom)

    def painted(parts: bool) -> QImage:
        out = QImage(round(w * dpr), round(h * dpr), QImage.Format.Format_RGB32)
        out.setDevicePixelRatio(dpr)
        out.fill(0)
        p = QPainter(out)
        if parts:
            figure_tile.blit_panel(p, panel, rects, dpr)
        else:
            p.drawPixmap(QPoint(0, 0), panel)
        p.end()
        return out

    whole, parts = _pixels(painted(False)), _pixels(painted(True))
    for left, top, right, bottom in rects:  # (device pixels wholly inside each rect)
        x0, y0 = math.ceil(left * dpr), math.ceil(top * dpr)
        x1, y1 = math.floor(right * dpr), math.floor(bottom * dpr)
        assert (parts[y0:y1, x0 * 4:x1 * 4] == whole[y0:y1, x0 * 4:x1 * 4]).all()
