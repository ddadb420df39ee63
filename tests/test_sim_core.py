"""Simulator core: determinism, pacing independence, routing rules, distributions, trusted constructors."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from statistics import fmean

import pytest

from wallboard.cli import main
from wallboard.core import protocol as p
from wallboard.sim import Simulator, load_scenario, parse_scenario, wire
from wallboard.sim.distributions import Exponential, Fixed, Gamma, LogNormal, Uniform

START = 1795420800.0  # 2026-11-23T08:00:00Z


def _record(tmp_path: Path, name: str, seed: int) -> bytes:
    out = tmp_path / name
    assert main(["simulate", "small", "--seed", str(seed), "--start", "2026-11-23T07:00:00Z",
                 "--duration", "10h", "--fast", "--record", str(out)]) == 0
    return out.read_bytes()


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, suffix: str) -> None:
    a = _record(tmp_path, "a" + suffix, 5)
    b = _record(tmp_path, "b" + suffix, 5)
    c = _record(tmp_path, "c" + suffix, 6)
    assert len(a) > 50_000
    assert a == b
    assert a != c


def test_events_until_in_any_steps_equals_one_run() -> None:
    """The live feed paces with events_until(now) in irregular steps; the stream must not depend on them."""
    scenario = load_scenario("site")
    start = START - 3600
    whole = list(Simulator(scenario, 11, start).run(start + 4 * 3600))
    sim = Simulator(scenario, 11, start)
    rng = random.Random(0)
    t, stepped = start - 5, []
    assert sim.events_until(start - 1) == []  # nothing before the start
    while t < start + 4 * 3600:
        t = min(start + 4 * 3600, t + rng.choice([0.0, 0.001, 0.25, 1.0, 7.3, 60.0, 600.0]))
        batch = sim.events_until(t)
        assert all(e.ts <= t for e in batch)
        if stepped and batch:
            assert batch[0].ts >= stepped[-1].ts
        stepped.extend(batch)
    assert stepped == whole
    assert sim.events_until(start + 4 * 3600) == []  # nothing returned twice


ROUTING = {
    "timezone": "UTC",
    "queues": [
        {"id": "low", "rate_per_hour": 150, "talk": {"kind": "exponential", "mean": 150},
         "patience": {"kind": "exponential", "mean": 120}},
        {"id": "high", "rate_per_hour": 60, "priority": 5, "talk": {"kind": "exponential", "mean": 150},
         "timeout_s": 60, "overflow_to": "low"},
    ],
    "teams": [
        {"name": "both", "agents": 4, "queues": ["low", "high"]},
        {"name": "high only", "agents": 2, "queues": ["high"]},
        {"name": "low only", "agents": 2, "queues": ["low"]},
    ],
}


def test_routing_rules_hold_on_every_answer() -> None:
    """FCFS within a queue, higher priority first, and the longest-idle available agent takes a new call.

    No ringing, so an assignment is the call_answered itself and the rules can be checked at that instant.
    """
    scenario = parse_scenario(ROUTING, "routing.toml")
    events = list(Simulator(scenario, 2, START).run(START + 12 * 3600))
    skills: dict[str, list[str]] = {}
    available_since: dict[str, float] = {}
    waiting: dict[str, dict[str, float]] = defaultdict(dict)  # queue -> call -> queued ts (insertion order)
    checked_idle = checked_priority = 0
    for e in events:
        if e.type == "agent_state":
            if e.queues:
                skills[e.agent_id] = e.queues
            if e.state == "available":
                available_since[e.agent_id] = e.ts
            else:
                available_since.pop(e.agent_id, None)
        elif e.type == "call_queued":
            waiting[e.queue][e.call_id] = e.ts
            # Can any agent take it right now? Then the next event must answer it by the longest idle.
            idle = [a for a in available_since if e.queue in skills[a]]
            if idle:
                checked_idle += 1
                expected = min(idle, key=lambda a: available_since[a])
                nxt = events[events.index(e) + 1]
                assert nxt.type == "call_answered" and nxt.call_id == e.call_id and nxt.agent_id == expected
        elif e.type in ("call_abandoned", "call_dequeued"):
            del waiting[e.queue][e.call_id]
        elif e.type == "call_answered":
            queue = waiting[e.queue]
            assert next(iter(queue)) == e.call_id, "FCFS broken"
            del queue[e.call_id]
            if e.queue == "low" and "high" in skills[e.agent_id]:
                checked_priority += 1
                assert not waiting["high"], "a low-priority call was taken while a high-priority one waited"
    assert checked_idle > 100 and checked_priority > 100


@pytest.mark.parametrize("dist", [
    Fixed(kind="fixed", value=30), Exponential(kind="exponential", mean=180),
    Uniform(kind="uniform", low=2, high=6), LogNormal(kind="lognormal", mean=240, sd=120),
    Gamma(kind="gamma", mean=60, sd=30),
])
def test_distribution_means(dist) -> None:
    """40,000 draws: the standard error of the mean is ≤ 0.5 % of it for these shapes; allow 2 %."""
    draw = dist.sampler(random.Random(1))
    xs = [draw() for _ in range(40_000)]
    assert min(xs) >= 0
    assert fmean(xs) == pytest.approx(dist.mean_s, rel=0.02)


def test_trusted_constructors_equal_validated_events() -> None:
    pairs = [
        (wire.call_queued(1.5, "c1", "q", 3, "chat"),
         p.CallQueued(ts=1.5, call_id="c1", queue="q", priority=3, channel="chat")),
        (wire.call_answered(2.0, "c1", "q", "A1"),
         p.CallAnswered(ts=2.0, call_id="c1", queue="q", agent_id="A1")),
        (wire.call_held(2.5, "c1", "A1"), p.CallHeld(ts=2.5, call_id="c1", agent_id="A1")),
        (wire.call_retrieved(2.6, "c1", "A1"), p.CallRetrieved(ts=2.6, call_id="c1", agent_id="A1")),
        (wire.call_ended(3.0, "c1", "A1"), p.CallEnded(ts=3.0, call_id="c1", agent_id="A1")),
        (wire.call_abandoned(3.0, "c2", "q"), p.CallAbandoned(ts=3.0, call_id="c2", queue="q")),
        (wire.call_dequeued(3.0, "c3", "q", "overflow"),
         p.CallDequeued(ts=3.0, call_id="c3", queue="q", reason="overflow")),
        (wire.agent_state(4.0, "A1", "not_ready", "lunch"),
         p.AgentState(ts=4.0, agent_id="A1", state="not_ready", reason="lunch")),
        (wire.agent_state(4.0, "A1", "available", None, "Ann", "T", ["q"]),
         p.AgentState(ts=4.0, agent_id="A1", state="available", name="Ann", team="T", queues=["q"])),
    ]
    for trusted, validated in pairs:
        assert type(trusted) is type(validated)
        assert trusted == validated
        assert p.dump_event(trusted) == p.dump_event(validated)
        assert p.parse_event(p.dump_event(trusted)) == validated


def test_memory_follows_live_calls_not_history() -> None:
    """Callers who hung up do not pile up in a queue's heap while no agent is there to pop them."""
    scenario = parse_scenario({
        "timezone": "UTC",
        "queues": [{"id": "q", "rate_per_hour": 3600, "talk": {"kind": "fixed", "value": 60},
                    "patience": {"kind": "exponential", "mean": 30}}],
        "teams": [{"name": "t", "agents": 1, "queues": ["q"], "shift": {"start": "23:00", "hours": 1}}],
    }, "night.toml")
    sim = Simulator(scenario, 1, START)  # 08:00: nobody on shift until 23:00
    events = list(sim.run(START + 6 * 3600))
    abandoned = sum(e.type == "call_abandoned" for e in events)
    assert abandoned > 20_000
    q = sim.queues["q"]
    assert len(q.waiting) <= 2 * q.n_waiting + 65
    assert q.n_waiting == sum(e.type == "call_queued" for e in events) - abandoned


