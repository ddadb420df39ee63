"""figures(now) caches what does not depend on ``now`` (per queue and window, keyed by tally versions).
These tests hold the cached engine to a from-scratch computation after every small batch of a long stream,
for many ``now`` values: earlier than the last event, just past it, on the rolling window's edge (to the
millisecond), across the daily reset, and far ahead, then back again."""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_properties import CONFIGS, _events, streams

from wallboard.core import protocol as p
from wallboard.core.engine import MetricsEngine
from wallboard.core.metrics_config import SL_FORMULA_TEXT, MetricsConfig
from wallboard.core.tally import Counts, Tally, count, derived
from wallboard.sim import Simulator, load_scenario


def reference_figures(eng: MetricsEngine, now: float, agent_list: bool = False) -> dict[str, Any]:
    """figures(now) computed from the engine's state with no cache: every tally recounted from its
    histograms, the rolling window's expired outcomes taken out of copies, every waiting call scanned."""
    now_ms = eng.effective_now_ms(now)
    cfg = eng.config
    today = {} if now_ms >= eng._next_reset_ms else eng._today
    rolling = {q: t.copy() for q, t in eng._rolling.items()}
    for ts, q, kind, d in eng._outcomes:
        if ts <= now_ms - eng._window_ms:
            rolling[q].add(kind, d, -1)
    windows = {"today": today, "rolling": rolling}
    totals = {w: Counts() for w in windows}
    total_waiting = total_longest = 0
    goals = set()
    queues: dict[str, Any] = {}

    def window(c: Counts, waiting: int, longest_ms: int, threshold: int | None, target: float | None) -> dict:
        return {"waiting": waiting, "longest_wait_s": longest_ms / 1000, **derived(c, cfg.sl_formula),
                "sl_threshold_s": threshold, "sl_target_pct": target}

    for q in sorted(eng.queues):
        goal = eng.goal(q)
        goals.add(goal)
        calls = list(eng.waiting.get(q, {}).values())
        waiting = len(calls)
        longest = max(0, now_ms - min(c.queued_ms for c in calls)) if calls else 0
        over = sum(1 for c in calls if c.queued_ms < now_ms - goal.threshold_s * 1000)
        total_waiting += waiting
        total_longest = max(total_longest, longest)
        per: dict[str, Any] = {}
        for w, tallies in windows.items():
            c = count(tallies.get(q, Tally()), goal.threshold_s, cfg.short_abandon_s, over)
            totals[w] += c
            per[w] = window(c, waiting, longest, goal.threshold_s, goal.target_pct)
        per["name"] = eng.queues[q].name or q
        queues[q] = per
    common = goals.pop() if len(goals) == 1 else None
    return {
        "at": now_ms / 1000,
        "sl_formula": cfg.sl_formula,
        "sl_formula_text": SL_FORMULA_TEXT[cfg.sl_formula],
        "total": {w: window(totals[w], total_waiting, total_longest, common and common.threshold_s,
                            common and common.target_pct) for w in windows},
        "queues": queues,
        "agents": eng.agent_figures(now_ms, agent_list),
        "anomalies": dict(sorted(eng.anomalies.items())),
        "broadcasts": eng.active_broadcasts(now_ms / 1000),
    }


