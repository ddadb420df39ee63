"""Hand-worked cases for every figure of docs/metrics.md. The arithmetic is written next to each assertion."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from wallboard.core import protocol as p
from wallboard.core.engine import MetricsEngine
from wallboard.core.metrics_config import MetricsConfig, ServiceLevelGoal
from wallboard.recording import read_events

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()


def engine(events: list[p.Event], **cfg: object) -> MetricsEngine:
    eng = MetricsEngine(MetricsConfig(**cfg))  # type: ignore[arg-type]
    eng.apply_many(events)
    return eng


def queued(t: float, cid: str, q: str = "q") -> p.CallQueued:
    return p.CallQueued(ts=T0 + t, call_id=cid, queue=q)


def answered(t: float, cid: str, agent: str = "a1", q: str = "q") -> p.CallAnswered:
    return p.CallAnswered(ts=T0 + t, call_id=cid, queue=q, agent_id=agent)


def abandoned(t: float, cid: str, q: str = "q") -> p.CallAbandoned:
    return p.CallAbandoned(ts=T0 + t, call_id=cid, queue=q)


def dequeued(t: float, cid: str, q: str = "q", reason: str = "timeout") -> p.CallDequeued:
    return p.CallDequeued(ts=T0 + t, call_id=cid, queue=q, reason=reason)  # type: ignore[arg-type]


def state(t: float, agent: str, st: str, **kw: object) -> p.AgentState:
    return p.AgentState(ts=T0 + t, agent_id=agent, state=st, **kw)  # type: ignore[arg-type]


def ended(t: float, cid: str, agent: str = "a1") -> p.CallEnded:
    return p.CallEnded(ts=T0 + t, call_id=cid, agent_id=agent)


# ---------------------------------------------------------------- the shipped sample, every figure
def test_sample_recording_every_figure(resources: Path) -> None:
    eng = engine(list(read_events(resources / "recordings" / "small.jsonl")))
    f = eng.figures(T0 + 250)
    sales, support, total = f["queues"]["sales"]["today"], f["queues"]["support"]["today"], f["total"]["today"]
    # sales: c1 waited 15-10 = 5 s, c2 25-20 = 5 s (both answered, both ≤ 20 s);
    # c4 abandoned after 33-30 = 3 s < 5 s: a short abandon; c6 dequeued (overflow) after 5 s;
    # c7 waiting since 200 → 50 s at 250, beyond T = 20 s.
    assert sales["answered"] == 2 and sales["answered_within"] == 2
    assert sales["short_abandoned"] == 1 and sales["abandoned"] == 0
    assert sales["dequeued"] == 1
    assert sales["offered"] == 2 + 0 + 1
    assert sales["asa_s"] == (5 + 5) / 2
    assert sales["ata_s"] is None  # no abandon to average (the short one is excluded)
    assert sales["waiting"] == 1 and sales["longest_wait_s"] == 50.0
    assert sales["waiting_over_threshold"] == 1
    assert sales["service_level_pct"] == pytest.approx(100 * 2 / (3 + 1))  # c7 joins the denominator
    assert sales["abandon_rate_pct"] == 0.0
    # handled: c1 answered 15 → a1 available at 150 (wrap-up from 120): 135 s;
    #          c2 answered 25 → ended 160, a2 straight to available at 160: 135 s.
    assert sales["handled"] == 2 and sales["aht_s"] == 135.0
    # support: c3 chat waited 61-22 = 39 s (> 30), c6 waited 190-175 = 15 s (≤ 30); c5 abandoned after 60 s.
    assert support["answered"] == 2 and support["answered_within"] == 1
    assert support["asa_s"] == (39 + 15) / 2
    assert support["abandoned"] == 1 and support["ata_s"] == 60.0 and support["abandoned_within"] == 0
    assert support["offered"] == 3
    assert support["service_level_pct"] == pytest.approx(100 * 1 / 3)
    assert support["abandon_rate_pct"] == pytest.approx(100 * 1 / 3)
    assert support["handled"] == 0 and support["aht_s"] is None  # c3 still in wrap-up, c6 still talking
    # all queues: 6 offered, answered within 2 + 1, one waiting beyond its T.
    assert total["offered"] == 6 and total["answered"] == 4
    assert total["asa_s"] == (5 + 5 + 39 + 15) / 4
    assert total["service_level_pct"] == pytest.approx(100 * 3 / (6 + 1))
    assert total["abandon_rate_pct"] == pytest.approx(100 * 1 / 6)
    assert total["sl_threshold_s"] is None  # 20 s and 30 s: mixed
    assert f["queues"]["sales"]["today"]["sl_threshold_s"] == 20
    assert f["queues"]["support"]["today"]["sl_target_pct"] == 90
    # agents at 250: a1 on_call (since 190), a2 available, a3 wrap_up (since 240).
    ag = f["agents"]
    assert ag["by_state"]["on_call"] == 1 and ag["by_state"]["available"] == 1 and ag["by_state"]["wrap_up"] == 1
    assert ag["logged_in"] == 3
    assert ag["by_queue"]["sales"]["on_call"] == 1 and ag["by_queue"]["sales"]["available"] == 1
    assert ag["by_queue"]["support"]["wrap_up"] == 1
    # occupancy: busy (on_call + wrap_up) a1 105+30+60, a2 135, a3 179+10 = 519 s;
    # available a1 12+40, a2 25+90, a3 1 = 168 s → 519 / 687.
    assert ag["occupancy_pct"]["today"] == pytest.approx(100 * 519 / 687)
    assert ag["occupancy_pct"]["rolling"] == pytest.approx(100 * 519 / 687)
    rows = {r["agent_id"]: r for r in eng.agent_rows(int((T0 + 250) * 1000))}
    assert rows["a1"]["time_in_state_s"] == 60.0 and rows["a3"]["time_in_state_s"] == 10.0
    assert rows["a3"]["call_queue"] == "support"  # wrapping up a support call
    assert f["broadcasts"][0]["level"] == "warning"
    assert f["anomalies"] == {}


# ---------------------------------------------------------------- service-level formulas
def _cisco_example() -> list[p.Event]:
    """Cisco's worked example: 70 answered within T, 10 abandoned within T, 20 answered beyond T."""
    ev: list[p.Event] = []
    for i in range(70):
        ev += [queued(i, f"in{i}"), answered(i + 10, f"in{i}")]  # 10 s ≤ 20 s
    for i in range(10):
        ev += [queued(i, f"ab{i}"), abandoned(i + 8, f"ab{i}")]  # 8 s: not short (≥ 5 s), within 20 s
    for i in range(20):
        ev += [queued(i, f"late{i}"), answered(i + 45, f"late{i}")]  # 45 s > 20 s
    ev.sort(key=lambda e: e.ts)
    return ev


