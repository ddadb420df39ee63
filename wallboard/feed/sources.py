"""Event sources behind one small interface, so the server does not care where events come from.

A source is an async iterator of event batches plus a clock. The clock is the feed's "now": wall time for
live sources, the recording's time for a replay (scaled by ``speed``), so that figures that tick (longest
wait) move at the speed the events do. A PBX bridge later is one more class with the same two members.

Specs: ``replay:PATH`` (``speed``, ``loop``), ``sim:SCENARIO`` (``speed``, ``seed``),
``synthetic:RATE`` (RATE events/s stamped with the wall time at emission: load tests and benchmarks).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

from wallboard.core import protocol as p

SIM_TICK_S = 0.01  # the simulator is polled this often (it has no "next event at" query)


class EventSource(Protocol):
    description: str

    def clock(self) -> float:
        """The feed's current time (seconds since the epoch)."""
        ...

    def batches(self) -> AsyncIterator[list[p.Event]]:
        """Yields batches of events as they become due; ends when the source is exhausted."""
        ...


class SourceError(ValueError):
    """A source spec that cannot be opened (bad scheme, missing file, unknown scenario)."""


def _pace(speed: float) -> float:
    if speed < 0:
        raise SourceError("speed must be ≥ 0 (0: as fast as possible)")
    return speed


class ReplaySource:
    """Plays a recording with its original timestamps, paced by ``speed`` (0: as fast as possible).

    With ``loop`` the recording starts again when it ends, shifted forward by its own span (+1 s) so time
    keeps moving forward, and with call ids suffixed per lap so repeated calls are new calls.
    """

    def __init__(self, path: str | Path, *, speed: float = 1.0, loop: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"recording not found: {self.path}")
        self.speed = _pace(speed)
        self.loop = loop
        self.description = f"replay:{self.path.name}"
        self.rejected = 0
        self._t0: float | None = None  # first event's ts
        self._m0 = 0.0  # monotonic time at which the first event was due
        self._last_ts = 0.0

    def clock(self) -> float:
        if self._t0 is None:
            return time.time()
        if self.speed == 0:
            return self._last_ts
        return self._t0 + (time.monotonic() - self._m0) * self.speed

    def _chunks(self) -> Iterator[list[p.Event]]:
        from wallboard.recording import read_chunks

        shift = 0.0
        first: float | None = None
        last = 0.0
        for lap in itertools.count():
            for chunk in read_chunks(self.path, chunk_lines=2000):
                self.rejected += len(chunk.rejected)
                evs = chunk.events
                if not evs:
                    continue
                if first is None:
                    first = evs[0].ts
                if not lap:
                    last = evs[-1].ts
                if lap:
                    evs = [_relap(e, shift, lap) for e in evs]
                yield evs
            if not self.loop or first is None:
                return
            shift += (last - first) + 1.0

    async def batches(self) -> AsyncIterator[list[p.Event]]:
        it = self._chunks()
        while True:
            # Parsing a chunk takes milliseconds: keep it off the event loop so sends are not delayed.
            chunk = await asyncio.to_thread(next, it, None)
            if chunk is None:
                return
            if self.speed == 0:
                self._last_ts = chunk[-1].ts
                yield chunk
                await asyncio.sleep(0)
                continue
            i = 0
            while i < len(chunk):
                if self._t0 is None:
                    self._t0, self._m0 = chunk[0].ts, time.monotonic()
                now = self.clock()
                j = i
                while j < len(chunk) and chunk[j].ts <= now:
                    j += 1
                if j > i:
                    self._last_ts = chunk[j - 1].ts
                    yield chunk[i:j]
                    i = j
                else:
                    await asyncio.sleep(max(0.0, (chunk[i].ts - now) / self.speed))


def _relap(event: p.Event, shift: float, lap: int) -> p.Event:
    changes: dict[str, object] = {"ts": event.ts + shift}
    call_id = getattr(event, "call_id", None)
    if call_id is not None:
        changes["call_id"] = f"{call_id}~{lap}"
    expires = getattr(event, "expires", None)
    if expires is not None:
        changes["expires"] = expires + shift
    return dataclasses.replace(event, **changes)  # type: ignore[type-var]


