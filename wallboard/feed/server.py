"""The feed server: one event source, one embedded engine, many websocket clients (docs/protocol.md).

- Every event gets the next ``seq`` and is serialised once; the same bytes go to every client.
- Each client has its own writer task and a bounded queue. A writer sends everything queued since its last
  send in one frame (write coalescing): an event goes out at once when the link is idle, and events that
  arrive while a send is in flight go together next. A client whose queue overflows is dropped with
  ``CLOSE_SLOW_CONSUMER``; nothing the hub does waits for a client.
- A bounded ring of recent batches serves resumes; older positions and other feeds get a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import http
import itertools
import logging
import secrets
import ssl as ssl_lib
import time
from collections import deque
from dataclasses import dataclass, field

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from wallboard.core import feed_protocol as fp
from wallboard.core import protocol as p
from wallboard.core.engine import MetricsEngine
from wallboard.core.metrics_config import MetricsConfig
from wallboard.feed.forwarded import client_address, parse_trusted_proxies
from wallboard.feed.logs import kv, websockets_logger
from wallboard.feed.sources import EventSource

log = logging.getLogger("wallboard.feed.server")


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = fp.DEFAULT_PORT
    token: str | None = None
    ssl_context: ssl_lib.SSLContext | None = None
    heartbeat_s: float = fp.DEFAULT_HEARTBEAT_S
    history_events: int = 100_000  # resume window
    max_pending_events: int = 20_000  # per client; beyond this it is a slow consumer
    max_frame_bytes: int = fp.DEFAULT_MAX_FRAME_BYTES  # server -> client
    max_snapshot_bytes: int = fp.DEFAULT_MAX_SNAPSHOT_BYTES  # a snapshot is one frame: it cannot be split
    max_client_frame_bytes: int = fp.DEFAULT_MAX_CLIENT_FRAME_BYTES  # client -> server
    max_connections: int = 1000
    # Failed authentications per client address before it is refused (429) without a token check, and the
    # sliding window they are counted over: a wrong token costs a guesser a minute per 10 tries.
    auth_failures_max: int = 10
    auth_failures_window_s: float = 60.0
    # Reverse proxies ("10.0.0.5", "10.1.0.0/16") whose X-Forwarded-For names the client: the limit above
    # then counts per board, not per proxy (wallboard/feed/forwarded.py). Empty: the header is ignored.
    trusted_proxies: tuple[str, ...] = ()
    compression: bool = False  # permessage-deflate halves small-message throughput
    hello_timeout_s: float = 10.0
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 20.0
    metrics_config: MetricsConfig = field(default_factory=MetricsConfig)


@dataclass(slots=True, eq=False)
class Chunk:
    """Consecutive events ``first_seq`` .. ``seq`` as the source delivered them, serialised once."""

    first_seq: int
    seq: int
    server_time: float
    events_json: list[bytes]
    nbytes: int
    _frame: bytes | None = None

    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = fp.encode_batch(self.first_seq, self.seq, self.server_time, self.events_json)
        return self._frame

    def after(self, seq: int) -> Chunk:
        """The part of this chunk after ``seq``."""
        skip = seq + 1 - self.first_seq
        if skip <= 0:
            return self
        evs = self.events_json[skip:]
        return Chunk(seq + 1, self.seq, self.server_time, evs, sum(len(e) + 1 for e in evs))


_HEARTBEAT = object()


class _Client:
    __slots__ = ("cid", "dropped", "interval_s", "last_send", "paced_at", "peer", "pending_events", "queue",
                 "sent_seq", "waiting_since", "wake", "writer", "ws")

    def __init__(self, cid: int, ws: ServerConnection, peer: str) -> None:
        self.cid = cid
        self.ws = ws
        self.peer = peer
        self.queue: deque[object] = deque()  # bytes (a ready frame), Chunk, or _HEARTBEAT
        self.pending_events = 0
        self.wake = asyncio.Event()
        self.sent_seq = 0
        self.last_send = time.monotonic()
        self.interval_s = 0.0  # pacing asked for in the hello: at most one send per interval
        self.paced_at = -1e9  # monotonic time of the last send, for pacing (the first send goes at once)
        self.waiting_since: float | None = None  # monotonic time the oldest item in the queue was queued
        self.dropped: str | None = None
        self.writer: asyncio.Task[None] | None = None


class FeedServer:
    """``async with FeedServer(source, config) as server:`` serves until the block ends."""

    def __init__(self, source: EventSource, config: ServerConfig | None = None) -> None:
        self.source = source
        self.config = config or ServerConfig()
        self.feed_id = secrets.token_hex(8)  # new per run: clients learn that seqs restarted
        self.engine = MetricsEngine(self.config.metrics_config)
        self.seq = 0
        self._ring: deque[Chunk] = deque()
        self._ring_events = 0
        self._clients: dict[int, _Client] = {}
        self._ids = itertools.count(1)
        self._snapshot_cache: tuple[int, bytes] | None = None
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.source_done = asyncio.Event()
        self.source_error: BaseException | None = None  # a failed source: `wallboard serve` exits non-zero
        self.stats: dict[str, int] = dict.fromkeys(
            ("connects", "disconnects", "auth_refused", "busy_refused", "incompatible", "bad_hello",
             "slow_consumers", "resumes", "snapshots", "events", "client_messages_ignored", "auth_limited",
             "snapshot_too_large"), 0)
        self._auth_failures: dict[str, deque[float]] = {}  # client address -> monotonic times of failures
        self._trusted_proxies = parse_trusted_proxies(self.config.trusted_proxies)  # ValueError names a bad one
        self._redacted_ws_log = websockets_logger("wallboard.feed.ws.server")

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        scheme = "wss" if self.config.ssl_context else "ws"
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        return f"{scheme}://{host}:{self.port}/"

    async def start(self) -> None:
        cfg = self.config
        self._server = await serve(
            self._handle, cfg.host, cfg.port,
            process_request=self._check_request,
            select_subprotocol=_select_subprotocol,
            subprotocols=[fp.SUBPROTOCOL],  # type: ignore[list-item]
            compression="deflate" if cfg.compression else None,
            max_size=cfg.max_client_frame_bytes,
            ping_interval=cfg.ping_interval_s, ping_timeout=cfg.ping_timeout_s,
            close_timeout=2.0,
            ssl=cfg.ssl_context,
            logger=self._redacted_ws_log,
            server_header=None,
        )
        self._tasks = [asyncio.create_task(self._pump(), name="feed-source"),
                       asyncio.create_task(self._heartbeats(), name="feed-heartbeats")]
        log.info(kv("listening", url=self.url, feed_id=self.feed_id, source=self.source.description,
                    auth="token" if cfg.token else "none", tls=bool(cfg.ssl_context),
                    compression=cfg.compression))

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._server is not None:
            self._server.close(close_connections=True)  # 1001 going away
            await self._server.wait_closed()
        log.info(kv("stopped", feed_id=self.feed_id, **self.stats))

    async def __aenter__(self) -> FeedServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ the stream
    async def _pump(self) -> None:
        try:
            async for events in self.source.batches():
                if events:
                    self.publish(events)
        except Exception as exc:
            # Heartbeats would otherwise keep saying "current" over data that stopped: let the owner stop us.
            self.source_error = exc
            log.exception(kv("source_failed", source=self.source.description, seq=self.seq))
        else:
            log.info(kv("source_ended", source=self.source.description, seq=self.seq))
        finally:
            self.source_done.set()

    def publish(self, events: list[p.Event]) -> Chunk:
        """Give the events their seqs, apply them to the engine, keep them for resumes, queue them to all."""
        dump = p.EVENT_ADAPTER.dump_json
        ev_json = [dump(e, exclude_none=True) for e in events]
        chunk = Chunk(self.seq + 1, self.seq + len(events), self.source.clock(), ev_json,
                      sum(len(e) + 1 for e in ev_json))
        self.seq = chunk.seq
        self.engine.apply_many(events)
        self.stats["events"] += len(events)
        self._ring.append(chunk)
        self._ring_events += len(events)
        while self._ring and self._ring_events - len(self._ring[0].events_json) >= self.config.history_events:
            self._ring_events -= len(self._ring.popleft().events_json)
        limit = self.config.max_pending_events
        queued_at = time.monotonic()
        for client in list(self._clients.values()):
            if not client.queue:
                client.waiting_since = queued_at
            client.queue.append(chunk)
            client.pending_events += len(events)
            if client.pending_events > limit:
                self._drop_slow(client)
            else:
                client.wake.set()
        return chunk

    def _drop_slow(self, client: _Client) -> None:
        client.dropped = "slow consumer"
        client.queue.clear()
        client.waiting_since = None
        client.pending_events = 0
        self._clients.pop(client.cid, None)
        self.stats["slow_consumers"] += 1
        if client.writer is not None:
            client.writer.cancel()  # it may be stuck waiting for the socket to drain

    def _snapshot_frame(self) -> bytes:
        if self._snapshot_cache is None or self._snapshot_cache[0] != self.seq:
            frame = fp.Snapshot(seq=self.seq, server_time=self.source.clock(),
                                metrics_config=self.config.metrics_config.model_dump(mode="json"),
                                engine=self.engine.snapshot())
            self._snapshot_cache = (self.seq, fp.encode(frame))
        return self._snapshot_cache[1]

    def _resume_chunks(self, hello: fp.ClientHello) -> list[Chunk] | None:
        """The chunks after the client's last seq, or None when a snapshot is needed."""
        last = hello.last_seq
        if hello.feed_id != self.feed_id or last is None or last > self.seq:
            return None
        if last == self.seq:
            return []
        if not self._ring or last < self._ring[0].first_seq - 1:
            return None
        out: list[Chunk] = []
        for chunk in reversed(self._ring):
            if chunk.seq <= last:
                break
            out.append(chunk)
        out.reverse()
        out[0] = out[0].after(last)
        return out

    async def _heartbeats(self) -> None:
        period = self.config.heartbeat_s
        while True:
            await asyncio.sleep(period / 4)
            due = time.monotonic() - period
            for client in self._clients.values():
                if client.last_send <= due and not client.queue:
                    client.waiting_since = time.monotonic()
                    client.queue.append(_HEARTBEAT)
                    client.wake.set()

    # ------------------------------------------------------------------ connections
    def _who(self, connection: ServerConnection, request: Request | None) -> tuple[str, str]:
        """(the address the auth limit counts, "host:port" for logs, naming the proxy when there is one)."""
        peer = _peer(connection)
        host = _host(peer)
        if not self._trusted_proxies or request is None:
            return host, peer
        client = client_address(host, request.headers.get_all("X-Forwarded-For"), self._trusted_proxies)
        return client, peer if client == host else f"{client} via {peer}"

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        client, peer = self._who(connection, request)
        token = self.config.token
        if token:
            if self._auth_locked(client):
                self.stats["auth_limited"] += 1
                resp = connection.respond(http.HTTPStatus.TOO_MANY_REQUESTS,
                                          "too many failed authentications\n")
                resp.headers["Retry-After"] = str(int(self.config.auth_failures_window_s))
                return resp
            given = request.headers.get("Authorization", "")
            scheme, _, value = given.partition(" ")
            ok = scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())
            if not ok:
                self.stats["auth_refused"] += 1
                log.warning(kv("auth_refused", peer=peer, reason="no token" if not given else "wrong token"))
                self._auth_failed(client)
                resp = connection.respond(http.HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token\n")
                resp.headers["WWW-Authenticate"] = 'Bearer realm="wallboard"'
                return resp
        offered = [s.strip() for h in request.headers.get_all("Sec-WebSocket-Protocol") for s in h.split(",")]
        ours = [s for s in offered if s.startswith(fp.SUBPROTOCOL_PREFIX)]
        if ours and fp.SUBPROTOCOL not in ours:
            self.stats["incompatible"] += 1
            log.warning(kv("incompatible", peer=peer, offered=",".join(ours)))
            return connection.respond(http.HTTPStatus.UPGRADE_REQUIRED,
                                      f"this server speaks {fp.SUBPROTOCOL}\n")
        if len(self._clients) >= self.config.max_connections:
            self.stats["busy_refused"] += 1
            log.warning(kv("busy_refused", peer=peer, clients=len(self._clients)))
            resp = connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "connection limit reached\n")
            resp.headers["Retry-After"] = "5"
            return resp
        return None

    def _auth_locked(self, host: str) -> bool:
        times = self._auth_failures.get(host)
        if not times:
            return False
        horizon = time.monotonic() - self.config.auth_failures_window_s
        while times and times[0] < horizon:
            times.popleft()
        return len(times) >= self.config.auth_failures_max

    def _auth_failed(self, host: str) -> None:
        times = self._auth_failures.setdefault(host, deque(maxlen=self.config.auth_failures_max))
        times.append(time.monotonic())
        if len(times) >= self.config.auth_failures_max:
            log.warning(kv("auth_limited", peer=host, failures=len(times),
                           window_s=self.config.auth_failures_window_s))
        if len(self._auth_failures) > 10_000:  # bounded: forget the address that failed first
            self._auth_failures.pop(next(iter(self._auth_failures)))

    async def _refuse(self, ws: ServerConnection, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(fp.encode(fp.ErrorFrame(code=code, reason=reason)), text=True)
            await ws.close(code, reason)

    async def _handle(self, ws: ServerConnection) -> None:
        peer = self._who(ws, ws.request)[1]
        try:
            async with asyncio.timeout(self.config.hello_timeout_s):
                raw = await ws.recv(decode=False)
        except TimeoutError:
            self.stats["bad_hello"] += 1
            log.warning(kv("bad_hello", peer=peer, reason="no hello in time"))
            await self._refuse(ws, fp.CLOSE_BAD_HELLO, "no hello")
            return
        except ConnectionClosed as exc:
            log.info(kv("disconnect", peer=peer, code=_code(exc), reason="closed before hello"))
            return
        hello = fp.decode_client_hello(raw)
        if isinstance(hello, fp.Malformed):
            self.stats["bad_hello"] += 1
            log.warning(kv("bad_hello", peer=peer, reason=hello.reason))
            await self._refuse(ws, fp.CLOSE_BAD_HELLO, f"bad hello: {hello.reason}"[:120])
            return
        if hello.protocol != fp.FEED_PROTOCOL:
            self.stats["incompatible"] += 1
            log.warning(kv("incompatible", peer=peer, protocol=hello.protocol))
            await self._refuse(ws, fp.CLOSE_INCOMPATIBLE, f"protocol {fp.FEED_PROTOCOL} only")
            return

        client = _Client(next(self._ids), ws, peer)
        client.interval_s = (hello.batch_interval_ms or 0) / 1000
        # From here to registration nothing awaits, so the snapshot (or the resumed chunks) and the chunks
        # published afterwards join without a gap or an overlap.
        chunks = self._resume_chunks(hello)
        resumed = chunks is not None
        snapshot = None if resumed else self._snapshot_frame()
        if snapshot is not None and len(snapshot) > self.config.max_snapshot_bytes:
            # Sending it would only make the client refuse it and come back for the same one.
            self.stats["snapshot_too_large"] += 1
            log.error(kv("snapshot_too_large", peer=peer, bytes=len(snapshot),
                         limit=self.config.max_snapshot_bytes, seq=self.seq))
            await self._refuse(ws, fp.CLOSE_SNAPSHOT_TOO_LARGE,
                               f"snapshot of {len(snapshot)} bytes exceeds {self.config.max_snapshot_bytes}")
            return
        client.queue.append(fp.encode(fp.Hello(
            protocol=fp.FEED_PROTOCOL, feed_id=self.feed_id, server_time=self.source.clock(),
            heartbeat_s=self.config.heartbeat_s, max_frame_bytes=self.config.max_frame_bytes,
            resume="resumed" if resumed else "snapshot", source=self.source.description,
            snapshot_bytes=None if snapshot is None else len(snapshot))))
        if snapshot is not None:
            client.queue.append(snapshot)
            client.sent_seq = self.seq
            self.stats["snapshots"] += 1
        else:
            client.queue.extend(chunks)
            client.sent_seq = hello.last_seq or 0  # heartbeats before any chunk must carry the client's seq
            # The resumed backlog (bounded by the ring) is not counted against max_pending_events: counted,
            # any publish before the writer's first step would drop a client that missed many events, again
            # on every resume.
            self.stats["resumes"] += 1
        client.wake.set()
        self._clients[client.cid] = client
        self.stats["connects"] += 1
        log.info(kv("connect", client=client.cid, peer=peer, resume="resumed" if resumed else "snapshot",
                    from_seq=hello.last_seq if resumed else self.seq, clients=len(self._clients)))

        writer = client.writer = asyncio.create_task(self._write(client))
        reader = asyncio.create_task(self._read(client))
        try:
            await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._clients.pop(client.cid, None)
            for t in (writer, reader):
                t.cancel()
            for t in (writer, reader):
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await t
            if client.dropped:
                log.warning(kv("slow_consumer", client=client.cid, peer=peer, sent_seq=client.sent_seq,
                               seq=self.seq))
                with contextlib.suppress(ConnectionClosed):
                    await ws.close(fp.CLOSE_SLOW_CONSUMER, client.dropped)
            else:
                with contextlib.suppress(ConnectionClosed):
                    await ws.close()
            self.stats["disconnects"] += 1
            log.info(kv("disconnect", client=client.cid, peer=peer, code=ws.close_code,
                        reason=client.dropped or ws.close_reason or "", sent_seq=client.sent_seq,
                        clients=len(self._clients)))

    async def _read(self, client: _Client) -> None:
        """Clients send nothing after their hello; read anyway so pings and closes are processed."""
        with contextlib.suppress(ConnectionClosed):
            async for _ in client.ws:
                self.stats["client_messages_ignored"] += 1

    async def _write(self, client: _Client) -> None:
        ws = client.ws
        while True:
            await client.wake.wait()
            if client.interval_s and client.waiting_since is not None:
                # Paced (fp.paced_send_at): what is published before the oldest waiting item has waited an
                # interval rides in the same frame. The first batch after a quiet spell goes at once;
                # heartbeats wait like batches (interval ≤ 1 s).
                send_at = fp.paced_send_at(client.paced_at, client.waiting_since, client.interval_s)
                delay = send_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            client.wake.clear()
            if client.dropped:
                return
            items = list(client.queue)
            client.queue.clear()
            client.waiting_since = None
            client.pending_events = 0
            if not items:  # nothing was queued: nothing sent, so the pacing does not restart
                continue
            for frame in self._frames(client, items):
                await ws.send(frame, text=True)
            client.last_send = client.paced_at = time.monotonic()

    def _frames(self, client: _Client, items: list[object]) -> list[bytes]:
        """Coalesce: runs of chunks become as few batch frames as fit in ``max_frame_bytes``."""
        frames: list[bytes] = []
        run: list[Chunk] = []
        has_data = any(isinstance(i, Chunk) for i in items)
        for item in items:
            if isinstance(item, Chunk):
                run.append(item)
                continue
            self._flush(run, frames, client)
            if item is _HEARTBEAT:
                if not has_data:
                    beat = fp.Heartbeat(seq=client.sent_seq, server_time=self.source.clock())
                    frames.append(fp.encode(beat))
            else:
                frames.append(item)  # type: ignore[arg-type]
        self._flush(run, frames, client)
        return frames

    def _flush(self, run: list[Chunk], frames: list[bytes], client: _Client) -> None:
        if not run:
            return
        budget = self.config.max_frame_bytes - fp.BATCH_OVERHEAD_BYTES
        if len(run) == 1 and run[0].nbytes <= budget:
            frames.append(run[0].frame())
        else:
            first = run[0].first_seq
            evs: list[bytes] = []
            size = 0
            seq = first - 1
            for chunk in run:
                for ev in chunk.events_json:
                    if evs and size + len(ev) + 1 > budget:
                        frames.append(fp.encode_batch(first, seq, chunk.server_time, evs))
                        first, evs, size = seq + 1, [], 0
                    evs.append(ev)
                    size += len(ev) + 1
                    seq += 1
            frames.append(fp.encode_batch(first, seq, run[-1].server_time, evs))
        client.sent_seq = run[-1].seq
        run.clear()


def _select_subprotocol(connection: ServerConnection, offered: list[str]) -> str | None:
    # Clients without a subprotocol (a browser console, websocat) are accepted; their hello says the version.
    return fp.SUBPROTOCOL if fp.SUBPROTOCOL in offered else None


def _peer(conn: ServerConnection) -> str:
    try:
        addr = conn.remote_address
        return f"{addr[0]}:{addr[1]}"
    except (OSError, TypeError, IndexError):
        return "?"


def _host(peer: str) -> str:
    """The address part of ``host:port`` (the port changes with every connection)."""
    return peer.rsplit(":", 1)[0]


def _code(exc: ConnectionClosed) -> int | None:
    return exc.rcvd.code if exc.rcvd else None

