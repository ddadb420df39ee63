"""Every shipped scenario runs, records, parses with zero rejects, and conserves calls and agents.

Short runs for `large` and `stress` (taken at the 10:00 peak) keep this part fast; the full day of `large`
is exercised by benchmarks/simulator.py and the slow test at the end.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wallboard.core.engine import MetricsEngine
from wallboard.recording import RecordingWriter, read_chunks
from wallboard.sim import Simulator, load_scenario, shipped_scenarios

# scenario -> (local start hour, hours simulated)
RUNS = {"small": (7, 10.0), "site": (7, 8.0), "large": (10, 0.25), "stress": (10, 0.05)}


def local_start(scenario_tz: str, hour: int) -> float:
    return datetime(2026, 11, 23, hour, 0, tzinfo=ZoneInfo(scenario_tz)).timestamp()


def check_conservation(events: list) -> Counter:
    """Raise AssertionError on any broken invariant; return counts of outcomes.

    - ts never decreases;
    - a call is queued once per queue visit, and each visit ends exactly once (answered, abandoned or
      dequeued) unless the run stopped while it waited; an overflow is a call_dequeued (overflow) followed
      at the same ts by call_queued of the same call in another queue;
    - a call is answered at most once and ended exactly once after that (unless the run stopped);
    - an agent is never on two calls, is answered to only from available/ringing, and call_answered is
      followed by that agent's agent_state on_call at the same ts;
    - every agent's first event names them (name, team, queues).
    """
    last_ts = 0.0
    waiting: dict[str, str] = {}  # call -> queue
    answered: set[str] = set()
    resolved_visits: Counter = Counter()  # call -> visits ended (a visit ends once: it must be open)
    on_call: dict[str, str] = {}  # agent -> call
    call_agent: dict[str, str] = {}
    ended: set[str] = set()
    agent_state: dict[str, str] = {}
    expect_on_call: dict[str, float] = {}
    overflowed: dict[str, float] = {}
    outcomes: Counter = Counter()
    for e in events:
        assert e.ts >= last_ts, f"ts went back: {e}"
        last_ts = e.ts
        t = e.type
        if t == "call_queued":
            assert e.call_id not in waiting, f"queued twice without leaving: {e}"
            assert e.call_id not in answered
            if e.call_id in overflowed:
                assert overflowed.pop(e.call_id) == e.ts
            waiting[e.call_id] = e.queue
            outcomes["visits"] += 1
        elif t in ("call_answered", "call_abandoned", "call_dequeued"):
            assert waiting.get(e.call_id) == e.queue, f"resolves a visit that is not open: {e}"
            del waiting[e.call_id]
            resolved_visits[e.call_id] += 1
            outcomes[t if t != "call_dequeued" else f"dequeued_{e.reason}"] += 1
            if t == "call_dequeued" and e.reason == "overflow":
                overflowed[e.call_id] = e.ts
            if t == "call_answered":
                assert e.call_id not in answered
                answered.add(e.call_id)
                assert e.agent_id not in on_call, f"agent on two calls: {e}"
                assert agent_state.get(e.agent_id) in ("available", "ringing"), e
                on_call[e.agent_id] = e.call_id
                call_agent[e.call_id] = e.agent_id
                expect_on_call[e.agent_id] = e.ts
        elif t in ("call_held", "call_retrieved"):
            assert on_call.get(e.agent_id) == e.call_id
        elif t == "call_ended":
            assert on_call.get(e.agent_id) == e.call_id, f"ended by an agent not on it: {e}"
            assert e.call_id not in ended
            ended.add(e.call_id)
            del on_call[e.agent_id]
        elif t == "agent_state":
            if e.agent_id not in agent_state:
                assert e.name and e.team and e.queues, f"first event of an agent must name them: {e}"
            if e.agent_id in expect_on_call:
                assert e.state == "on_call" and e.ts == expect_on_call.pop(e.agent_id), e
            if e.state in ("available", "not_ready", "logged_out"):
                assert e.agent_id not in on_call, f"agent left a call still in progress: {e}"
            agent_state[e.agent_id] = e.state
    assert not overflowed, "an overflow without the call_queued in the target queue"
    assert not expect_on_call
    # Calls answered but not ended are exactly those still in conversation when the run stopped.
    assert set(on_call.values()) == answered - ended
    outcomes["still_waiting"] = len(waiting)
    outcomes["answered_not_ended"] = len(answered - ended)
    outcomes["calls"] = len(set(resolved_visits) | set(waiting))
    return outcomes


def record(name: str, path: Path, seed: int = 7) -> tuple[int, list]:
    scenario = load_scenario(name)
    hour, hours = RUNS[name]
    start = local_start(scenario.timezone, hour)
    sim = Simulator(scenario, seed, start)
    with RecordingWriter(path) as w:
        w.write_many(sim.run(start + hours * 3600))
    events, rejected = [], []
    for chunk in read_chunks(path):
        events.extend(chunk.events)
        rejected.extend(chunk.rejected)
    assert rejected == [], [r.describe() for r in rejected[:5]]
    assert len(events) == w.count
    return w.count, events


def test_every_scenario_is_tested() -> None:
    assert set(shipped_scenarios()) == set(RUNS)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_shipped_scenario_records_parses_and_conserves(tmp_path: Path, name: str) -> None:
    count, events = record(name, tmp_path / f"{name}.jsonl.gz")
    assert count > 1000
    outcomes = check_conservation(events)
    assert outcomes["call_answered"] > 0
    # The metrics engine agrees that the stream is clean: no anomaly of any kind.
    engine = MetricsEngine()
    engine.apply_many(events)
    assert dict(engine.anomalies) == {}
    types = Counter(e.type for e in events)
    assert types["queue_info"] == len(load_scenario(name).queues)


def test_site_has_everything_a_demo_needs(tmp_path: Path) -> None:
    """Breaks with reasons, holds, wrap-up, abandons, timeouts, overflow, the incident and broadcasts."""
    _, events = record("site", tmp_path / "site.jsonl")
    outcomes = check_conservation(events)
    reasons = Counter(e.reason for e in events if e.type == "agent_state" and e.state == "not_ready")
    assert {"break", "lunch", "meeting"} <= set(reasons)
    types = Counter(e.type for e in events)
    assert types["call_held"] > 0
    assert 0 <= types["call_held"] - types["call_retrieved"] <= outcomes["answered_not_ended"]
    assert outcomes["call_abandoned"] > 0 and outcomes["dequeued_overflow"] > 0
    assert types["broadcast"] >= 3
    states = Counter(e.state for e in events if e.type == "agent_state")
    assert states["wrap_up"] > 0 and states["ringing"] > 0 and states["logged_out"] > 0


def test_large_peak_rate_is_a_large_centre(tmp_path: Path) -> None:
    """~100–300 events/s at the 10:00 peak (issue 3)."""
    _, events = record("large", tmp_path / "large.jsonl")
    start = events[0].ts
    steady = [e for e in events if e.ts >= start + 300]  # skip the start-up burst of agents logging in
    rate = len(steady) / (events[-1].ts - (start + 300))
    assert 100 <= rate <= 300, rate


@pytest.mark.slow
def test_large_full_day_conserves(tmp_path: Path) -> None:
    scenario = load_scenario("large")
    start = local_start(scenario.timezone, 0)
    sim = Simulator(scenario, 3, start)
    outcomes = check_conservation(list(sim.run(start + 24 * 3600)))
    assert outcomes["call_answered"] > 200_000