def probe_times(eng: MetricsEngine, last_ts: float, rng: random.Random) -> list[float]:
    """``now`` values that exercise every now-dependent figure, in an order that goes forward and back."""
    window_s = eng._window_ms / 1000
    times = [last_ts, last_ts + rng.uniform(0, 1.5), last_ts - 3]
    if eng._outcomes:  # the oldest outcome in the window: exactly on the edge, then one ms past it
        edge = eng._outcomes[0][0] / 1000 + window_s
        times += [edge, edge + 0.001, edge - 0.001]
        mid = eng._outcomes[len(eng._outcomes) // 2][0] / 1000 + window_s
        times += [mid, mid + 0.001]
    reset = eng._next_reset_ms / 1000
    times += [reset - 0.001, reset, last_ts + rng.choice([0.02, 61.0, 1800.0, 86_400 * 1.5]), last_ts + 0.02]
    return times


def assert_same(eng: MetricsEngine, now: float, agent_list: bool = False) -> None:
    want = reference_figures(eng, now, agent_list)
    # First what a board of totals asks for (the per-queue figures are then derived later, from the cache).
    totals_only = eng.figures(now, agent_list=agent_list, queues=False)
    assert totals_only["total"] == want["total"] and totals_only["queues"] == {}
    assert totals_only["agents"]["by_state"] == want["agents"]["by_state"]
    for windows in (("today",), ("rolling",)):  # a board that shows one window: the other is left out
        part = eng.figures(now, windows=windows)
        assert part["total"] == {w: want["total"][w] for w in windows}
        assert part["queues"] == {q: {**{w: v[w] for w in windows}, "name": v["name"]}
                                  for q, v in want["queues"].items()}
    got = eng.figures(now, agent_list=agent_list)
    assert json.dumps(got) == json.dumps(want), f"figures differ at now={now}"


def hostile(events: list[p.Event], rng: random.Random) -> list[p.Event]:
    """The simulated stream with a feed's faults: neighbours swapped (out of order), events lost or
    duplicated, a queue's goal changed by queue_info mid-stream, and a two-hour gap."""
    out: list[p.Event] = []
    shift = 0.0
    for i, e in enumerate(events):
        if i == len(events) * 2 // 3:
            shift = 7200.0
        e = e if not shift else type(e)(**{**p.event_to_dict(e), "ts": e.ts + shift})
        r = rng.random()
        if r < 0.01:
            continue
        out.append(e)
        if r < 0.02:
            out.append(e)
        elif r < 0.05 and len(out) > 1:
            out[-1], out[-2] = out[-2], out[-1]
        elif r < 0.052 and isinstance(e, p.CallQueued):
            out.append(p.QueueInfo(ts=e.ts, queue=e.queue, name=e.queue.title(),
                                   sl_threshold_s=rng.choice([10, 20, 45]), sl_target_pct=rng.choice([80, 90])))
    return out


@pytest.mark.parametrize("config", [
    MetricsConfig(rolling_minutes=5, reset_time="09:40", timezone="Europe/London"),
    MetricsConfig(rolling_minutes=1, sl_formula="abandons_ignored", short_abandon_s=0, timezone="UTC",
                  reset_time="10:05", max_call_age_s=600),
], ids=["london-5min", "utc-1min-maxage"])
def test_cached_figures_equal_a_fresh_computation_after_every_batch(config: MetricsConfig) -> None:
    scenario = load_scenario("site")
    start = datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo(scenario.timezone)).timestamp()
    rng = random.Random(11)
    events = hostile(Simulator(scenario, seed=3, start=start).events_until(start + 5400), rng)
    eng = MetricsEngine(config)
    i = batches = 0
    while i < len(events):
        batch = events[i:i + rng.randint(1, 20)]
        i += len(batch)
        eng.apply_many(batch)
        for now in probe_times(eng, batch[-1].ts, rng):
            assert_same(eng, now, agent_list=batches % 40 == 0)
        if batches % 60 == 0:  # a restored engine starts with no caches and must agree with the warm one
            cold = MetricsEngine.restore(json.loads(json.dumps(eng.snapshot())), config)
            now = batch[-1].ts + rng.uniform(0, 400)
            assert cold.figures(now, agent_list=True) == eng.figures(now, agent_list=True)
        batches += 1
    assert batches > 300 and eng._today and eng.anomalies["out_of_order"]


def test_caches_are_not_state_and_results_are_not_shared() -> None:
    scenario = load_scenario("small")
    start = datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo(scenario.timezone)).timestamp()
    events = Simulator(scenario, seed=5, start=start).events_until(start + 1800)
    asked, never = MetricsEngine(), MetricsEngine()
    for k in range(0, len(events), 7):
        asked.apply_many(events[k:k + 7])
        never.apply_many(events[k:k + 7])
        first = asked.figures(events[k].ts + 30)
        # A caller that edits what it was given changes nothing for the next caller.
        for per in [first["total"], *first["queues"].values()]:
            per["today"]["offered"] = -1
            per["rolling"].clear()
        asked.queue_ids().clear()
    assert asked.snapshot() == never.snapshot()
    end = events[-1].ts
    assert asked.figures(end + 5) == never.figures(end + 5) == reference_figures(never, end + 5)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(max_size=150), st.data(), st.sampled_from(CONFIGS))
def test_random_streams_cached_figures_equal_fresh(dicts: list[dict], data: st.DataObject,
                                                   config: MetricsConfig) -> None:
    events = _events(dicts)
    eng = MetricsEngine(config)
    rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    i = 0
    while i < len(events):
        batch = events[i:i + data.draw(st.integers(1, 12), label="batch")]
        i += len(batch)
        eng.apply_many(batch)
        for now in probe_times(eng, max(e.ts for e in batch), rng):
            assert_same(eng, now)


_durations = st.one_of(st.integers(0, 40).map(lambda s: s * 1000), st.integers(0, 40_000),
                       st.sampled_from([4_999, 5_000, 5_001, 19_999, 20_000, 20_001, 3_600_000, 3_600_001,
                                        9_000_000]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 1, 2, 3]), _durations, st.booleans()), max_size=60),
       st.lists(st.tuples(st.sampled_from([1, 5, 20, 3600]), st.sampled_from([0, 5, 20])), min_size=1,
                max_size=3))
def test_tally_counts_kept_up_to_date_equal_a_recount(ops: list[tuple[int, int, bool]],
                                                      goals: list[tuple[int, int]]) -> None:
    """Tally.counts is updated by each add (and by each removal, as the rolling window does) exactly as
    count() recounts the histograms, whole-second waits on the threshold included."""
    tally, added = Tally(), []
    for i, (kind, dur, remove) in enumerate(ops):
        threshold_s, short_s = goals[i % len(goals)]
        if remove and added:
            tally.add(*added.pop(len(added) // 2), -1)
        else:
            tally.add(kind, dur)
            added.append((kind, dur))
        assert tally.counts(threshold_s, short_s) == count(tally, threshold_s, short_s, 0)


def test_a_service_level_goal_is_its_threshold_and_target() -> None:
    """figures() compares goals by these two fields (a model's == is dear at every refresh): a new field must
    be compared there too."""
    from wallboard.core.metrics_config import ServiceLevelGoal
    assert set(ServiceLevelGoal.model_fields) == {"threshold_s", "target_pct"}
