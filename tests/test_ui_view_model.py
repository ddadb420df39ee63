"""The pure view model: formatting, staleness, paging, sparklines, severities (no Qt)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallboard.core import protocol as p
from wallboard.core.board_config import (
    AgentBoardTile,
    AgentStateTile,
    BoardConfig,
    BoardConfigError,
    FigureTile,
    PageConfig,
    parse_board_config,
)
from wallboard.core.engine import MetricsEngine
from wallboard.core.view_model import (
    DASH,
    SPARK_SAMPLE_S,
    AgentOrder,
    BoardViewModel,
    LinkStatus,
    SparkRing,
    agent_board_view,
    feed_view,
    format_clock,
    format_duration,
    format_pct,
    page_at,
    paginate,
    patch_agent_board_view,
)

T0 = 1_773_130_000.0


def test_durations_truncate_like_a_clock() -> None:
    assert format_duration(None) == (DASH, "")
    assert format_duration(59.99) == ("59", "s")
    assert format_duration(60) == ("1:00", "m:ss")
    assert format_duration(3599.9) == ("59:59", "m:ss")
    assert format_duration(3661) == ("1:01:01", "h:mm:ss")
    assert format_clock(42) == "0:42" and format_clock(599) == "9:59" and format_clock(725) == "12m"
    assert format_clock(3900) == "1h05" and format_clock(200000) == "2d"


def test_percent_never_rounds_up_to_the_goal() -> None:
    assert format_pct(79.6) == "79"  # 79.6 % does not meet an 80 % goal and must not read "80"
    assert format_pct(100.0) == "100" and format_pct(None) == DASH


def test_feed_view_marks_stale_and_counts_from_last_data() -> None:
    live = LinkStatus("live", last_data_at=T0)
    assert not feed_view(live, T0 + 1, 5).stale
    lost = feed_view(live, T0 + 6, 5)  # live, but nothing for longer than stale_after_s
    assert lost.stale and lost.banner == "feed lost 0:06 ago"
    down = feed_view(LinkStatus("reconnecting", last_data_at=T0, retry_at=T0 + 90), T0 + 83, 5)
    assert down.stale and down.banner == "feed lost 1:23 ago" and down.label == "Reconnecting in 7 s"
    assert feed_view(LinkStatus("connecting"), T0, 5).banner == "waiting for feed"
    assert feed_view(LinkStatus("live", last_data_at=T0, stale_after_s=10), T0 + 8, 5).stale is False


def test_paginate_covers_every_agent_once_with_header_rows() -> None:
    sizes = [3, 0, 25, 7]
    pages = paginate(sizes, cols=4, rows=5)
    seen = {g: [] for g in range(len(sizes))}
    for page in pages:
        used = 0
        for g, a, b in page:
            seen[g].extend(range(a, b))
            used += 1 + math.ceil((b - a) / 4)
        assert used <= 5
    assert all(seen[g] == list(range(n)) for g, n in enumerate(sizes))


def test_spark_ring_samples_per_slot_and_fills_gaps() -> None:
    ring = SparkRing(size=5)
    assert ring.sample(T0, 1.0)
    assert not ring.sample(T0 + 1, 2.0)  # same 10 s slot
    ring.sample(T0 + 3 * SPARK_SAMPLE_S, 4.0)  # two slots skipped
    assert ring.values() == [1.0, None, None, 4.0]
    for i in range(4, 10):
        ring.sample(T0 + i * SPARK_SAMPLE_S, float(i))
    assert ring.values() == [5.0, 6.0, 7.0, 8.0, 9.0] and ring.ago(2) == 7.0


def _engine_with_waiting_call() -> MetricsEngine:
    eng = MetricsEngine()
    eng.apply_many([
        p.QueueInfo(ts=T0, queue="sales", name="Sales", sl_threshold_s=20, sl_target_pct=80),
        p.CallQueued(ts=T0, call_id="c1", queue="sales"),
    ])
    return eng


def test_longest_wait_moves_with_now_and_turns_to_alarm() -> None:
    eng = _engine_with_waiting_call()
    vm = BoardViewModel(BoardConfig())
    link = LinkStatus("live", last_data_at=T0 + 100)
    views = [vm.build(eng.figures(T0 + s), link, T0 + s, page=0).tiles[1] for s in (12, 13, 45)]
    assert [v.value for v in views] == ["12", "13", "45"]
    assert [v.severity for v in views] == ["ok", "ok", "alarm"]  # warn at 20 s, alarm at 40 s
    assert views[2].severity_text == "over 2× goal"


def test_tiles_follow_engine_figures_and_queue_names() -> None:
    eng = _engine_with_waiting_call()
    eng.apply_many([p.AgentState(ts=T0, agent_id="a1", state="available", queues=["sales"]),
                    p.CallAnswered(ts=T0 + 7, call_id="c1", queue="sales", agent_id="a1")])
    cfg = BoardConfig(pages=[PageConfig(rows=1, cols=3, tiles=[
        FigureTile(kind="asa", queue="sales", col=0), FigureTile(kind="service_level", queue="sales", col=1),
        FigureTile(kind="waiting", queue="nope", col=2)])])
    v = BoardViewModel(cfg).build(eng.figures(T0 + 8), LinkStatus("live", last_data_at=T0 + 8), T0 + 8)
    asa, sl, missing = v.tiles
    assert (asa.value, asa.unit, asa.title) == ("7", "s", "Avg speed of answer · Sales · today")
    assert (sl.value, sl.bar, sl.bar_goal, sl.severity) == ("100", 1.0, 0.8, "ok")
    assert "goal 80% in 20 s" in sl.detail and "answered ≤ T / offered" in sl.detail
    assert missing.value == DASH and "no such queue" in missing.detail


def test_the_engine_computes_only_the_windows_the_board_reads() -> None:
    from wallboard.core.alerts import AlertRule, AlertState

    today = BoardConfig(pages=[PageConfig(rows=1, cols=2, tiles=[
        FigureTile(kind="asa", col=0), FigureTile(kind="waiting", col=1)])])
    vm = BoardViewModel(today)
    assert vm.windows_shown() == ("today",)
    vm.alerts = AlertState((AlertRule(name="r", figure="asa_s", window="rolling", warning=30),))
    assert vm.windows_shown() == ("today", "rolling")  # an alert rule reads its window too
    rolling = BoardConfig(pages=[PageConfig(rows=1, cols=1, tiles=[FigureTile(kind="asa", window="rolling")])])
    assert BoardViewModel(rolling).windows_shown() == ("rolling",)
    eng = _engine_with_waiting_call()
    link = LinkStatus("live", last_data_at=T0 + 5)
    shown = BoardViewModel(today).build(eng.figures(T0 + 5, windows=("today",)), link, T0 + 5)
    assert shown == BoardViewModel(today).build(eng.figures(T0 + 5), link, T0 + 5)


def test_agent_state_tiles_count_per_queue_and_show_occupancy_only_site_wide() -> None:
    eng = MetricsEngine()
    eng.apply_many([p.AgentState(ts=T0, agent_id="a1", state="available", queues=["sales"]),
                    p.AgentState(ts=T0, agent_id="a2", state="on_call", queues=["support"])])
    cfg = BoardConfig(pages=[PageConfig(rows=1, cols=2, tiles=[
        AgentStateTile(kind="agent_states", col=0), AgentStateTile(kind="agent_states", queue="sales", col=1)])])
    site, sales = BoardViewModel(cfg).build(eng.figures(T0 + 60), LinkStatus("live", last_data_at=T0), T0 + 60).tiles
    assert (site.logged_in, sales.logged_in) == ("2", "1")
    assert site.occupancy != "" and sales.occupancy == ""  # occupancy is site-wide: not on a queue's tile


def test_agent_board_orders_longest_in_state_first_and_pages_over_time() -> None:
    rows = [{"agent_id": f"a{i}", "name": f"Agent {i}", "team": "T", "queues": ["q"], "state": st,
             "reason": None, "since": T0 + i} for i, st in enumerate(["on_call"] * 30 + ["available"] * 5)]
    order = AgentOrder("state")
    order.rebuild(rows)
    tile = AgentBoardTile(kind="agent_board", page_seconds=10)
    fv = feed_view(LinkStatus("live", last_data_at=T0 + 100), T0 + 100, 5)
    first = agent_board_view(tile, order, 4, 5, T0 + 100, None, 30, fv, page=0)
    assert first.pages > 1 and first.total == 35
    assert first.sections[0].title.startswith("Available")
    oncall = next(s for s in first.sections if s.state == "on_call").cells
    assert oncall[0].agent_id == "a0" and oncall[0].time_text == "1:40"  # longest in state first
    now = agent_board_view(tile, order, 4, 5, T0 + 100, None, 30, fv)
    later = agent_board_view(tile, order, 4, 5, T0 + 110, None, 30, fv)  # one page_seconds later
    assert later.page == (now.page + 1) % now.pages


def test_patching_a_board_view_changes_only_the_changed_agents_cells_in_place() -> None:
    rows = {f"a{i}": {"agent_id": f"a{i}", "name": f"Agent {i}", "team": "T", "queues": ["q"], "state": st,
                      "reason": None, "since": T0 + i} for i, st in enumerate(["on_call"] * 6 + ["available"] * 3)}
    order = AgentOrder("state")
    order.rebuild(rows.values())
    fv = feed_view(LinkStatus("live", last_data_at=T0 + 100), T0 + 100, 5)
    view = agent_board_view(AgentBoardTile(kind="agent_board"), order, 4, 6, T0 + 100, None, 30, fv, page=0)
    assert patch_agent_board_view(view, rows, {"a7", "nobody"}, T0 + 100) is view  # nothing new: same view
    rows["a7"] = {**rows["a7"], "state": "not_ready", "reason": "lunch", "since": T0 + 99}
    patched = patch_agent_board_view(view, rows, {"a7"}, T0 + 100)
    assert [s.title for s in patched.sections] == [s.title for s in view.sections]  # not regrouped
    for old_sec, new_sec in zip(view.sections, patched.sections, strict=True):
        assert [c.agent_id for c in new_sec.cells] == [c.agent_id for c in old_sec.cells]  # nothing moved
        for a, b in zip(old_sec.cells, new_sec.cells, strict=True):
            if a.agent_id == "a7":
                assert (b.state, b.code, b.reason, b.time_text) == ("not_ready", "NR", "lunch", "0:01")
            else:
                assert b is a


def test_page_rotation_uses_each_dwell() -> None:
    pages = [PageConfig(title="a", dwell_seconds=10, tiles=[FigureTile(kind="waiting")]),
             PageConfig(title="b", tiles=[FigureTile(kind="waiting")])]
    assert [page_at(pages, 20, t) for t in (0, 9.9, 10, 29.9, 30)] == [0, 0, 1, 1, 0]


def test_config_errors_name_the_key() -> None:
    with pytest.raises(BoardConfigError, match=r"pages.0.tiles.0: .*'wating'"):
        parse_board_config('[[pages]]\n[[pages.tiles]]\nkind = "wating"\n')
    with pytest.raises(BoardConfigError, match="does not fit"):
        parse_board_config('[[pages]]\nrows = 1\ncols = 1\n[[pages.tiles]]\nkind = "waiting"\ncol = 1\n')
    with pytest.raises(BoardConfigError, match="theem"):
        parse_board_config('theem = "dark"\n')
    with pytest.raises(BoardConfigError, match=r"pages.0.tiles.0.*occupancy is site-wide"):
        parse_board_config('[[pages]]\n[[pages.tiles]]\nkind = "occupancy"\nqueue = "q1"\n')
    cfg = parse_board_config('theme = "high-contrast"\n[feed]\nurl = "ws://wall:8765/"\n')
    assert cfg.theme == "high-contrast" and cfg.feed.url == "ws://wall:8765/" and cfg.pages


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30),
                          st.sampled_from(["available", "on_call", "wrap_up", "logged_out"]),
                          st.integers(0, 3)), max_size=120))
def test_incremental_agent_order_matches_a_full_rebuild(changes) -> None:
    """AgentOrder.update after each batch gives exactly what sorting everything again gives."""
    rows: dict[str, dict] = {}
    for by in ("state", "team"):
        order = AgentOrder(by)
        order.rebuild([])
        t = T0
        for i, (agent, state, team) in enumerate(changes):
            t += 1 + (i % 3 == 0)
            aid = f"a{agent:02d}"
            old = rows.get(aid)
            since = old["since"] if old and old["state"] == state else t
            rows[aid] = {"agent_id": aid, "name": aid, "team": f"T{team}", "queues": [], "state": state,
                         "reason": None, "since": since}
            order.update([rows[aid]])
        fresh = AgentOrder(by)
        fresh.rebuild(rows.values())
        got = [(title, [r["agent_id"] for r in g.values()]) for title, _, g in order.groups]
        want = [(title, [r["agent_id"] for r in g.values()]) for title, _, g in fresh.groups]
        assert got == want and order.total == fresh.total


def test_ticker_shows_broadcasts_and_messages_and_holds_critical_ones() -> None:
    cfg = BoardConfig.model_validate({"ticker": {"messages": ["Huddle 16:30"], "seconds_per_message": 5}})
    vm = BoardViewModel(cfg)
    eng = MetricsEngine()
    eng.apply(p.Broadcast(ts=T0, text="Portal upgrade live", level="info", expires=T0 + 600))
    link = LinkStatus("live", last_data_at=T0)
    shown = {vm.build(eng.figures(T0 + s), link, T0 + s, page=0).ticker.text for s in range(0, 20, 5)}
    assert shown == {"Portal upgrade live", "Huddle 16:30"}  # they take turns
    assert vm.build(eng.figures(T0 + 700), link, T0 + 700, page=0).ticker.text == "Huddle 16:30"  # expired
    eng.apply(p.Broadcast(ts=T0 + 701, text="Phones down in Leeds", level="critical"))
    for s in range(701, 730, 5):
        t = vm.build(eng.figures(T0 + s), link, T0 + s, page=0).ticker
        assert (t.text, t.level) == ("Phones down in Leeds", "critical")


def test_agent_changes_between_regroupings_reach_the_order_at_the_next_one() -> None:
    """The view model hands a second's agent changes to its orders when a board next reads them (a regroup):
    the result is the order the changes make one by one, oldest change first."""
    cfg = BoardConfig.model_validate({"pages": [{"rows": 1, "cols": 1, "tiles": [
        {"kind": "agent_board", "row": 0, "col": 0}]}]})
    vm = BoardViewModel(cfg)
    rows = [{"agent_id": f"a{i}", "name": f"Agent {i}", "team": "T", "queues": ["q"],
             "state": ("available", "on_call")[i % 2], "reason": None, "since": T0 + i} for i in range(8)]
    vm.set_agents(rows)
    link = LinkStatus("live", last_data_at=T0 + 50)

    def groups(now: float) -> dict[str | None, list[str]]:
        view = vm.build({}, link, now, {0: (4, 6)}).tiles[0]
        return {s.state: [c.agent_id for c in s.cells] for s in view.sections}

    assert groups(T0 + 50) == {"available": ["a0", "a2", "a4", "a6"], "on_call": ["a1", "a3", "a5", "a7"]}
    vm.update_agents([{**rows[0], "state": "on_call", "since": T0 + 20}])
    vm.update_agents([{**rows[3], "state": "available", "since": T0 + 30}])
    vm.update_agents([{**rows[0], "state": "wrap_up", "since": T0 + 40}])  # a0 again: its latest counts
    vm.update_agents([{**rows[5], "state": "logged_out", "since": T0 + 45}])
    assert groups(T0 + 51) == {"available": ["a2", "a4", "a6", "a3"], "on_call": ["a1", "a7"], "wrap_up": ["a0"]}
