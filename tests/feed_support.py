"""Helpers for the feed tests: a real FeedServer on its own thread/loop, a sink that keeps an engine and
checks seq continuity, event streams from the real simulator, and a raw websocket server for faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from wallboard.core import protocol as p
from wallboard.core.engine import MetricsEngine
from wallboard.core.metrics_config import MetricsConfig
from wallboard.reliability import harness
from wallboard.reliability.harness import LoopThread as LoopThread  # re-exported for the feed tests

DAY0 = 1795424400.0  # 2026-11-24 00:00 UTC
WAIT_S = 30.0  # upper bound for anything to happen; tests finish far sooner


def sim_events(n: int, scenario: str = "site", seed: int = 3) -> list[p.Event]:
    from wallboard.sim import Simulator, load_scenario

    sim = Simulator(load_scenario(scenario), seed=seed, start=DAY0 + 7 * 3600)
    out: list[p.Event] = []
    for e in sim.run(DAY0 + 30 * 86400, chunk_s=3600):
        out.append(e)
        if len(out) >= n:
            break
    assert len(out) == n, "scenario produced fewer events than asked"
    return out


def reference_figures(events: list[p.Event], now: float, config: MetricsConfig | None = None) -> dict:
    eng = MetricsEngine(config)
    eng.apply_many(events)
    return eng.figures(now, agent_list=True)


class EngineSink:
    """A FeedSink that keeps a MetricsEngine and records what it was told. Thread-safe waits."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.engine: MetricsEngine | None = None
        self.seq: int | None = None
        self.snapshots = 0
        self.snapshot_seqs: list[int] = []
        self.events = 0
        self.states: list[str] = []
        self.statuses: list[Any] = []
        self.errors: list[str] = []
        self.latencies: list[float] = []
        self.track_latency = False
        self.strict = True  # check seq continuity (off when a feed deliberately carries rejected events)

    def on_snapshot(self, snapshot: dict, seq: int) -> None:
        config = MetricsConfig.model_validate(snapshot.get("metrics_config") or {})
        with self.cond:
            self.engine = MetricsEngine.restore(snapshot, config)
            self.seq = seq
            self.snapshots += 1
            self.snapshot_seqs.append(seq)
            self.cond.notify_all()

    def on_events(self, events: list[p.Event], last_seq: int) -> None:
        now = time.time()
        with self.cond:
            if self.engine is None or self.seq is None:
                self.errors.append("events before a snapshot")
            elif self.strict and last_seq - len(events) != self.seq:
                self.errors.append(f"discontinuity: held {self.seq}, got {len(events)} up to {last_seq}")
            else:
                self.engine.apply_many(events)
            if self.track_latency:
                self.latencies.extend(now - e.ts for e in events)
            self.seq = last_seq
            self.events += len(events)
            self.cond.notify_all()

    def on_status(self, status: Any) -> None:
        with self.cond:
            self.statuses.append(status)
            if not self.states or self.states[-1] != status.state:
                self.states.append(status.state)
            self.cond.notify_all()

    def wait_for(self, pred: Callable[[EngineSink], bool], timeout: float = WAIT_S) -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: pred(self), timeout)
        assert ok, f"timed out; states={self.states} seq={self.seq} errors={self.errors[:3]}"

    def wait_seq(self, seq: int, timeout: float = WAIT_S) -> None:
        self.wait_for(lambda s: s.seq == seq, timeout)

    def wait_state(self, state: str, timeout: float = WAIT_S) -> None:
        self.wait_for(lambda s: bool(s.states) and s.states[-1] == state, timeout)

    def figures(self, now: float) -> dict:
        with self.cond:
            assert self.engine is not None
            return self.engine.figures(now, agent_list=True)


class ServerThread(harness.ServerThread):
    """The reliability harness's server thread (a real FeedServer on 127.0.0.1 port 0), with push access
    to a PushSource."""

    @property
    def source(self) -> Any:
        return self.server.source

    def push(self, events: list[p.Event]) -> None:
        self.call(lambda: self.source.push(events))