@pytest.mark.parametrize(("formula", "expected"), [
    ("answered_of_offered", 100 * 70 / 100),            # 70 / (90 answered + 10 abandoned) = 70 %
    ("answered_of_answered", 100 * 70 / 90),            # 70 / 90 answered = 77.8 %
    ("abandons_ignored", 100 * 70 / (100 - 10)),        # 70 / (100 − 10 abandoned within) = 77.8 %
    ("abandons_positive", 100 * (70 + 10) / 100),       # (70 + 10) / 100 = 80 %
])
def test_service_level_formulas_cisco_example(formula: str, expected: float) -> None:
    f = engine(_cisco_example(), sl_formula=formula).figures(T0 + 200)["total"]["today"]
    assert f["offered"] == 100 and f["answered_within"] == 70 and f["abandoned_within"] == 10
    assert f["service_level_pct"] == pytest.approx(expected)


@pytest.mark.parametrize(("formula", "while_waiting", "after_abandon"), [
    # Before: 1 answered within (10 s). A second caller waits; at 25 s of waiting it is beyond T = 20 s.
    # After it abandons at 40 s (not within), it is counted once, as an abandon beyond T.
    ("answered_of_offered", 100 * 1 / (1 + 1), 100 * 1 / 2),
    ("answered_of_answered", 100 * 1 / (1 + 1), 100 * 1 / 1),
    ("abandons_ignored", 100 * 1 / (1 + 1), 100 * 1 / (2 - 0)),
    ("abandons_positive", 100 * 1 / (1 + 1), 100 * 1 / 2),
])
def test_caller_waiting_beyond_threshold_counts_once(formula: str, while_waiting: float,
                                                     after_abandon: float) -> None:
    ev = [queued(0, "c1"), answered(10, "c1"), queued(100, "c2")]
    eng = engine(ev, sl_formula=formula)
    assert eng.figures(T0 + 110)["total"]["today"]["service_level_pct"] == 100.0  # c2 waited 10 s ≤ 20 s
    assert eng.figures(T0 + 120)["total"]["today"]["waiting_over_threshold"] == 0  # exactly 20 s: within
    f = eng.figures(T0 + 125)["total"]["today"]
    assert f["waiting_over_threshold"] == 1
    assert f["service_level_pct"] == pytest.approx(while_waiting)
    eng.apply(abandoned(140, "c2"))
    f = eng.figures(T0 + 141)["total"]["today"]
    assert f["waiting_over_threshold"] == 0 and f["offered"] == 2
    assert f["service_level_pct"] == pytest.approx(after_abandon)


