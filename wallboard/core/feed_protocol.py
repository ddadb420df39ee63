"""The feed's stream envelope (docs/protocol.md, "Stream envelope"), sans I/O.

Everything here is pure: frame models and their encoding, close codes, and the small state machines a
client needs (seq tracking and resume decisions, clock-offset estimation, reconnect backoff, data age).
The asyncio server and client in ``wallboard.feed`` only move bytes and call into this module.
"""

from __future__ import annotations

import json
import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from wallboard.core.protocol import Event

FEED_PROTOCOL = 1
SUBPROTOCOL = "wallboard.v1"  # websocket subprotocol; a client offering only other wallboard.* gets 426
SUBPROTOCOL_PREFIX = "wallboard."

# Close codes. 1xxx are RFC 6455; 4xxx are ours (private use range).
CLOSE_NORMAL = 1000  # client stopping
CLOSE_GOING_AWAY = 1001  # server shutting down: reconnect with backoff
CLOSE_TOO_BIG = 1009  # a message exceeded the receiver's limit (websockets does this by itself)
CLOSE_INTERNAL = 1011  # server bug; reconnect with backoff
CLOSE_INCOMPATIBLE = 4002  # client hello with an unsupported protocol version
CLOSE_BAD_HELLO = 4003  # no client hello within the timeout, or a malformed one
CLOSE_SLOW_CONSUMER = 4008  # the client's send queue overflowed; reconnect and resume
CLOSE_RESYNC = 4009  # sent by a client that saw a seq gap; it reconnects at once for a fresh snapshot

# HTTP statuses refusing the websocket handshake.
HTTP_UNAUTHORIZED = 401  # missing or wrong bearer token
HTTP_UPGRADE_REQUIRED = 426  # the client offers only wallboard subprotocols this server does not speak
HTTP_TOO_MANY_REQUESTS = 429  # too many failed authentications from this address (Retry-After is set)
HTTP_BUSY = 503  # connection limit reached (Retry-After is set)
HTTP_PROXY_AUTH_REQUIRED = 407  # (from an HTTP proxy between board and feed, not from the feed server)

DEFAULT_PORT = 8765
DEFAULT_HEARTBEAT_S = 2.5
STALE_AFTER_HEARTBEATS = 3  # data is stale when nothing (not even a heartbeat) came for 3 heartbeat periods
DEFAULT_MAX_FRAME_BYTES = 16 * 2**20  # server -> client batches and heartbeats (larger runs are split)
DEFAULT_MAX_CLIENT_FRAME_BYTES = 64 * 2**10  # client -> server: only a hello is expected
# A snapshot is one frame and cannot be split; it may exceed max_frame_bytes (a large centre's engine with a
# 2 h rolling window is ~25 MiB). Both ends accept snapshots up to this size; beyond it the server refuses
# the client with CLOSE_SNAPSHOT_TOO_LARGE and the client shows "incompatible" instead of looping.
DEFAULT_MAX_SNAPSHOT_BYTES = 128 * 2**20
CLOSE_SNAPSHOT_TOO_LARGE = 4013  # the snapshot exceeds the server's max_snapshot_bytes (error frame first)

# server_time must be a real epoch time: NaN or inf would poison the clock offset and make data look fresh.
MAX_SERVER_TIME = 32503680000.0  # year 3000
ServerTime = Annotated[float, Field(ge=0, le=MAX_SERVER_TIME, allow_inf_nan=False)]


MAX_BATCH_INTERVAL_MS = 1000  # a client may ask for batches at most once a second, not rarer
_FRAME = ConfigDict(extra="ignore", frozen=True)


class Hello(BaseModel):
    """First server frame. ``resume`` says what follows: the missed batches, or a snapshot."""

    model_config = _FRAME
    type: Literal["hello"] = "hello"
    protocol: int
    feed_id: str
    server_time: ServerTime
    heartbeat_s: float = Field(gt=0, le=3600, allow_inf_nan=False)
    max_frame_bytes: int
    resume: Literal["resumed", "snapshot"]
    source: str = ""
    # Size in bytes of the snapshot frame that follows (resume "snapshot"): a client whose limit is lower
    # says so (incompatible) instead of refusing the frame and reconnecting for the same snapshot forever.
    snapshot_bytes: int | None = Field(default=None, ge=0)


