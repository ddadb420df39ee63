"""The board under pytest-qt, offscreen: real widgets, a real feed server and client where it matters."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QObject, QRect, Qt, QThread, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from wallboard.commands.demo import EmbeddedFeed
from wallboard.core import protocol as p
from wallboard.core.alerts import AlertRule
from wallboard.core.board_config import AlertsConfig, BoardConfig
from wallboard.core.engine import MetricsEngine
from wallboard.core.view_model import LinkStatus, agent_board_view, format_count, format_duration
from wallboard.feed.client import FeedClient
from wallboard.feed.sources import PushSource
from wallboard.ui.agent_board import AgentBoardWidget
from wallboard.ui.bridge import FeedBridge
from wallboard.ui.figure_tile import FigureTileWidget
from wallboard.ui.kiosk import ScreenInfo, ScreenNotFoundError, choose_screen, enter_kiosk, pick_screen
from wallboard.ui.window import BoardWindow


def _window(qtbot, config: BoardConfig | None = None, size=(1920, 1080), clock=time.time) -> BoardWindow:
    w = BoardWindow(config or BoardConfig(), kiosk=True, clock=clock)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


def _rects(update_calls: list[tuple]) -> list[QRect]:
    """The rects of recorded ``QWidget.update`` calls (each with a QRect or a QRegion)."""
    return [r for call in update_calls for arg in call for r in ([arg] if isinstance(arg, QRect) else arg)]


def _tile(w: BoardWindow, kind: str) -> FigureTileWidget:
    page = w.board.current_page()
    for cfg, widget in zip(page.page.tiles, page.tiles, strict=True):
        if cfg.kind == kind:
            return widget  # type: ignore[return-value]
    raise KeyError(kind)


def _busy_engine(now: float) -> MetricsEngine:
    eng = MetricsEngine()
    evs: list = [p.QueueInfo(ts=now - 600, queue="q1", name="Sales", sl_threshold_s=20, sl_target_pct=80)]
    for i in range(6):
        evs.append(p.AgentState(ts=now - 600, agent_id=f"a{i}", state="available", queues=["q1"]))
    for i in range(5):
        t = now - 500 + i * 60
        evs += [p.CallQueued(ts=t, call_id=f"c{i}", queue="q1"),
                p.CallAnswered(ts=t + 5 + 10 * i, call_id=f"c{i}", queue="q1", agent_id=f"a{i}"),
                p.CallEnded(ts=t + 120, call_id=f"c{i}", agent_id=f"a{i}"),
                p.AgentState(ts=t + 120, agent_id=f"a{i}", state="available")]
    evs += [p.CallQueued(ts=now - 30, call_id="w1", queue="q1"),
            p.CallQueued(ts=now - 3, call_id="w2", queue="q1")]
    evs.sort(key=lambda e: e.ts)
    eng.apply_many(evs)
    return eng


def test_tiles_show_the_engines_figures(qtbot) -> None:
    # Midday on a held clock: with the wall clock, the calls of the last ten minutes fall into yesterday
    # for the first ten minutes after midnight, and "today" shows none of them.
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()
    w = _window(qtbot, clock=lambda: now)
    w.controller.engine = _busy_engine(now)
    w.controller.set_link(LinkStatus("live", last_data_at=now))
    w.controller.refresh()
    fig = w.controller.engine.figures(w.controller.now())["total"]["today"]
    assert _tile(w, "waiting").view.value == format_count(fig["waiting"]) == "2"
    assert _tile(w, "asa").view.value == format_duration(fig["asa_s"])[0]
    assert _tile(w, "aht").view.value == format_duration(fig["aht_s"])[0] == "1:35"
    assert _tile(w, "abandoned").view.value == "0"
    # 2 of 5 answered within 20 s, and the caller waiting 30 s counts against: 2 / 6.
    assert _tile(w, "service_level").view.value == "33"
    assert _tile(w, "longest_wait").view.value == "30" and _tile(w, "longest_wait").view.severity == "warn"
    img = w.grab().toImage()
    assert img.deviceIndependentSize().width() == 1920 and not img.isNull()  # (any QT_SCALE_FACTOR)


def test_the_board_computes_figures_per_queue_only_when_something_shows_them(qtbot) -> None:
    clock = [datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()]
    rule = AlertRule(name="Wait", figure="longest_wait_s", queue="*", warning=600)
    w = _window(qtbot, BoardConfig(alerts=AlertsConfig(goal_rules=False, rules=[rule])), clock=lambda: clock[0])
    ctl = w.controller
    ctl.engine = _busy_engine(clock[0])
    ctl.set_link(LinkStatus("live", last_data_at=clock[0]))  # (refreshes: the rules run)
    clock[0] += 0.3
    ctl.refresh()  # the alert rules (one per queue) are due again
    assert set(ctl._last_figures["queues"]) == {"q1"}
    clock[0] += 0.1
    ctl.refresh()  # not due again yet, and every tile shows totals: the engine leaves the queues out
    assert ctl._last_figures["queues"] == {}
    assert _tile(w, "waiting").view.value == "2" and _tile(w, "service_level").view.value == "33"
    ctl.set_queue_filter("q1")  # the desktop's queue filter: every tile shows q1
    assert set(ctl._last_figures["queues"]) == {"q1"} and "Sales" in _tile(w, "waiting").view.title


def test_longest_wait_ticks_with_no_events(qtbot) -> None:
    w = _window(qtbot)
    now = time.time()
    eng = MetricsEngine()
    eng.apply_many([p.CallQueued(ts=now - 5, call_id="c1", queue="q")])
    w.controller.engine = eng
    w.controller.set_link(LinkStatus("live", last_data_at=now + 3600))  # keep the figures live
    w.controller.start()
    tile = _tile(w, "longest_wait")
    qtbot.waitUntil(lambda: tile.view is not None and tile.view.value.isdigit(), timeout=2000)
    first = int(tile.view.value)
    # No events are applied from here on: only the controller's own tick can move the figure.
    qtbot.waitUntil(lambda: int(tile.view.value) >= first + 2, timeout=4000)
    assert eng.events_applied == 1


def test_stale_marking_appears_when_server_stops_and_clears_on_reconnect(qtbot) -> None:
    cfg = BoardConfig()
    w = _window(qtbot, cfg)
    bridge = FeedBridge()
    w.controller.attach(bridge)
    w.controller.start()
    source = PushSource()
    feed = EmbeddedFeed(source, 0, heartbeat_s=0.2)
    url = feed.start()
    port = feed.server.port
    client = FeedClient(url, bridge, backoff_base_s=0.05, backoff_cap_s=0.2, status_interval_s=0.1)
    client.start()
    feed2 = None
    try:
        tile = _tile(w, "waiting")
        feed.call(source.push, [p.CallQueued(ts=time.time(), call_id="c1", queue="q")])
        qtbot.waitUntil(lambda: tile.view is not None and tile.view.value == "1" and not tile.view.stale,
                        timeout=5000)
        assert not tile.overlay.isVisible()
        feed.stop()
        qtbot.waitUntil(lambda: tile.overlay.isVisible(), timeout=5000)
        assert tile.view.stale and tile.view.stale_text.startswith("feed lost")
        assert all(t.view.stale for t in w.board.current_page().tiles)
        src2 = PushSource()
        feed2 = EmbeddedFeed(src2, port, heartbeat_s=0.2)
        feed2.start()
        qtbot.waitUntil(lambda: not tile.overlay.isVisible() and not tile.view.stale, timeout=8000)
        assert w.controller.link.state == "live"
    finally:
        client.stop()
        if feed2 is not None:
            feed2.stop()


def test_bridge_delivers_whole_batches_on_the_gui_thread(qtbot) -> None:
    bridge = FeedBridge()
    gui = QThread.currentThread()

    class Receiver(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[tuple[int, bool]] = []

        @Slot(object, int)
        def got(self, events: list, seq: int) -> None:
            self.calls.append((len(events), QThread.currentThread() is gui))

    rx = Receiver()
    bridge.events_received.connect(rx.got, Qt.ConnectionType.QueuedConnection)
    senders: list[bool] = []

    def feed_thread() -> None:
        senders.append(QThread.currentThread() is gui)
        for n in (500, 1, 2000):
            bridge.on_events([p.CallQueued(ts=1.0, call_id=f"c{i}", queue="q") for i in range(n)], n)

    t = threading.Thread(target=feed_thread)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(rx.calls) == 3, timeout=2000)
    assert senders == [False]
    assert rx.calls == [(500, True), (1, True), (2000, True)]  # one delivery per batch, on the GUI thread


def test_five_thousand_agents_render_and_page(qtbot) -> None:
    w = _window(qtbot, size=(3840, 2160))
    now = time.time()
    states = ("available", "on_call", "wrap_up", "not_ready", "ringing")
    eng = MetricsEngine()
    eng.apply_many([p.AgentState(ts=now - 3000 + i * 0.5, agent_id=f"A{i:04d}", name=f"Agent {i}",
                                 team=f"T{i % 40}", state=states[i % 5], queues=[f"q{i % 12}"])
                    for i in range(5000)])
    w.controller.use_engine(eng)
    w.controller.set_link(LinkStatus("live", last_data_at=now + 60))
    w.controller.refresh()
    board = next(t for t in w.board.current_page().tiles if isinstance(t, AgentBoardWidget))
    v = board.view
    assert v.total == 5000 and v.pages > 1
    cols, rows = board.grid_shape()
    shown = sum(len(s.cells) for s in v.sections)
    assert 0 < shown <= cols * rows
    start = time.perf_counter()
    board.grab()  # a full paint of the widget
    paint_ms = (time.perf_counter() - start) * 1000
    assert board.cells_painted == shown
    # Every agent appears on exactly one page.
    seen: list[str] = []
    for page in range(v.pages):
        pv = agent_board_view(w.config.pages[0].tiles[-1], w.controller.vm._orders[(0, 7)], cols, rows,
                              w.controller.now(), None, 30, w.controller.view.feed, page=page)
        seen += [c.agent_id for s in pv.sections for c in s.cells]
    assert sorted(seen) == sorted(f"A{i:04d}" for i in range(5000))
    # Dirty rects: with the clock held, a refresh with no change repaints nothing, and a change to one
    # visible agent (a new display name; same state, so the order holds) repaints only that cell.
    held = w.controller.now()
    w.controller._clock = lambda: held
    w.controller.refresh()
    dirty: list = []
    board.update = lambda *a: dirty.append(a)  # record what the widget asks Qt to repaint
    w.controller.refresh()
    assert dirty == []
    first = board.view.sections[0].cells[3]
    eng.apply(p.AgentState(ts=now + 1, agent_id=first.agent_id, state=first.state, name="Renamed Agent"))
    w.controller.use_engine(eng)  # regroup now
    w.controller.refresh()
    assert len(dirty) == 1 and len(dirty[0]) == 1
    rects = _rects(dirty)
    assert len(rects) == 1 and rects[0].height() < board.height() / 8
    assert paint_ms < 5000  # sanity only; timings live in benchmarks/ui.py


def _agents_on_held_clock(w, t0: float, agents: list) -> tuple:
    """(controller, its clock {"t": ...} at t0, the agent board widget): ``w``'s board showing a live engine of
    ``agents``, its layout settled (a new grid shape would regroup)."""
    eng = MetricsEngine()
    eng.apply_many(agents)
    ctl = w.controller
    ctl.use_engine(eng)
    clock = {"t": t0}
    ctl._clock = lambda: clock["t"]
    ctl.set_link(LinkStatus("live", last_data_at=t0))
    ctl.refresh()
    board = next(t for t in w.board.current_page().tiles if isinstance(t, AgentBoardWidget))
    QApplication.processEvents()
    ctl.refresh()
    return ctl, clock, board


def test_a_state_change_shows_in_place_at_once_and_regroups_at_the_next_second(qtbot) -> None:
    w = _window(qtbot, size=(3840, 2160))
    t0 = float(int(time.time())) + 0.1  # early in a second: the refreshes below stay within it
    ctl, clock, board = _agents_on_held_clock(w, t0, [
        p.AgentState(ts=t0 - 900 + i, agent_id=f"A{i:03d}", name=f"Agent {i}",
                     state=("available", "on_call")[i % 2], queues=["q1"]) for i in range(40)])
    before = board.view
    assert before.pages == 1  # all on one page, whatever the time (pages rotate with the clock)
    sec = before.sections[0]
    moved = sec.cells[2]
    assert sec.state == "available" and moved.state == "available"
    dirty: list = []
    orig_update = board.update
    board.update = lambda *a: (dirty.append(a), orig_update(*a))  # record what the widget asks to repaint
    ctl.apply_events([p.AgentState(ts=t0, agent_id=moved.agent_id, state="on_call")], 1)
    # Shown at once (at the latest when the in-place throttle's timer fires), in the same place.
    qtbot.waitUntil(lambda: board.view.sections[0].cells[2].state == "on_call", timeout=2000)
    after = board.view
    assert after.sections[0].state == "available"  # not regrouped yet: the cell did not move
    assert [c.agent_id for c in after.sections[0].cells] == [c.agent_id for c in sec.cells]
    assert after.sections[0].cells[2].time_text == "0:00" and after.sections[0].cells[2].code == "ON"
    rects = _rects(dirty)
    assert len(rects) == 1 and rects[0].height() < board.height() / 8  # that cell only
    # The next second regroups: the agent is now the newest of the on-call group.
    clock["t"] = t0 + 1
    ctl.refresh()
    groups = {s.state: [c.agent_id for c in s.cells] for s in board.view.sections}
    assert moved.agent_id not in groups["available"]
    assert groups["on_call"][-1] == moved.agent_id  # the newest in its new state: last of the group


def test_a_board_that_pages_holds_its_agents_for_the_page_and_ticks_their_clocks(qtbot) -> None:
    """A large centre's page of agents stays put for page_seconds (read from across the room, not reshuffled
    every second): each second its clocks tick and its headers count anew, changes show in place; the next
    agent page regroups."""
    w = _window(qtbot, size=(3840, 2160))
    tile = next(t for t in w.config.pages[0].tiles if t.kind == "agent_board")
    t0 = (int(time.time() // tile.page_seconds) + 1) * tile.page_seconds + 0.1  # early in an agent page
    ctl, clock, board = _agents_on_held_clock(w, t0, [
        p.AgentState(ts=t0 - 500 + i * 0.25, agent_id=f"A{i:04d}", name=f"Agent {i}",
                     state=("available", "on_call")[i % 2], queues=["q1"]) for i in range(1000)])
    first = board.view
    assert first.pages > 1 and first.page == int(t0 // tile.page_seconds) % first.pages
    shown = [[c.agent_id for c in s.cells] for s in first.sections]
    built = ctl.agent_views_built
    moved = first.sections[0].cells[0]  # would leave its group at a regroup
    ctl.apply_events([p.AgentState(ts=t0, agent_id=moved.agent_id, state="not_ready", reason="Training")], 1)
    for second in range(1, 4):
        clock["t"] = t0 + second
        ctl.refresh()
        view = board.view
        assert [[c.agent_id for c in s.cells] for s in view.sections] == shown  # the same agents, in place
        assert ctl.agent_views_built == built
    cell = view.sections[0].cells[0]
    assert (cell.state, cell.reason, cell.time_text) == ("not_ready", "Training", "0:03")
    assert view.sections[0].cells[1].time_text != first.sections[0].cells[1].time_text  # the clocks tick
    assert view.sections[0].title != first.sections[0].title  # the header counts anew (one agent fewer)
    clock["t"] = t0 + tile.page_seconds  # the next agent page: regrouped
    ctl.set_link(LinkStatus("live", last_data_at=clock["t"]))
    ctl.refresh()
    assert ctl.agent_views_built == built + 1 and not board.view.stale
    # (the page index may repeat: the number of pages can change with the regroup)
    assert board.view.page == int(clock["t"] // tile.page_seconds) % board.view.pages
    assert [[c.agent_id for c in s.cells] for s in board.view.sections] != shown


def test_themes_switch(qtbot) -> None:
    w = _window(qtbot, size=(1280, 720))
    w.controller.set_link(LinkStatus("live", last_data_at=time.time() + 60))
    w.controller.refresh()
    colours = {}
    for name in ("dark", "light", "high-contrast"):
        w.controller.set_theme(name)
        assert all(t.theme.name == name for t in w.board.current_page().tiles)
        img = w.grab().toImage()
        colours[name] = img.pixelColor(2, 2).name()
        assert colours[name] == w.board.theme.background.name()
    assert len(set(colours.values())) == 3
    with pytest.raises(ValueError, match="unknown theme"):
        w.controller.set_theme("neon")


def test_choose_screen_by_index_name_or_model() -> None:
    screens = [ScreenInfo("eDP-1", "Laptop"), ScreenInfo("HDMI-1", "LG TV", "SN123"),
               ScreenInfo("DP-2", "Dell")]
    assert choose_screen(screens, 0, None) == 0
    assert choose_screen(screens, 2, None) == 2
    assert choose_screen(screens, 0, "1") == 1
    assert choose_screen(screens, 0, "DP-2") == 2
    assert choose_screen(screens, 0, "lg tv") == 1
    assert choose_screen(screens, 0, "sn123") == 1
    with pytest.raises(ScreenNotFoundError, match="available: 0: eDP-1"):
        choose_screen(screens, 0, "7")
    with pytest.raises(ScreenNotFoundError, match="several"):
        choose_screen(screens, 0, "DP")  # eDP-1 and DP-2


def test_kiosk_uses_the_requested_real_screen(qtbot) -> None:
    screens = QGuiApplication.screens()
    target = pick_screen(screens[-1].name())
    assert target is screens[-1] and pick_screen(str(len(screens) - 1)) is target
    with pytest.raises(ScreenNotFoundError):
        pick_screen(str(len(screens)))
    w = BoardWindow(BoardConfig(), kiosk=True)
    qtbot.addWidget(w)
    enter_kiosk(w, target, hide_cursor=True)
    qtbot.waitExposed(w)
    assert w.isFullScreen() and w.screen() is target
    assert w.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert w.cursor().shape() == Qt.CursorShape.BlankCursor
    assert w.menuBar().actions() == []  # no chrome in kiosk mode


def test_burn_in_drift_moves_the_layout(qtbot) -> None:
    from wallboard.ui.kiosk import BurnInDrift, drift_offset
    w = _window(qtbot, size=(1280, 720))
    before = w.board.stack.geometry()
    drift = BurnInDrift(w.board, 4, 3600)
    drift.advance()
    qtbot.waitUntil(lambda: w.board.stack.geometry() != before, timeout=2000)
    assert w.board.stack.geometry().topLeft() - before.topLeft() == __import__(
        "PySide6.QtCore", fromlist=["QPoint"]).QPoint(*drift_offset(1, 4))
