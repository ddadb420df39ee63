"""The feed client: Qt-free, on its own thread with a stock asyncio loop (docs/protocol.md).

It connects, authenticates, takes the snapshot (or resumes), applies batches, and delivers them to a sink
*on the feed thread*; a UI bridge re-emits them as queued signals. It reconnects by itself with capped
exponential backoff and full jitter, resumes from the last seq, resyncs on a seq gap, estimates the server's
clock offset, and says honestly what state it is in (FeedStatus, ``data_age``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl as ssl_lib
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidProxy,
    InvalidProxyStatus,
    InvalidStatus,
    InvalidURI,
)
from websockets.frames import Frame, Opcode

from wallboard import __version__
from wallboard.core import feed_protocol as fp
from wallboard.core.board_config import PROXY_SYSTEM, proxy_for_log
from wallboard.core.feed_protocol import FeedStatus, data_age
from wallboard.core.protocol import Event, ParsedBatch, parse_batch
from wallboard.feed.logs import kv, websockets_logger

__all__ = ["FeedClient", "FeedCounters", "FeedSink", "FeedStatus", "data_age"]

log = logging.getLogger("wallboard.feed.client")


class FeedSink(Protocol):
    """Called on the feed thread, in stream order."""

    def on_snapshot(self, snapshot: dict, seq: int) -> None:
        """The server engine's snapshot after ``seq`` (``MetricsEngine.restore``); replaces all state.
        The server's MetricsConfig is under the extra key ``"metrics_config"``."""

    def on_events(self, events: list[Event], last_seq: int) -> None:
        """Events following the snapshot or the previous batch; ``last_seq`` is the seq of the last one."""

    def on_status(self, status: FeedStatus) -> None:
        """On every state change, and at most every ``status_interval_s`` while data flows."""


@dataclass
class FeedCounters:
    connects: int = 0
    reconnects: int = 0
    frames: int = 0
    events: int = 0
    snapshots: int = 0
    malformed: int = 0  # frames that were not a valid server frame: skipped
    rejected_events: int = 0  # events inside a batch that failed validation (or unknown types): skipped
    duplicates: int = 0  # events received twice (overlapping batch): dropped
    resyncs: int = 0  # seq gaps or out-of-protocol frames: fresh snapshot
    oversize: int = 0  # frames over max_frame_bytes: connection closed 1009, then reconnect
    sink_errors: int = 0