class Snapshot(BaseModel):
    """The server engine's state after event ``seq`` (0: before any event), and the config it ran with."""

    model_config = _FRAME
    type: Literal["snapshot"] = "snapshot"
    seq: int = Field(ge=0)
    server_time: ServerTime
    metrics_config: dict[str, Any] = Field(default_factory=dict)
    engine: dict[str, Any]


class Batch(BaseModel):
    """Events ``first_seq`` .. ``seq`` in order (one seq per event). Events stay raw here: each is validated
    on its own so that one bad or unknown event is skipped and counted, not the whole frame."""

    model_config = _FRAME
    type: Literal["batch"] = "batch"
    first_seq: int = Field(ge=1)
    seq: int = Field(ge=1)
    server_time: ServerTime
    events: list[Any]


class Heartbeat(BaseModel):
    """Sent when a client's link has been idle for ``heartbeat_s``; ``seq`` is the last seq it was sent."""

    model_config = _FRAME
    type: Literal["heartbeat"] = "heartbeat"
    seq: int = Field(ge=0)
    server_time: ServerTime


class ErrorFrame(BaseModel):
    """Sent just before the server closes with ``code``, so the reason survives proxies that drop it."""

    model_config = _FRAME
    type: Literal["error"] = "error"
    code: int
    reason: str


class ClientHello(BaseModel):
    """The client's only message: which protocol it speaks and where it wants to resume."""

    model_config = _FRAME
    type: Literal["hello"] = "hello"
    protocol: int
    feed_id: str | None = None
    last_seq: int | None = Field(default=None, ge=0)
    # Pacing: send at most one frame of batches per this many ms, none held much longer (paced_send_at).
    # A board that repaints at most N times a second asks for 1000/N: fewer frames, the same latency.
    batch_interval_ms: int | None = Field(default=None, ge=0, le=MAX_BATCH_INTERVAL_MS)


class TypedBatch(Batch):
    """A batch whose events all validated with the frame, in one pass over its JSON (the common case)."""

    events: list[Event]  # type: ignore[assignment]


ServerFrame = Annotated[Hello | Snapshot | Batch | Heartbeat | ErrorFrame, Field(discriminator="type")]
SERVER_FRAME_ADAPTER: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)
# Batches with their events typed: one pass instead of decoding the events to dicts and validating those
# (about a third of the decoding time, on the feed thread at every frame).
_TYPED_FRAME_ADAPTER: TypeAdapter[ServerFrame] = TypeAdapter(
    Annotated[Hello | Snapshot | TypedBatch | Heartbeat | ErrorFrame, Field(discriminator="type")])


@dataclass(frozen=True, slots=True)
class Malformed:
    reason: str