class SimSource:
    """The live simulator, started at the current wall time (or ``start``, epoch seconds: e.g. just before
    a scenario's incident); its clock runs at ``speed`` × real time from there.

    ``warm_up_s``: the simulation starts that long before ``start`` and its events up to ``start`` come at
    once, in the first batches: a demo opens on a floor that has been working (calls queued and in progress,
    agents in every state, today's figures), not on one where everyone has just logged in."""

    WARM_UP_CHUNK = 5000  # events per batch while catching up (frames stay well under max_frame_bytes)

    def __init__(self, scenario: str, *, speed: float = 1.0, seed: int = 1, start: float | None = None,
                 warm_up_s: float = 0.0) -> None:
        try:
            from wallboard.sim import Simulator, load_scenario
        except ImportError as exc:  # the simulator package is not there
            raise SourceError(f"the simulator is not available: {exc}") from exc
        self.speed = _pace(speed) or 1.0
        try:
            scen = load_scenario(scenario)
        except (OSError, ValueError, KeyError) as exc:  # ScenarioError is a ValueError
            raise SourceError(f"cannot load scenario {scenario!r}: {exc}") from exc
        if not 0 <= warm_up_s <= 86_400:
            raise SourceError("the warm-up must be between 0 and 24 hours")
        self._start = time.time() if start is None else start
        self._m0 = time.monotonic()
        self._sim = Simulator(scen, seed=seed, start=self._start - warm_up_s)
        self._warm_up_s = warm_up_s
        self.description = f"sim:{scenario}"

    def clock(self) -> float:
        return self._start + (time.monotonic() - self._m0) * self.speed

    async def batches(self) -> AsyncIterator[list[p.Event]]:
        if self._warm_up_s:
            history = self._sim.events_until(self._start)
            for i in range(0, len(history), self.WARM_UP_CHUNK):
                yield history[i:i + self.WARM_UP_CHUNK]
                await asyncio.sleep(0)  # clients and heartbeats get their turn between chunks
        while True:
            evs = self._sim.events_until(self.clock())
            if evs:
                yield evs
            await asyncio.sleep(SIM_TICK_S)


class SyntheticSource:
    """``rate`` agent_state events per second, each stamped with the wall time it is emitted at.

    Emitted one at a time when due (no batching delay), so a client's receive time minus ``ts`` is the
    feed's send→receive latency. For load tests and benchmarks.
    """

    def __init__(self, rate: float, *, agents: int = 500) -> None:
        if rate <= 0:
            raise SourceError("synthetic rate must be > 0 events/s")
        self.rate = rate
        self.agents = agents
        self.description = f"synthetic:{rate:g}"
        self.count = 0

    def clock(self) -> float:
        return time.time()

    async def batches(self) -> AsyncIterator[list[p.Event]]:
        states = ("available", "on_call", "wrap_up", "not_ready")
        m0 = time.monotonic()
        while True:
            due = int((time.monotonic() - m0) * self.rate) + 1
            if due > self.count:
                now = time.time()
                evs: list[p.Event] = []
                for n in range(self.count, due):
                    evs.append(p.AgentState(ts=now, agent_id=f"a{n % self.agents:04d}", state=states[n % 4]))
                self.count = due
                yield evs
            wait = m0 + (self.count / self.rate) - time.monotonic()
            await asyncio.sleep(max(0.0, wait))


class PushSource:
    """Events pushed by the owner (``push``), e.g. a bridge or a test; ``close()`` ends it."""

    def __init__(self, description: str = "push") -> None:
        self.description = description
        self._queue: asyncio.Queue[list[p.Event] | None] = asyncio.Queue()
        self._clock: float | None = None

    def clock(self) -> float:
        return self._clock if self._clock is not None else time.time()

    def set_clock(self, t: float | None) -> None:
        """Pin the feed clock (None: wall time)."""
        self._clock = t

    def push(self, events: list[p.Event]) -> None:
        self._queue.put_nowait(list(events))

    def close(self) -> None:
        self._queue.put_nowait(None)

    async def batches(self) -> AsyncIterator[list[p.Event]]:
        while (evs := await self._queue.get()) is not None:
            if evs:
                yield evs


def open_source(spec: str, *, speed: float = 1.0, loop: bool = False, seed: int = 1) -> EventSource:
    scheme, _, arg = spec.partition(":")
    if not arg:
        raise SourceError(f"source must look like replay:FILE, sim:SCENARIO or synthetic:RATE, got {spec!r}")
    if scheme == "replay":
        return ReplaySource(arg, speed=speed, loop=loop)
    if scheme == "sim":
        return SimSource(arg, speed=speed, seed=seed)
    if scheme == "synthetic":
        try:
            rate = float(arg)
        except ValueError as exc:
            raise SourceError(f"synthetic rate must be a number, got {arg!r}") from exc
        return SyntheticSource(rate)
    raise SourceError(f"unknown source scheme {scheme!r} (replay, sim, synthetic)")
