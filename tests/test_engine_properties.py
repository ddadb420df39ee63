"""Property tests: snapshot/restore is exact at any cut point; random streams with anomalies never raise;
rejected input changes no figure."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallboard.core import protocol as p
from wallboard.core.engine import MetricsEngine
from wallboard.core.metrics_config import MetricsConfig

T0 = 1_795_424_400.0  # 2026-11-23 09:00 UTC
CALLS = [f"c{i}" for i in range(12)]
AGENTS = ["a1", "a2", "a3", "a4"]
QUEUES = ["sales", "support", "vip"]
STATES = ["available", "ringing", "on_call", "wrap_up", "not_ready", "outbound", "logged_out"]

# Random ACD-ish events over a small id space, so that calls really get queued, answered, resolved twice,
# duplicated and so on. Time mostly moves forward but may step back a few seconds (out of order), and
# crosses the daily reset and the rolling window.
_event = st.one_of(
    st.builds(lambda c, q, pr: {"type": "call_queued", "call_id": c, "queue": q, "priority": pr},
              st.sampled_from(CALLS), st.sampled_from(QUEUES), st.integers(0, 2)),
    st.builds(lambda c, q, a: {"type": "call_answered", "call_id": c, "queue": q, "agent_id": a},
              st.sampled_from(CALLS), st.sampled_from(QUEUES), st.sampled_from(AGENTS)),
    st.builds(lambda c, q: {"type": "call_abandoned", "call_id": c, "queue": q},
              st.sampled_from(CALLS), st.sampled_from(QUEUES)),
    st.builds(lambda c, q, r: {"type": "call_dequeued", "call_id": c, "queue": q, "reason": r},
              st.sampled_from(CALLS), st.sampled_from(QUEUES), st.sampled_from(["timeout", "overflow"])),
    st.builds(lambda t, c, a: {"type": t, "call_id": c, "agent_id": a},
              st.sampled_from(["call_held", "call_retrieved", "call_ended"]), st.sampled_from(CALLS),
              st.sampled_from(AGENTS)),
    st.builds(lambda a, s, r, qs: {"type": "agent_state", "agent_id": a, "state": s, "reason": r, "queues": qs},
              st.sampled_from(AGENTS), st.sampled_from(STATES), st.sampled_from([None, "break", "lunch"]),
              st.one_of(st.none(), st.lists(st.sampled_from(QUEUES), max_size=3, unique=True))),
    st.builds(lambda q, t: {"type": "queue_info", "queue": q, "name": q.title(), "sl_threshold_s": t},
              st.sampled_from(QUEUES), st.sampled_from([10, 20, 30])),
    st.builds(lambda lv: {"type": "broadcast", "text": "hello", "level": lv},
              st.sampled_from(["info", "warning", "critical"])),
)
_step = st.one_of(st.floats(0, 30), st.floats(-4, 0), st.sampled_from([0.0, 0.0005, 900.0, 7200.0]))


@st.composite
def streams(draw: st.DrawFn, max_size: int = 120) -> list[dict]:
    """Mostly plausible call lifecycles (queue → answer → hold → end → wrap-up → next state), with random
    noise events mixed in, time steps that sometimes go back a little, jump a window or cross midnight."""
    n = draw(st.integers(1, max_size))
    t = T0 + draw(st.floats(-3600 * 10, 0))  # may start the evening before and cross midnight
    waiting: dict[str, str] = {}
    talking: dict[str, str] = {}
    wrapping: set[str] = set()
    out: list[dict] = []

    def emit(body: dict) -> None:
        out.append({**{k: v for k, v in body.items() if v is not None}, "ts": round(t, 3)})

    while len(out) < n:
        t = max(T0 - 86_400, t + draw(_step))
        free = [a for a in AGENTS if a not in talking.values() and a not in wrapping]
        actions = ["queue", "noise", "agent"]
        if waiting and free:
            actions += ["answer"] * 3
        if waiting:
            actions += ["abandon", "dequeue"]
        if talking:
            actions += ["hold", "end", "end"]
        if wrapping:
            actions += ["unwrap", "unwrap"]
        action = draw(st.sampled_from(actions))
        if action == "queue":
            call = draw(st.sampled_from(CALLS))
            queue = draw(st.sampled_from(QUEUES))
            waiting[call] = queue
            emit({"type": "call_queued", "call_id": call, "queue": queue})
        elif action == "answer":
            call = draw(st.sampled_from(sorted(waiting)))
            agent = draw(st.sampled_from(free))
            emit({"type": "call_answered", "call_id": call, "queue": waiting.pop(call), "agent_id": agent})
            emit({"type": "agent_state", "agent_id": agent, "state": "on_call"})
            talking[call] = agent
        elif action in ("abandon", "dequeue"):
            call = draw(st.sampled_from(sorted(waiting)))
            kind = "call_abandoned" if action == "abandon" else "call_dequeued"
            emit({"type": kind, "call_id": call, "queue": waiting.pop(call), "reason": "timeout"})
        elif action == "hold":
            call = draw(st.sampled_from(sorted(talking)))
            emit({"type": draw(st.sampled_from(["call_held", "call_retrieved"])), "call_id": call,
                  "agent_id": talking[call]})
        elif action == "end":
            call = draw(st.sampled_from(sorted(talking)))
            agent = talking.pop(call)
            emit({"type": "call_ended", "call_id": call, "agent_id": agent})
            if draw(st.booleans()):
                emit({"type": "agent_state", "agent_id": agent, "state": "wrap_up"})
                wrapping.add(agent)
            else:
                emit({"type": "agent_state", "agent_id": agent, "state": "available"})
        elif action == "unwrap":
            agent = draw(st.sampled_from(sorted(wrapping)))
            wrapping.discard(agent)
            emit({"type": "agent_state", "agent_id": agent,
                  "state": draw(st.sampled_from(["available", "not_ready"])), "reason": None})
        elif action == "agent":
            agent = draw(st.sampled_from(AGENTS))
            emit({"type": "agent_state", "agent_id": agent, "state": draw(st.sampled_from(STATES)),
                  "reason": draw(st.sampled_from([None, "break"])),
                  "queues": draw(st.one_of(st.none(), st.lists(st.sampled_from(QUEUES), max_size=3,
                                                                 unique=True)))})
        else:
            emit(draw(_event))
    return out[:n]


def _events(dicts: list[dict]) -> list[p.Event]:
    batch = p.parse_batch(dicts)
    assert not batch.rejected
    return batch.events


CONFIGS = [MetricsConfig(), MetricsConfig(rolling_minutes=15, sl_formula="abandons_positive",
                                          timezone="Europe/Paris", reset_time="06:30", short_abandon_s=0,
                                          max_call_age_s=1800)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.data(), st.sampled_from(CONFIGS))
def test_snapshot_restore_then_rest_equals_whole_stream(dicts: list[dict], data: st.DataObject,
                                                        config: MetricsConfig) -> None:
    events = _events(dicts)
    k = data.draw(st.integers(0, len(events)), label="cut")
    whole = MetricsEngine(config)
    whole.apply_many(events)
    first = MetricsEngine(config)
    first.apply_many(events[:k])
    snap = json.loads(json.dumps(first.snapshot()))  # it must survive the wire
    restored = MetricsEngine.restore(snap, config)
    restored.apply_many(events[k:])
    end = max(e.ts for e in events)
    for now in (end, end + 1.5, end + 3600 * 3):
        assert restored.figures(now, agent_list=True) == whole.figures(now, agent_list=True)
        assert restored.waiting_calls(now) == whole.waiting_calls(now)
    assert restored.snapshot() == whole.snapshot()


@settings(max_examples=300, deadline=None)
@given(streams(max_size=200), st.sampled_from(CONFIGS))
def test_random_streams_never_raise_and_figures_stay_sane(dicts: list[dict], config: MetricsConfig) -> None:
    eng = MetricsEngine(config)
    eng.apply_many(_events(dicts))
    f = eng.figures(max(d["ts"] for d in dicts) + 10, agent_list=True)
    for per in [f["total"], *f["queues"].values()]:
        for w in ("today", "rolling"):
            fig = per[w]
            assert fig["offered"] == fig["answered"] + fig["abandoned"] + fig["dequeued"]
            assert min(fig["answered"], fig["abandoned"], fig["waiting"], fig["handled"]) >= 0
            assert fig["longest_wait_s"] >= 0
            for pct in ("service_level_pct", "abandon_rate_pct"):
                assert fig[pct] is None or 0 <= fig[pct] <= 100
            for avg in ("asa_s", "ata_s", "aht_s"):
                assert fig[avg] is None or fig[avg] >= 0
    assert sum(f["agents"]["by_state"].values()) == len(eng.agents)
    occ = f["agents"]["occupancy_pct"]
    assert all(v is None or 0 <= v <= 100 for v in occ.values())


_garbage = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40),
    st.sampled_from([
        b'{"type":"call_queued","ts":1795424500}',                      # missing fields
        b'{"type":"call_answered","ts":"soon","call_id":"c1","queue":"sales","agent_id":"a1"}',
        b'{"type":"agent_state","ts":1795424500,"agent_id":"a1","state":"dancing"}',
        b'{"type":"teleport","ts":1795424500,"call_id":"c1"}',         # unknown type
        b'{"type":"call_queued","ts":NaN,"call_id":"c1","queue":"sales"}',
        b'{"type":"call_queued","ts":-5,"call_id":"c1","queue":"sales"}',
        b'{"type":"call_queued","ts":1795424500,"call_id":"","queue":"sales"}',
        b'[1,2,3]', b'null', b'{}', b'{"ts":1}',
        b'{"type":"call_queued","ts":1795424500,"call_id":"c9","queue":"sales"},{"type":"call_queued"}',
    ]),
)


@settings(max_examples=200, deadline=None)
@given(streams(max_size=80), st.lists(st.tuples(st.integers(0, 80), _garbage), max_size=20))
def test_rejected_lines_change_no_figure(dicts: list[dict], junk: list[tuple[int, bytes | str]]) -> None:
    clean = [json.dumps(d).encode() for d in dicts]
    dirty = list(clean)
    for pos, g in sorted(junk, key=lambda x: -x[0]):
        g = g.encode("utf-8", "surrogatepass") if isinstance(g, str) else g
        if b"\n" in g or b"\r" in g:
            g = g.replace(b"\n", b" ").replace(b"\r", b" ")
        dirty.insert(min(pos, len(dirty)), g)
    a, b = MetricsEngine(), MetricsEngine()
    parsed_clean = p.parse_lines(clean)
    parsed_dirty = p.parse_lines(dirty)
    assert not parsed_clean.rejected
    a.apply_many(parsed_clean.events)
    b.apply_many(parsed_dirty.events)
    now = max(d["ts"] for d in dicts) + 5
    assert a.figures(now, agent_list=True) == b.figures(now, agent_list=True)
    # Every garbage line that is not a valid event on its own is reported with its line number.
    bad = [i + 1 for i, line in enumerate(dirty) if line.strip() and isinstance(p.parse_event(line), p.Rejected)]
    assert [r.line for r in parsed_dirty.rejected] == bad