def _why(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return str(exc)
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"]) or "frame"
    return f"{loc}: {first['msg']}"


def decode_server_frame(raw: str | bytes) -> ServerFrame | Malformed:
    """Never raises for bad input: a frame that is not JSON or not a known frame is ``Malformed``. A batch
    whose events are all valid comes as a ``TypedBatch`` (events typed); one with a bad or unknown event as a
    ``Batch`` with its events raw, for the client to validate one by one (protocol.parse_batch)."""
    try:
        return _TYPED_FRAME_ADAPTER.validate_json(raw)
    except ValidationError:
        pass  # a bad frame, or a good frame with a bad event: the lenient pass tells which
    try:
        return SERVER_FRAME_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        return Malformed(_why(exc))


def decode_client_hello(raw: str | bytes) -> ClientHello | Malformed:
    try:
        return ClientHello.model_validate_json(raw)
    except ValidationError as exc:
        return Malformed(_why(exc))


PACING_TIMER_SLACK_S = 0.001  # asyncio's timers on Linux fire up to ~1 ms late (epoll waits in whole ms)


def paced_send_at(last_send: float, first_waiting: float, interval: float,
                  early: float = PACING_TIMER_SLACK_S) -> float:
    """When a paced client's next frame goes (docs/protocol.md, "Pacing"), on one monotonic clock.

    ``last_send``: when its last frame went; ``first_waiting``: when the oldest item now waiting for it was
    queued. After a quiet interval the item goes at once (a calm feed gets no added delay). Otherwise when
    that oldest item has waited one interval (aimed ``early`` by a timer's lateness, so it waits about an
    interval, no more), and never sooner than one interval after the last frame. So frames are at least an
    interval apart, no item waits much longer than an interval (the bound a board's refresh rate sets), and a
    frame holds everything that came in its interval: with 300 events a second at random moments and a 40 ms
    interval, ~23 frames a second where "one frame an interval after the last" sends ~25, with the same p99
    wait (measured: docs/ui.md, round 10).
    """
    if first_waiting >= last_send + interval:
        return first_waiting
    return max(first_waiting + interval - early, last_send + interval)


def encode(frame: BaseModel) -> bytes:
    return frame.model_dump_json().encode()


def encode_batch(first_seq: int, seq: int, server_time: float, events_json: list[bytes]) -> bytes:
    """A batch frame from events already serialised once (the server shares them between clients)."""
    head = b'{"type":"batch","first_seq":%d,"seq":%d,"server_time":%s,"events":[' % (
        first_seq, seq, json.dumps(server_time).encode())
    return head + b",".join(events_json) + b"]}"


BATCH_OVERHEAD_BYTES = 120  # upper bound of encode_batch's envelope around the events


# ---------------------------------------------------------------------------------------------- client side
@dataclass(frozen=True, slots=True)
class DeliverSnapshot:
    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class DeliverEvents:
    events: list[Any]  # raw event objects, to validate one by one
    last_seq: int
    duplicates: int = 0  # events already delivered before (an overlapping batch), dropped


@dataclass(frozen=True, slots=True)
class Resync:
    reason: str


@dataclass(frozen=True, slots=True)
class Incompatible:
    reason: str


@dataclass(frozen=True, slots=True)
class Nothing:
    """Frame understood; nothing to deliver (a heartbeat, a fully duplicate batch)."""

    duplicates: int = 0


Action = DeliverSnapshot | DeliverEvents | Resync | Incompatible | Nothing


class SeqTracker:
    """The client's view of the stream across connections: which feed, which seq was applied last.

    One tracker lives as long as the client. ``client_hello()`` asks to resume where we are; each server
    frame goes through ``on_frame`` which says what to deliver or that the stream must be resynced.
    Invariant: events are delivered exactly once and in seq order, or a fresh snapshot replaces everything.
    """

    def __init__(self) -> None:
        self.feed_id: str | None = None
        self.last_seq: int | None = None  # None: no state, the next connection must bring a snapshot
        self._expect: Literal["hello", "snapshot", "stream"] = "hello"

    @property
    def awaiting_snapshot(self) -> bool:
        """The server announced a snapshot that has not arrived yet."""
        return self._expect == "snapshot"

    def client_hello(self, batch_interval_ms: int | None = None) -> ClientHello:
        self._expect = "hello"
        return ClientHello(protocol=FEED_PROTOCOL, feed_id=self.feed_id, last_seq=self.last_seq,
                           batch_interval_ms=batch_interval_ms)

    def forget(self) -> None:
        """Drop our position: the next connection asks for a snapshot."""
        self.last_seq = None

    def on_frame(self, frame: ServerFrame) -> Action:
        if isinstance(frame, Hello):
            return self._on_hello(frame)
        if isinstance(frame, ErrorFrame):
            return Nothing()  # the close code that follows carries the decision
        if self._expect == "hello":
            return Resync(f"{frame.type} before hello")
        if isinstance(frame, Snapshot):
            self.last_seq = frame.seq
            self._expect = "stream"
            return DeliverSnapshot(frame)
        if self._expect == "snapshot":
            return Resync(f"{frame.type} before the announced snapshot")
        assert self.last_seq is not None
        if isinstance(frame, Heartbeat):
            if frame.seq != self.last_seq:
                return Resync(f"heartbeat at seq {frame.seq}, we hold {self.last_seq}")
            return Nothing()
        # Batch
        n = len(frame.events)
        if frame.seq - frame.first_seq + 1 != n:
            return Resync(f"batch {frame.first_seq}..{frame.seq} holds {n} events")
        if frame.first_seq > self.last_seq + 1:
            return Resync(f"seq gap: expected {self.last_seq + 1}, got {frame.first_seq}")
        if frame.seq <= self.last_seq:
            return Nothing(duplicates=n)
        skip = self.last_seq + 1 - frame.first_seq
        self.last_seq = frame.seq
        return DeliverEvents(frame.events[skip:] if skip else frame.events, frame.seq, skip)

    def _on_hello(self, hello: Hello) -> Action:
        if hello.protocol != FEED_PROTOCOL:
            return Incompatible(f"server speaks protocol {hello.protocol}, we speak {FEED_PROTOCOL}")
        same_feed = hello.feed_id == self.feed_id
        self.feed_id = hello.feed_id
        if not same_feed:
            self.last_seq = None  # a position in another feed means nothing here, even if we drop now
        if hello.resume == "resumed":
            if not same_feed or self.last_seq is None:
                return Resync("server resumed a stream we do not hold")
            self._expect = "stream"
        else:
            self._expect = "snapshot"
        return Nothing()


class ClockOffset:
    """Estimates server clock − local clock from frames' ``server_time``.

    A sample is ``server_time − local receive time`` = offset − transit delay, so it is never above the true
    offset; the largest recent sample (the one that travelled fastest) is the estimate.
    """

    STEP_S = 5.0  # a sample this far below the estimate is a clock step, not a slow frame

    def __init__(self, window: int = 64) -> None:
        self._samples: deque[float] = deque(maxlen=window)
        self.offset_s = 0.0

    def add(self, server_time: float, local_time: float) -> float:
        sample = server_time - local_time
        if not math.isfinite(sample):
            return self.offset_s  # frames are validated; this guards direct callers
        if self._samples and sample < self.offset_s - self.STEP_S:
            # Either clock was stepped (NTP): the old samples describe another offset, and keeping their max
            # would make healthy data look old (stale) until the window rolled over. A frame merely delayed
            # by more than STEP_S costs one low estimate, corrected by the next fast frame.
            self._samples.clear()
        self._samples.append(sample)
        self.offset_s = max(self._samples)
        return self.offset_s

    def reset(self) -> None:
        self._samples.clear()


class Backoff:
    """Capped exponential backoff with full jitter: delay ~ U(0, min(cap, base·2^attempt))."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0, rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * (2.0 ** min(self.attempt, 30)))
        self.attempt += 1
        return self._rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        self.attempt = 0


# ---------------------------------------------------------------------------------------------- status
FeedState = Literal["connecting", "live", "stale", "reconnecting", "auth_failed", "incompatible", "stopped"]


@dataclass(frozen=True)
class FeedStatus:
    """What a feed client tells its sink about the connection (wallboard.feed.client.FeedClient).

    ``retry_in_s``: seconds until the next attempt while waiting (reconnecting, auth_failed, incompatible).
    ``clock_offset_s``: server clock − local clock; figures that tick (longest wait) use local now + offset.
    ``last_data_server_time``: server time of the last frame that proved the data current (batch, snapshot
    or heartbeat); with ``stale_after_s`` it gives the data's age (``data_age``).
    """

    state: str
    detail: str = ""
    retry_in_s: float | None = None
    clock_offset_s: float = 0.0
    last_data_server_time: float | None = None
    stale_after_s: float = DEFAULT_HEARTBEAT_S * STALE_AFTER_HEARTBEATS
    feed_id: str | None = None
    last_seq: int | None = None
    counters: dict[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class DataAge:
    age_s: float | None  # None: no data yet
    stale: bool


def data_age(status: Any, now: float) -> DataAge:
    """Age of the data behind a FeedStatus-like record at local time ``now``, and whether it is stale.

    Stale when there is no data, the connection is not live, or nothing arrived for ``stale_after_s``.
    """
    last = status.last_data_server_time
    if last is None or not math.isfinite(last):
        return DataAge(None, True)
    age = now + status.clock_offset_s - last
    if not math.isfinite(age):  # a non-finite clock offset or now: we cannot tell, so not fresh
        return DataAge(None, True)
    age = max(0.0, age)
    return DataAge(age, status.state != "live" or age > status.stale_after_s)
