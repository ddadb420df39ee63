"""The board never shows numbers it cannot vouch for as live (review findings: unusable snapshot,
a refresh that fails, a new feed, the server's rolling window, site-wide occupancy)."""

from __future__ import annotations

import time

from wallboard.core import protocol as p
from wallboard.core.board_config import BoardConfig
from wallboard.core.engine import MetricsEngine
from wallboard.core.feed_protocol import FeedStatus
from wallboard.core.metrics_config import MetricsConfig
from wallboard.ui.window import BoardWindow

_windows: list[BoardWindow] = []  # the controller alone does not keep its window alive


def _window(qtbot):
    w = BoardWindow(BoardConfig(), kiosk=True)
    qtbot.addWidget(w)
    w.resize(1920, 1080)
    w.show()
    _windows[:] = [w]
    return w


def _tile(view, kind: str):
    return next(v for v in view.tiles if getattr(v, "kind", "") == kind)


def test_unusable_snapshot_marks_everything_stale_and_ignores_batches(qtbot) -> None:
    c = _window(qtbot).controller
    now = time.time()
    old = MetricsEngine()
    old.apply_many([p.CallQueued(ts=now - 100, call_id=f"x{i}", queue="q") for i in range(7)])
    c.apply_snapshot(old.snapshot(), 7)
    c.apply_status(FeedStatus("live", last_data_server_time=now, feed_id="A"))
    c.refresh()
    assert _tile(c.view, "waiting").value == "7" and not c.view.feed.stale
    snap = MetricsEngine().snapshot()
    snap["version"] = 2  # a newer server this board cannot restore
    with qtbot.waitSignal(c.resync_wanted, timeout=1000):  # the feed client is asked for another snapshot
        c.apply_snapshot(snap, 0)
    c.apply_events([p.CallQueued(ts=now, call_id="new", queue="q")], 1)
    c.apply_status(FeedStatus("live", last_data_server_time=now, feed_id="B"))
    c.refresh()
    assert c.view.feed.stale and c.view.feed.state == "incompatible"
    assert _tile(c.view, "waiting").stale  # the old feed's 7 is not shown as live
    assert c.dropped_batches == 1
    good = MetricsEngine()
    good.apply(p.CallQueued(ts=now, call_id="y", queue="q"))
    c.apply_snapshot(good.snapshot(), 5)  # a usable snapshot recovers by itself
    c.apply_status(FeedStatus("live", last_data_server_time=time.time(), feed_id="B"))
    c.refresh()
    assert not c.view.feed.stale and _tile(c.view, "waiting").value == "1"


def test_a_failing_refresh_shows_the_last_figures_as_stale(qtbot, monkeypatch) -> None:
    c = _window(qtbot).controller
    c.apply_status(FeedStatus("live", last_data_server_time=time.time(), feed_id="A"))
    c.refresh()
    assert not c.view.feed.stale

    def broken(now: float, **kw: object) -> dict:
        raise ValueError("cannot convert float NaN to integer")

    monkeypatch.setattr(c.engine, "figures", broken)
    c.refresh()  # must not raise out of the Qt slot
    assert c.view.feed.stale and c.view.feed.state == "error"
    assert "NaN" in c.view.feed.detail


def test_non_finite_clock_offset_is_ignored(qtbot) -> None:
    c = _window(qtbot).controller
    c.apply_status(FeedStatus("live", clock_offset_s=float("nan"), last_data_server_time=time.time()))
    c.refresh()
    assert not c.view.feed.stale and abs(c.now() - time.time()) < 5


def test_a_new_feed_takes_its_own_data_time(qtbot) -> None:
    c = _window(qtbot).controller
    now = time.time()
    c.apply_status(FeedStatus("live", last_data_server_time=now + 3600, feed_id="A"))
    c.apply_status(FeedStatus("live", last_data_server_time=now - 120, feed_id="B"))  # earlier clock
    c.refresh()
    assert c.link.last_data_at == now - 120 and c.view.feed.stale


def test_titles_follow_the_servers_rolling_window(qtbot) -> None:
    c = _window(qtbot).controller
    snap = MetricsEngine(MetricsConfig(rolling_minutes=60)).snapshot()
    snap["metrics_config"] = MetricsConfig(rolling_minutes=60).model_dump()
    c.apply_snapshot(snap, 0)
    assert c.vm.metrics.rolling_minutes == 60


def test_a_still_live_status_waits_for_the_next_refresh_a_change_of_state_refreshes(qtbot) -> None:
    # While data flows the feed client repeats "live" every second: that alone changes nothing on the board.
    c = _window(qtbot).controller
    now = time.time()
    c.apply_status(FeedStatus("live", detail="events", last_data_server_time=now, feed_id="A"))
    c.refresh()

    def refresh_asked() -> bool:  # made at once, or due on the controller's rate-limiting timer
        return c.refreshes > before or c._refresh_timer.isActive()

    before = c.refreshes
    c.apply_status(FeedStatus("live", detail="events", last_data_server_time=now + 0.5, feed_id="A"))
    assert not refresh_asked()
    assert c.link.last_data_at == now + 0.5  # kept for the next refresh
    c.apply_status(FeedStatus("reconnecting", detail="connection lost", retry_in_s=2.0,
                              last_data_server_time=now + 0.5, feed_id="A"))
    assert refresh_asked()
    c.refresh()
    assert c.view.feed.state == "reconnecting"