def test_within_means_at_most_threshold() -> None:
    ev = [queued(0, "a"), answered(20, "a"), queued(0, "b"), answered(20.001, "b")]
    f = engine(sorted(ev, key=lambda e: e.ts)).figures(T0 + 30)["total"]["today"]
    assert f["answered_within"] == 1  # 20.000 s ≤ 20 s counts, 20.001 s does not
    assert f["service_level_pct"] == 50.0


def test_threshold_is_applied_at_query_time() -> None:
    # Waits are kept in half-second buckets, so a changed goal applies to the whole day at once.
    ev = [queued(0, "a"), answered(12, "a"), queued(0, "b"), answered(25, "b")]
    ev.sort(key=lambda e: e.ts)
    f20 = engine(ev).figures(T0 + 30)["total"]["today"]
    f10 = engine(ev, default_goal=ServiceLevelGoal(threshold_s=10)).figures(T0 + 30)["total"]["today"]
    f30 = engine(ev, default_goal=ServiceLevelGoal(threshold_s=30)).figures(T0 + 30)["total"]["today"]
    assert (f10["answered_within"], f20["answered_within"], f30["answered_within"]) == (0, 1, 2)


def test_goal_precedence_config_then_feed_then_default() -> None:
    info = p.QueueInfo(ts=T0, queue="q", name="Q", sl_threshold_s=40, sl_target_pct=90)
    assert engine([info]).goal("q").threshold_s == 40
    cfg_goal = {"q": ServiceLevelGoal(threshold_s=15, target_pct=70)}
    assert engine([info], queue_goals=cfg_goal).goal("q").threshold_s == 15
    assert engine([info], use_feed_goals=False).goal("q").threshold_s == 20


# ---------------------------------------------------------------- abandons
def test_short_abandons_are_excluded_and_threshold_is_strict() -> None:
    ev = [queued(0, "a"), abandoned(4.999, "a"), queued(10, "b"), abandoned(15, "b"),
          queued(20, "c"), answered(22, "c")]
    f = engine(ev).figures(T0 + 30)["total"]["today"]
    # a: 4.999 s < 5 s → short; b: exactly 5 s is not < 5 s → abandoned.
    assert f["short_abandoned"] == 1 and f["abandoned"] == 1
    assert f["offered"] == 2  # b + c; the short abandon is neither offered nor abandoned
    assert f["ata_s"] == 5.0 and f["abandon_rate_pct"] == 50.0
    g = engine(ev, short_abandon_s=0).figures(T0 + 30)["total"]["today"]
    assert g["short_abandoned"] == 0 and g["abandoned"] == 2 and g["offered"] == 3
    assert g["ata_s"] == pytest.approx((4.999 + 5) / 2)


def test_nothing_to_average_is_null_not_zero() -> None:
    f = engine([queued(0, "a")]).figures(T0 + 5)["total"]["today"]
    for name in ("asa_s", "ata_s", "aht_s", "abandon_rate_pct", "service_level_pct"):
        assert f[name] is None, name
    assert f["offered"] == 0 and f["waiting"] == 1 and f["longest_wait_s"] == 5.0
    empty = MetricsEngine().figures(T0)
    assert empty["total"]["today"]["service_level_pct"] is None
    assert empty["agents"]["occupancy_pct"] == {"today": None, "rolling": None}


# ---------------------------------------------------------------- live figures
def test_longest_wait_grows_with_now_and_follows_the_oldest_caller() -> None:
    eng = engine([queued(0, "a"), queued(30, "b")])
    assert eng.figures(T0 + 31)["total"]["today"]["longest_wait_s"] == 31.0
    assert eng.figures(T0 + 90)["total"]["today"]["longest_wait_s"] == 90.0
    eng.apply(answered(95, "a"))
    f = eng.figures(T0 + 100)["total"]["today"]
    assert f["waiting"] == 1 and f["longest_wait_s"] == 70.0  # b: 100 − 30