def test_real_time_mode_streams_parseable_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """--speed paces against the wall clock; 10 simulated minutes at ×6000 take ~0.1 s."""
    assert main(["simulate", "small", "--speed", "6000", "--duration", "10m",
                 "--start", "2026-11-23T09:00:00Z"]) == 0
    out, err = capsys.readouterr()
    parsed = p.parse_lines(out.splitlines())
    assert parsed.rejected == [] and len(parsed.events) > 50
    assert parsed.events[-1].ts <= START + 3600 + 600
    assert err == ""  # no progress bar when stderr is not a terminal


def test_progress_bar_only_on_a_terminal() -> None:
    import io

    from wallboard.commands.simulate import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = Progress(stream, 3600)
        bar.update(1800, 1234, force=True)
        bar.finish(3600, 2000)
    assert pipe.getvalue() == ""
    assert "50.0%" in tty.getvalue() and "100.0%" in tty.getvalue() and "2,000 events" in tty.getvalue()


def _arrivals(scenario_data: dict, start: float, hours: float) -> list[float]:
    sim = Simulator(parse_scenario(scenario_data, "profile.toml"), 4, start)
    return [e.ts for e in sim.run(start + hours * 3600) if e.type == "call_queued"]


def test_quarter_hour_profile_and_surge_shape_arrivals() -> None:
    """A 96-slot profile open only 09:15–09:30 local, and a 3× surge inside a flat day."""
    day = 1795392000.0  # 2026-11-23T00:00:00Z (London is on UTC in November)
    profile = [0.0] * 96
    profile[37] = 1.0  # 09:15–09:30
    base = {"timezone": "Europe/London",
            "teams": [{"name": "t", "agents": 500, "queues": ["q"]}]}
    ts = _arrivals({**base, "queues": [{"id": "q", "rate_per_hour": 3600, "profile": profile,
                                        "talk": {"kind": "fixed", "value": 1}}]}, day, 24)
    assert 800 < len(ts) < 1000  # 900 expected (Poisson sd 30)
    assert all(day + 9.25 * 3600 <= t < day + 9.5 * 3600 for t in ts)

    flat = [{"id": "q", "rate_per_hour": 3600, "talk": {"kind": "fixed", "value": 1}}]
    surge = [{"kind": "surge", "at": "10:00", "duration_minutes": 20, "multiplier": 3}]
    ts = _arrivals({**base, "queues": flat, "incidents": surge}, day + 9 * 3600, 2)
    during = sum(day + 10 * 3600 <= t < day + 10 * 3600 + 1200 for t in ts)
    before = sum(day + 9 * 3600 <= t < day + 9 * 3600 + 1200 for t in ts)
    assert 3300 < during < 3900 and 1000 < before < 1400  # 3,600 and 1,200 expected (sd 60 and 35)


