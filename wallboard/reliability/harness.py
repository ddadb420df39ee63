"""Real parts for the fault, load and soak checks: a FeedServer on its own loop thread, a sink that keeps an
engine and checks seq continuity, and a TCP proxy that can cut, silence or stall a connection."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from wallboard.core import protocol as p
from wallboard.core.engine import MetricsEngine
from wallboard.core.metrics_config import MetricsConfig
from wallboard.feed.server import FeedServer, ServerConfig
from wallboard.feed.sources import EventSource, PushSource

WAIT_S = 60.0
FAST = {"backoff_base_s": 0.05, "backoff_cap_s": 0.5}


class WaitTimeoutError(AssertionError):
    pass


class EngineSink:
    """A FeedSink keeping a MetricsEngine and what it was told; thread-safe waits. Events that do not
    continue the held seq are counted (``discontinuities``, with a line in ``errors``) and not applied,
    unless ``strict`` is off (a feed that deliberately carries rejected events skips seqs)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.engine: MetricsEngine | None = None
        self.seq: int | None = None
        self.snapshots = 0
        self.snapshot_seqs: list[int] = []
        self.events = 0
        self.discontinuities = 0
        self.errors: list[str] = []
        self.states: list[str] = []
        self.transitions: list[tuple[str, str]] = []  # (state, detail) at each change of state
        self.statuses: list[Any] = []
        self.last_status: Any = None
        self.latencies: list[float] = []  # receive time - event ts, when track_latency is on
        self.track_latency = False
        self.strict = True

    def on_snapshot(self, snapshot: dict, seq: int) -> None:
        config = MetricsConfig.model_validate(snapshot.get("metrics_config") or {})
        engine = MetricsEngine.restore(snapshot, config)
        with self.cond:
            self.engine, self.seq = engine, seq
            self.snapshots += 1
            self.snapshot_seqs.append(seq)
            self.cond.notify_all()

    def on_events(self, events: list[p.Event], last_seq: int) -> None:
        now = time.time()
        with self.cond:
            if self.engine is None or self.seq is None:
                self.discontinuities += 1
                self.errors.append("events before a snapshot")
            elif self.strict and last_seq - len(events) != self.seq:
                self.discontinuities += 1
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
            self.last_status = status
            self.statuses.append(status)
            if not self.states or self.states[-1] != status.state:
                self.states.append(status.state)
                self.transitions.append((status.state, status.detail))
            self.cond.notify_all()

    def wait_for(self, pred: Callable[[EngineSink], bool], timeout: float = WAIT_S, what: str = "") -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: pred(self), timeout)
        if not ok:
            raise WaitTimeoutError(f"timed out waiting for {what or 'a condition'}; states={self.states[-6:]} "
                                   f"seq={self.seq} errors={self.errors[:3]}")

    def wait_seq(self, seq: int, timeout: float = WAIT_S) -> None:
        self.wait_for(lambda s: s.seq == seq, timeout, f"seq {seq}")

    def wait_state(self, state: str, timeout: float = WAIT_S) -> None:
        self.wait_for(lambda s: bool(s.states) and s.states[-1] == state, timeout, f"state {state}")

    def figures(self, now: float) -> dict:
        with self.cond:
            assert self.engine is not None
            return self.engine.figures(now, agent_list=True)


class LoopThread:
    def __init__(self, name: str = "reliability-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[Any], timeout: float = WAIT_S) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def call(self, fn: Callable[[], Any]) -> Any:
        async def _call() -> Any:
            return fn()
        return self.run(_call())

    def close(self) -> None:
        async def _drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            self.run(_drain(), 10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class ServerThread(LoopThread):
    """A real FeedServer on 127.0.0.1 port 0 (unless told), on its own loop thread."""

    def __init__(self, source_factory: Callable[[], EventSource] = PushSource, **config: Any) -> None:
        super().__init__("reliability-server")
        config.setdefault("port", 0)
        self.config = ServerConfig(**config)

        async def _start() -> FeedServer:
            server = FeedServer(source_factory(), self.config)
            await server.start()
            return server

        self.server: FeedServer = self.run(_start())

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def publish(self, events: list[p.Event]) -> None:
        self.call(lambda: self.server.publish(events))

    def figures(self, now: float) -> dict:
        return self.call(lambda: self.server.engine.figures(now, agent_list=True))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self.server.close())
        super().close()

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Proxy(LoopThread):
    """TCP proxy on 127.0.0.1 port 0 in front of ``upstream_port``; faults apply to open connections.

    - ``cut_mid_frame()``: the next server→client read is forwarded only in part, then both sides are
      aborted (a connection dying in the middle of a websocket frame).
    - ``silence()``: open connections stop carrying anything either way, sockets stay open (a half-open
      link: a NAT that forgot the flow, a cable pulled behind a switch).
    - ``stall(True/False)``: stop/resume reading from the server (a client that cannot keep up).
    """

    def __init__(self, upstream_port: int) -> None:
        super().__init__("reliability-proxy")
        self.upstream_port = upstream_port
        self.cuts = 0
        self.connections = 0
        self._cut_next = threading.Event()
        self._silent: set[int] = set()
        self._pairs: dict[int, tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = {}
        self._stalled = threading.Event()
        self._resume = asyncio.Event()
        self.server: asyncio.Server = self.run(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/"

    def cut_mid_frame(self) -> None:
        self._cut_next.set()

    def silence(self) -> None:
        self.call(lambda: self._silent.update(self._pairs))

    def stall(self, on: bool) -> None:
        if on:
            self._stalled.set()
            self.call(self._resume.clear)
        else:
            self._stalled.clear()
            self.call(self._resume.set)

    async def _accept(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            cw.transport.abort()
            return
        self.connections += 1
        key = id(cw)
        self._pairs[key] = (cw, uw)
        try:
            await asyncio.gather(self._pump(cr, uw, key, down=False), self._pump(ur, cw, key, down=True))
        finally:
            self._pairs.pop(key, None)
            self._silent.discard(key)
            for w in (cw, uw):
                w.transport.abort()

    async def _pump(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, key: int, down: bool) -> None:
        try:
            while True:
                if down and self._stalled.is_set():
                    await self._resume.wait()
                data = await r.read(65536)
                if not data:
                    break
                if key in self._silent:
                    continue  # swallowed: nothing reaches the other side, nothing is closed
                if down and self._cut_next.is_set() and len(data) >= 2:
                    self._cut_next.clear()
                    w.write(data[: len(data) // 2])
                    with contextlib.suppress(ConnectionError):
                        await w.drain()
                    self.cuts += 1
                    for side in self._pairs.get(key, ()):
                        side.transport.abort()
                    return
                w.write(data)
                await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                w.transport.abort()

    def close(self) -> None:
        def _shut() -> None:
            self.server.close()
            for pair in self._pairs.values():
                for w in pair:
                    w.transport.abort()
        with contextlib.suppress(Exception):
            self.call(_shut)
        super().close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def wait_until(pred: Callable[[], bool], timeout: float = WAIT_S, what: str = "") -> None:
    """Polls a condition that has no event to wait on (server-side counters on another thread)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"timed out waiting for {what or 'a condition'}")
        time.sleep(0.01)