# ---------------------------------------------------------------- handle time
def test_aht_counts_talk_hold_and_wrap_up_when_handling_completes() -> None:
    ev = [state(0, "a1", "available"), queued(0, "c"), answered(10, "c"), state(10, "a1", "on_call"),
          p.CallHeld(ts=T0 + 40, call_id="c", agent_id="a1"),
          p.CallRetrieved(ts=T0 + 70, call_id="c", agent_id="a1"),
          ended(100, "c"), state(100, "a1", "wrap_up")]
    eng = engine(ev)
    assert eng.figures(T0 + 120)["total"]["today"]["handled"] == 0  # still in after-call work
    eng.apply(state(130, "a1", "available"))
    f = eng.figures(T0 + 131)["total"]["today"]
    assert f["handled"] == 1 and f["aht_s"] == 130 - 10  # answer 10 → end of wrap-up 130 (hold inside)


def test_aht_next_call_closes_the_previous_wrap_up() -> None:
    ev = [queued(0, "c1"), answered(0, "c1"), ended(60, "c1"), state(60, "a1", "wrap_up"),
          queued(70, "c2"), answered(80, "c2")]
    f = engine(ev).figures(T0 + 81)["total"]["today"]
    assert f["handled"] == 1 and f["aht_s"] == 80.0


def test_aht_belongs_to_the_window_of_completion() -> None:
    # Answered 23:58, wrap-up over 00:02 the next day: handled today (new day), its wait yesterday.
    day2 = datetime(2026, 11, 24, 0, 0, tzinfo=UTC).timestamp()
    ev = [p.CallQueued(ts=day2 - 130, call_id="c", queue="q"),
          p.CallAnswered(ts=day2 - 120, call_id="c", queue="q", agent_id="a"),
          p.CallEnded(ts=day2 - 10, call_id="c", agent_id="a"),
          p.AgentState(ts=day2 - 10, agent_id="a", state="wrap_up"),
          p.AgentState(ts=day2 + 120, agent_id="a", state="available")]
    f = engine(ev).figures(day2 + 121)["total"]["today"]
    assert f["answered"] == 0 and f["handled"] == 1 and f["aht_s"] == 240.0


# ---------------------------------------------------------------- windows
def test_rolling_window_expires_outcomes_as_now_advances() -> None:
    ev = [queued(0, "a"), answered(10, "a"), queued(600, "b"), answered(640, "b")]
    eng = engine(ev, rolling_minutes=30)
    r = eng.figures(T0 + 700)["total"]["rolling"]
    assert r["answered"] == 2 and r["asa_s"] == (10 + 40) / 2
    # "a" was answered at 10; the window is (now − 1800 s, now]: it leaves when now reaches 1810.
    assert eng.figures(T0 + 1809.999)["total"]["rolling"]["answered"] == 2
    r = eng.figures(T0 + 1810)["total"]["rolling"]
    assert r["answered"] == 1 and r["asa_s"] == 40.0
    assert eng.figures(T0 + 1810)["total"]["today"]["answered"] == 2  # today keeps both


def test_daily_reset_in_site_time_zone() -> None:
    # Reset at 06:00 Europe/London (GMT in November). 05:59 belongs to yesterday; 06:00 starts today.
    reset = datetime(2026, 11, 23, 6, 0, tzinfo=UTC).timestamp()
    ev = [p.CallQueued(ts=reset - 120, call_id="a", queue="q"),
          p.CallAnswered(ts=reset - 60, call_id="a", queue="q", agent_id="x")]
    eng = engine(ev, timezone="Europe/London", reset_time="06:00")
    assert eng.figures(reset - 1)["total"]["today"]["answered"] == 1
    assert eng.figures(reset)["total"]["today"]["answered"] == 0  # the day turned with no event
    assert eng.figures(reset)["total"]["rolling"]["answered"] == 1  # the rolling window does not reset
    eng.apply(p.CallQueued(ts=reset + 5, call_id="b", queue="q"))
    eng.apply(p.CallAnswered(ts=reset + 8, call_id="b", queue="q", agent_id="x"))
    assert eng.figures(reset + 9)["total"]["today"]["answered"] == 1


def test_daily_reset_across_dst_change() -> None:
    # New York, 2026-03-08: clocks jump 02:00 → 03:00. A 00:00 reset is 05:00 UTC before, 04:00 UTC after.
    from wallboard.core.day_window import DayClock

    clock = DayClock("America/New_York", "00:00")
    mar8 = datetime(2026, 3, 8, 5, 0, tzinfo=UTC).timestamp()
    mar9 = datetime(2026, 3, 9, 4, 0, tzinfo=UTC).timestamp()
    assert clock.day_start(mar8 + 3600) == mar8
    assert clock.next_reset(mar8) == mar9  # a 23-hour day
    assert clock.day_start(mar9 - 0.001) == mar8