class _CallbackConnection(ClientConnection):
    """A client connection that hands each whole message to a callback as it is parsed (in the protocol's
    ``data_received``), instead of queueing it for ``recv()``: no future, task switch and ``recv`` call per
    message, which were about half of this thread's work at 25 frames a second. Control frames (ping, pong,
    close) go through websockets as before."""

    def __init__(self, *args: Any, on_message: Callable[[bytes], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_message = on_message
        self._fragments: list[bytes] = []

    def process_event(self, event: Any) -> None:
        if self.response is None or not isinstance(event, Frame) or event.opcode not in (
                Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            super().process_event(event)  # the handshake response, control frames
            return
        if event.fin and not self._fragments:
            self._on_message(bytes(event.data))
            return
        self._fragments.append(bytes(event.data))  # a fragmented message (the protocol checks its order)
        if event.fin:
            data, self._fragments = b"".join(self._fragments), []
            self._on_message(data)


@dataclass(frozen=True)
class _Outcome:
    state: str  # the state to show while waiting: reconnecting | auth_failed | incompatible
    detail: str
    immediate: bool = False  # resync: reconnect at once


class FeedClient:
    def __init__(self, url: str, sink: FeedSink, *, token: str | None = None,
                 ssl_context: ssl_lib.SSLContext | None = None,
                 backoff_base_s: float = 0.5, backoff_cap_s: float = 30.0, healthy_after_s: float = 10.0,
                 open_timeout_s: float = 10.0, max_frame_bytes: int = fp.DEFAULT_MAX_FRAME_BYTES,
                 max_snapshot_bytes: int = fp.DEFAULT_MAX_SNAPSHOT_BYTES, proxy: str | None = None,
                 ping_interval_s: float | None = 20.0, compression: bool = False,
                 status_interval_s: float = 1.0, dead_after_heartbeats: float = 6.0,
                 batch_interval_s: float | None = None, rng: random.Random | None = None) -> None:
        """``batch_interval_s``: ask the server for at most one frame of batches per this many seconds
        (0 to 1 s; None: every batch as it comes). A consumer that shows data at most N times a second
        gains nothing from more frames, and each costs this thread and the GIL."""
        self.url = url
        self.sink = sink
        self._token = token
        self._ssl = ssl_context
        self._backoff = fp.Backoff(backoff_base_s, backoff_cap_s, rng)
        self._healthy_after_s = healthy_after_s
        self._open_timeout_s = open_timeout_s
        self._max_frame_bytes = max_frame_bytes
        self._max_snapshot_bytes = max_snapshot_bytes
        # Only a configured proxy: a LAN feed must not go through http(s)_proxy from the environment unless
        # told to ("system"; FeedSettings.proxy).
        self._proxy: str | bool | None = True if proxy == PROXY_SYSTEM else (proxy or None)
        self._via = (" (system proxy settings)" if proxy == PROXY_SYSTEM
                     else f" via proxy {proxy_for_log(proxy)}" if proxy else "")
        self._ping_interval_s = ping_interval_s
        self._compression = compression
        self._status_interval_s = status_interval_s
        self._dead_after_heartbeats = dead_after_heartbeats
        if batch_interval_s is not None and not 0 <= batch_interval_s <= fp.MAX_BATCH_INTERVAL_MS / 1000:
            raise ValueError(f"batch_interval_s must be within 0..{fp.MAX_BATCH_INTERVAL_MS / 1000} s, "
                             f"not {batch_interval_s}")
        self._batch_interval_ms = None if batch_interval_s is None else round(batch_interval_s * 1000)
        self.counters = FeedCounters()
        self.tracker = fp.SeqTracker()
        self.clock = fp.ClockOffset()
        self._status = FeedStatus("stopped", "not started")
        self._heartbeat_s = fp.DEFAULT_HEARTBEAT_S
        self._last_data_server_time: float | None = None
        self._last_frame_mono = 0.0
        self._last_status_mono = 0.0
        self._live = False
        self._live_since: float | None = None
        self._conn_task: asyncio.Task[_Outcome] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ws: ClientConnection | None = None
        self._started = threading.Event()

    # ------------------------------------------------------------------ public, any thread
    @property
    def status(self) -> FeedStatus:
        return self._status

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("FeedClient already started")
        self._thread = threading.Thread(target=self._thread_main, name="wallboard-feed", daemon=True)
        self._thread.start()
        self._started.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """Close the connection and join the thread; the last status delivered is ``stopped``."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop already finished
                loop.call_soon_threadsafe(self._request_stop)
        if self._thread is not None:
            self._thread.join(timeout)

    def disconnect(self) -> None:
        """Drop the current connection without a closing handshake, as a network failure would (then the
        client reconnects and resumes). For operators' "reconnect now" and for tests."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._abort)

    def resync(self) -> None:
        """Ask for a fresh snapshot: forget our position and drop the connection; the reconnect (after the
        usual backoff, so a server whose snapshots we cannot use is not hammered) takes a snapshot. For a
        sink that could not use what it was given. Any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._resync)

    def _resync(self) -> None:
        self.counters.resyncs += 1
        self.tracker.forget()
        log.warning(kv("resync", reason="asked by the sink"))
        self._abort()

    # ------------------------------------------------------------------ the feed thread
    def _thread_main(self) -> None:
        asyncio.run(self._main())

    def _request_stop(self) -> None:
        assert self._stop is not None
        self._stop.set()
        if self._ws is not None:
            asyncio.get_running_loop().create_task(self._ws.close(fp.CLOSE_NORMAL, "client stopping"))
        elif self._conn_task is not None:
            self._conn_task.cancel()  # still opening: do not wait for open_timeout

    def _abort(self) -> None:
        if self._ws is not None:
            self._ws.transport.abort()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._started.set()
        watchdog = asyncio.create_task(self._watchdog())
        first = True
        try:
            while not self._stop.is_set():
                began = time.monotonic()
                self._conn_task = asyncio.create_task(self._connect_once(first))
                try:
                    outcome = await self._conn_task
                except asyncio.CancelledError:
                    if self._stop.is_set():
                        break
                    raise
                except Exception as exc:  # last resort: an error nobody foresaw must not end the feed thread
                    log.exception(kv("feed_error", url=self.url, error=type(exc).__name__))
                    outcome = _Outcome("reconnecting", f"unexpected error: {type(exc).__name__}: {exc}")
                finally:
                    self._conn_task = None
                first = False
                if self._stop.is_set():
                    break
                live_since = self._live_since
                if live_since is not None and time.monotonic() - live_since >= self._healthy_after_s:
                    self._backoff.reset()
                self._live = False
                delay = 0.0 if outcome.immediate else self._backoff.next_delay()
                log.info(kv("feed_down", url=self.url, state=outcome.state, detail=outcome.detail,
                            retry_in_s=round(delay, 2), up_s=round(time.monotonic() - began, 1)))
                self._emit(outcome.state, outcome.detail, retry_in_s=delay)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._stop.wait()
                self.counters.reconnects += 1
        finally:
            watchdog.cancel()
            self._emit("stopped", "client stopped")

    async def _connect_once(self, first: bool) -> _Outcome:
        self._live_since = None
        self._emit("connecting" if first else "reconnecting", f"connecting to {self.url}{self._via}")
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[tuple[int, _Outcome]] = loop.create_future()  # (close code, outcome)

        def on_message(raw: bytes) -> None:  # in the connection's data_received, on this thread
            if ended.done():
                return  # closing: what still comes is not applied
            try:
                end = self._on_message(raw)
            except Exception as exc:  # a bug here must not kill the protocol: end this connection
                log.exception(kv("feed_error", url=self.url, error=type(exc).__name__))
                end = (fp.CLOSE_INTERNAL, _Outcome("reconnecting", f"unexpected error: {type(exc).__name__}"))
            if end is not None:
                ended.set_result(end)

        try:
            async with connect(
                self.url, additional_headers=headers, subprotocols=[fp.SUBPROTOCOL],  # type: ignore[list-item]
                ssl=self._ssl, proxy=self._proxy,
                # One limit per connection: a snapshot may be bigger than a batch; _on_message holds other
                # frames to max_frame_bytes itself.
                max_size=max(self._max_frame_bytes, self._max_snapshot_bytes),
                compression="deflate" if self._compression else None,
                open_timeout=self._open_timeout_s, ping_interval=self._ping_interval_s,
                ping_timeout=self._ping_interval_s, close_timeout=2.0,
                logger=websockets_logger("wallboard.feed.ws.client"),
                user_agent_header=f"wallboard/{__version__}",
                create_connection=lambda *a, **k: _CallbackConnection(*a, on_message=on_message, **k),
            ) as ws:
                self._ws = ws
                self.counters.connects += 1
                self._last_frame_mono = time.monotonic()
                await ws.send(fp.encode(self.tracker.client_hello(self._batch_interval_ms)), text=True)
                closed = asyncio.ensure_future(ws.wait_closed())
                try:
                    await asyncio.wait((ended, closed), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    closed.cancel()
                if not ended.done():  # the connection closed (or was aborted) first
                    exc = ws.protocol.close_exc
                    raise exc if isinstance(exc, ConnectionClosed) else ConnectionClosed(None, None)
                code, outcome = ended.result()
                await ws.close(code, outcome.detail[:120])
                return outcome
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == fp.HTTP_UNAUTHORIZED:
                return _Outcome("auth_failed", "the server refused our token" if self._token
                                else "the server requires a token")
            if status == fp.HTTP_TOO_MANY_REQUESTS:
                return _Outcome("auth_failed", "too many failed authentications: the server makes us wait")
            if status == fp.HTTP_UPGRADE_REQUIRED:
                return _Outcome("incompatible", "the server speaks another protocol version")
            if status == fp.HTTP_BUSY:
                return _Outcome("reconnecting", "the server is at its connection limit")
            return _Outcome("reconnecting", f"handshake refused: HTTP {status}")
        except ConnectionClosed as exc:
            return self._closed(exc)
        except InvalidProxyStatus as exc:
            status = exc.response.status_code
            if status == fp.HTTP_PROXY_AUTH_REQUIRED:
                return _Outcome("auth_failed", "the proxy refused our credentials" if self._proxy_has_auth()
                                else "the proxy requires credentials (user:password@ in the proxy URL)")
            return _Outcome("reconnecting", f"the proxy refused the connection: HTTP {status}")
        except InvalidProxy as exc:
            return _Outcome("incompatible", f"unusable proxy setting: {exc.msg}")
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            return _Outcome("reconnecting", f"cannot connect{self._via}: {exc or type(exc).__name__}")
        finally:
            self._ws = None

    def _proxy_has_auth(self) -> bool:
        return isinstance(self._proxy, str) and "@" in self._proxy

    def _closed(self, exc: ConnectionClosed) -> _Outcome:
        rcvd, sent = exc.rcvd, exc.sent
        if sent is not None and sent.code == fp.CLOSE_TOO_BIG:
            self.counters.oversize += 1
            if self.tracker.awaiting_snapshot:  # a server that does not announce its snapshot's size
                log.error(kv("snapshot_too_large", url=self.url, limit=self._max_snapshot_bytes))
                return _Outcome("incompatible", f"snapshot too large: over our limit of "
                                                f"{self._max_snapshot_bytes} bytes")
            log.warning(kv("oversize_frame", url=self.url, limit=self._max_frame_bytes))
            return _Outcome("reconnecting", f"a frame exceeded {self._max_frame_bytes} bytes")
        if rcvd is None:
            return _Outcome("reconnecting", "connection lost")
        if rcvd.code == fp.CLOSE_SLOW_CONSUMER:
            return _Outcome("reconnecting", "dropped as a slow consumer")
        if rcvd.code == fp.CLOSE_INCOMPATIBLE:
            return _Outcome("incompatible", rcvd.reason or "incompatible protocol")
        if rcvd.code == fp.CLOSE_SNAPSHOT_TOO_LARGE:
            return _Outcome("incompatible", f"snapshot too large: {rcvd.reason}".strip())
        if rcvd.code == fp.CLOSE_GOING_AWAY:
            return _Outcome("reconnecting", "the server went away")
        return _Outcome("reconnecting", f"closed by the server ({rcvd.code} {rcvd.reason})".strip())

    def _on_message(self, raw: bytes) -> tuple[int, _Outcome] | None:
        """One message from the server; (close code, outcome) when this connection must end."""
        if len(raw) > self._max_frame_bytes and not self.tracker.awaiting_snapshot:
            self.counters.oversize += 1
            log.warning(kv("oversize_frame", url=self.url, bytes=len(raw), limit=self._max_frame_bytes))
            return fp.CLOSE_TOO_BIG, _Outcome("reconnecting", f"a frame exceeded {self._max_frame_bytes} bytes")
        outcome = self._on_frame(raw)
        if outcome is None:
            return None
        return (fp.CLOSE_RESYNC if outcome.immediate else fp.CLOSE_NORMAL), outcome

    def _on_frame(self, raw: bytes) -> _Outcome | None:
        now = time.time()
        self._last_frame_mono = time.monotonic()
        self.counters.frames += 1
        frame = fp.decode_server_frame(raw)
        if isinstance(frame, fp.Malformed):
            self.counters.malformed += 1
            if self.counters.malformed <= 10 or self.counters.malformed % 1000 == 0:
                log.warning(kv("malformed_frame", count=self.counters.malformed, reason=frame.reason[:200]))
            return None
        if isinstance(frame, fp.Hello) and frame.feed_id != self.tracker.feed_id:
            self.clock.reset()  # another feed (a restarted server, a replay from its start): another clock
            self._last_data_server_time = None  # ... and the old feed's data time says nothing about this one
        if isinstance(frame, fp.Hello) and (frame.snapshot_bytes or 0) > self._max_snapshot_bytes:
            log.error(kv("snapshot_too_large", url=self.url, bytes=frame.snapshot_bytes,
                         limit=self._max_snapshot_bytes))
            return _Outcome("incompatible", f"snapshot too large: {frame.snapshot_bytes} bytes, "
                                            f"our limit is {self._max_snapshot_bytes}")
        server_time = getattr(frame, "server_time", None)
        if server_time is not None:
            self.clock.add(server_time, now)
        action = self.tracker.on_frame(frame)
        if isinstance(frame, fp.Hello):
            self._heartbeat_s = frame.heartbeat_s
        if isinstance(action, fp.DeliverSnapshot):
            snap = dict(action.snapshot.engine)
            snap["metrics_config"] = action.snapshot.metrics_config
            self.counters.snapshots += 1
            if not self._deliver(self.sink.on_snapshot, snap, action.snapshot.seq):
                # The sink holds no usable state: the batches that follow would build on nothing.
                self.tracker.forget()
                return _Outcome("reconnecting", "the snapshot could not be applied")
            self._fresh(action.snapshot.server_time, "snapshot")
        elif isinstance(action, fp.DeliverEvents):
            # (events typed already when they all validated with the frame, see decode_server_frame)
            parsed = (ParsedBatch(list(action.events), []) if isinstance(frame, fp.TypedBatch)
                      else parse_batch(action.events))
            self.counters.duplicates += action.duplicates
            self.counters.events += len(parsed.events)
            if parsed.rejected:
                self.counters.rejected_events += len(parsed.rejected)
                log.warning(kv("rejected_events", count=len(parsed.rejected),
                               first=parsed.rejected[0].describe()[:200]))
            if not self._deliver(self.sink.on_events, parsed.events, action.last_seq):
                # The tracker has moved past these events but the sink does not hold them: start afresh.
                self.tracker.forget()
                return _Outcome("reconnecting", "a batch could not be applied: resync")
            self._fresh(server_time, "events")
        elif isinstance(action, fp.Nothing):
            self.counters.duplicates += action.duplicates
            if isinstance(frame, fp.Heartbeat):
                self._fresh(frame.server_time, "heartbeat")
            elif isinstance(frame, fp.Hello) and frame.resume == "resumed":
                self._fresh(frame.server_time, "resumed")
            elif isinstance(frame, fp.ErrorFrame):
                log.warning(kv("server_error", code=frame.code, reason=frame.reason))
        elif isinstance(action, fp.Resync):
            self.counters.resyncs += 1
            self.tracker.forget()
            log.warning(kv("resync", reason=action.reason))
            return _Outcome("reconnecting", f"resync: {action.reason}", immediate=True)
        elif isinstance(action, fp.Incompatible):
            return _Outcome("incompatible", action.reason)
        return None

    def _deliver(self, fn: Any, *args: Any) -> bool:
        try:
            fn(*args)
        except Exception:  # a sink bug must not kill the feed
            self.counters.sink_errors += 1
            log.exception(kv("sink_error", method=getattr(fn, "__name__", "?")))
            return False
        return True

    def _fresh(self, server_time: float | None, why: str) -> None:
        """A frame proved the data current."""
        if server_time is not None:
            self._last_data_server_time = server_time
        if not self._live or self._status.state != "live":
            if not self._live:
                self._live = True
                self._live_since = time.monotonic()
            self._emit("live", why)
        elif time.monotonic() - self._last_status_mono >= self._status_interval_s:
            self._emit("live", why)

    async def _watchdog(self) -> None:
        # Wakes at the next deadline (stale, then dead), at most a second apart (the heartbeat may change),
        # not on a fixed short period: while data flows, a poll 4 times a second was a wake-up of this
        # thread for nothing.
        while True:
            await asyncio.sleep(self._watchdog_check())

    def _watchdog_check(self) -> float:
        """Mark the feed stale or drop a silent connection when due; returns the seconds until the next check."""
        if not self._live or self._ws is None:
            return 0.25
        quiet = time.monotonic() - self._last_frame_mono
        stale_after = self._heartbeat_s * fp.STALE_AFTER_HEARTBEATS
        dead_after = self._heartbeat_s * self._dead_after_heartbeats
        if quiet > dead_after:
            log.warning(kv("feed_silent", url=self.url, quiet_s=round(quiet, 1)))
            self._ws.transport.abort()
            return 0.25
        if quiet > stale_after and self._status.state == "live":
            self._emit("stale", f"no data for {quiet:.0f} s")
        due = stale_after if quiet <= stale_after and self._status.state == "live" else dead_after
        return min(1.0, max(0.01, due - quiet + 0.005))

    def _emit(self, state: str, detail: str, retry_in_s: float | None = None) -> None:
        self._last_status_mono = time.monotonic()
        self._status = FeedStatus(
            state=state, detail=detail, retry_in_s=retry_in_s, clock_offset_s=self.clock.offset_s,
            last_data_server_time=self._last_data_server_time,
            stale_after_s=self._heartbeat_s * fp.STALE_AFTER_HEARTBEATS,
            feed_id=self.tracker.feed_id, last_seq=self.tracker.last_seq, counters=asdict(self.counters))
        self._deliver(self.sink.on_status, self._status)