def test_shifts_follow_local_time_across_dst() -> None:
    """London's clocks go back on 2026-10-25: an 08:00 shift logs in at 07:00 UTC on the 24th (BST),
    then at 08:00 UTC on the 25th (GMT)."""
    scenario = parse_scenario({
        "timezone": "Europe/London",
        "queues": [{"id": "q", "rate_per_hour": 1, "talk": {"kind": "fixed", "value": 60}}],
        "teams": [{"name": "t", "agents": 1, "queues": ["q"], "shift": {"start": "08:00", "hours": 8}}],
    }, "dst.toml")
    start = 1792800000.0  # 2026-10-24T00:00:00Z
    logins = [e.ts for e in Simulator(scenario, 1, start).run(start + 2 * 86400)
              if e.type == "agent_state" and e.state == "available" and e.ts % 3600 == 0]
    assert logins == [start + 7 * 3600, start + 86400 + 8 * 3600]


def test_repeating_broadcast_stays_within_its_hours() -> None:
    scenario = parse_scenario({
        "timezone": "UTC",
        "queues": [{"id": "q", "rate_per_hour": 1, "talk": {"kind": "fixed", "value": 60}}],
        "teams": [{"name": "t", "agents": 1, "queues": ["q"]}],
        "broadcasts": [{"at": "09:00", "every_minutes": 180, "until": "18:00", "text": "hello"},
                       {"at": "12:30", "text": "once"}],
    }, "bc.toml")
    day = 1795392000.0  # 2026-11-23T00:00:00Z
    sent = [(e.text, round((e.ts - day) / 3600, 2)) for e in Simulator(scenario, 1, day + 8 * 3600).run(
        day + 8 * 3600 + 2 * 86400) if e.type == "broadcast"]
    assert sent == [("hello", 9), ("hello", 12), ("once", 12.5), ("hello", 15), ("hello", 18),
                    ("hello", 33), ("hello", 36), ("once", 36.5), ("hello", 39), ("hello", 42)]