# ---------------------------------------------------------------- agents and occupancy
def test_agent_states_time_in_state_and_occupancy() -> None:
    ev = [state(0, "a", "available", name="Ann", team="Blue", queues=["q", "r"]),
          state(0, "b", "not_ready", reason="break", queues=["q"]),
          state(60, "a", "on_call"), state(90, "a", "wrap_up"), state(100, "a", "available"),
          state(120, "b", "not_ready", reason="lunch")]
    eng = engine(ev)
    f = eng.figures(T0 + 160)
    ag = f["agents"]
    assert ag["by_state"]["available"] == 1 and ag["by_state"]["not_ready"] == 1
    assert ag["by_queue"]["q"]["not_ready"] == 1 and ag["by_queue"]["r"]["available"] == 1
    rows = {r["agent_id"]: r for r in eng.agent_rows(int((T0 + 160) * 1000))}
    assert rows["a"]["time_in_state_s"] == 60.0 and rows["a"]["name"] == "Ann"
    assert rows["b"]["reason"] == "lunch" and rows["b"]["time_in_state_s"] == 40.0  # a new reason restarts
    # a: busy 60→100 = 40 s; available 0→60 and 100→160 = 120 s; b's not_ready counts in neither.
    assert ag["occupancy_pct"]["today"] == pytest.approx(100 * 40 / 160)


def test_rolling_occupancy_clips_at_window_start() -> None:
    ev = [state(0, "a", "on_call"), state(1000, "a", "available")]
    eng = engine(ev, rolling_minutes=10)
    # At 1200 the window is (600, 1200]: busy 600→1000 = 400 s, available 1000→1200 = 200 s.
    assert eng.figures(T0 + 1200)["agents"]["occupancy_pct"]["rolling"] == pytest.approx(100 * 400 / 600)


# ---------------------------------------------------------------- anomalies
def test_anomalies_are_counted_and_never_raise() -> None:
    ev = [queued(0, "a"), queued(0, "a"),                  # duplicate
          answered(5, "zzz"),                             # unknown call
          answered(6, "a"), abandoned(7, "a"),            # resolved twice
          queued(10, "b"), answered(9, "b"),              # out of order → negative wait, clamped to 0
          ended(20, "nope"),                              # unknown call
          state(30, "x", "on_call"), state(25, "x", "available")]  # out of order
    eng = engine(ev)
    f = eng.figures(T0 + 40)
    assert f["anomalies"] == {"already_resolved": 1, "duplicate_queued": 1, "negative_duration": 1,
                              "out_of_order": 2, "unknown_call": 2}
    t = f["total"]["today"]
    assert t["answered"] == 2 and t["abandoned"] == 0 and t["asa_s"] == (6 + 0) / 2


def test_requeue_without_dequeue_counts_the_first_visit_as_dequeued() -> None:
    ev = [queued(0, "a", "q1"), queued(10, "a", "q2"), answered(15, "a", q="q2")]
    f = engine(ev).figures(T0 + 20)
    assert f["anomalies"] == {"requeued_without_dequeue": 1}
    assert f["queues"]["q1"]["today"]["dequeued"] == 1
    assert f["queues"]["q2"]["today"]["asa_s"] == 5.0


def test_calls_past_the_maximum_age_are_dropped_as_lost() -> None:
    # The abandon of "a" and the end of "b" were lost. After 12 h (event time) they stop counting as
    # waiting / being handled, so the longest wait does not climb for days.
    ev = [queued(0, "a"), queued(0, "b"), answered(10, "b"), queued(43_100, "c")]
    eng = engine(ev)
    assert eng.figures(T0 + 43_100)["total"]["today"]["longest_wait_s"] == 43_100.0
    eng.apply(queued(43_261, "d"))  # past 12 h + the one-minute sweep interval
    f = eng.figures(T0 + 43_261)
    assert f["total"]["today"]["waiting"] == 2 and f["total"]["today"]["longest_wait_s"] == 161.0
    assert f["anomalies"] == {"expired_active": 1, "expired_waiting": 1}
    assert f["total"]["today"]["answered"] == 1  # what was counted stays counted
    keep = engine([*ev, queued(43_261, "d")], max_call_age_s=0).figures(T0 + 43_261)["total"]["today"]
    assert keep["waiting"] == 3
