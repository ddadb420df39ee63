"""Wire models for ACD events (docs/protocol.md, version 1).

Every event source speaks this vocabulary. Parsing never raises on bad input: a rejected message
is returned as a :class:`Rejected` with a reason, and it changes no figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass as wire_model

PROTOCOL_VERSION = 1

AgentStateName = Literal[
    "logged_out", "available", "ringing", "on_call", "wrap_up", "not_ready", "outbound"
]
AGENT_STATES: tuple[str, ...] = (
    "available", "ringing", "on_call", "wrap_up", "not_ready", "outbound", "logged_out"
)
Channel = Literal["voice", "chat", "email", "callback"]
DequeueReason = Literal["timeout", "overflow", "transfer", "callback", "other"]
BroadcastLevel = Literal["info", "warning", "critical"]

# Identifiers: non-empty, bounded; numbers from a PBX are accepted and kept as text.
Ident = Annotated[str, Field(min_length=1, max_length=200)]
# Seconds since the Unix epoch (UTC). Finite, non-negative and before 2100: a larger value (e.g. milliseconds
# sent as seconds) is rejected here rather than crashing date arithmetic downstream (found by fuzzing).
MAX_TS = 4_102_444_800.0  # 2100-01-01T00:00:00Z
Timestamp = Annotated[float, Field(ge=0, le=MAX_TS, allow_inf_nan=False)]


# Pydantic dataclasses with slots validate ~3x faster than BaseModel (benchmarks/engine.py) and keep
# typed attribute access. Keyword-only so that every field can be named in any order.
_WIRE = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


_event = wire_model(config=_WIRE, frozen=True, slots=True, kw_only=True)


@_event
class _Event:
    ts: Timestamp


@_event
class CallQueued(_Event):
    type: Literal["call_queued"] = "call_queued"
    call_id: Ident
    queue: Ident
    priority: int = 0
    channel: Channel = "voice"
    caller: Annotated[str, Field(max_length=200)] | None = None


@_event
class CallAnswered(_Event):
    type: Literal["call_answered"] = "call_answered"
    call_id: Ident
    queue: Ident
    agent_id: Ident


@_event
class CallHeld(_Event):
    type: Literal["call_held"] = "call_held"
    call_id: Ident
    agent_id: Ident


@_event
class CallRetrieved(_Event):
    type: Literal["call_retrieved"] = "call_retrieved"
    call_id: Ident
    agent_id: Ident


@_event
class CallEnded(_Event):
    type: Literal["call_ended"] = "call_ended"
    call_id: Ident
    agent_id: Ident


@_event
class CallAbandoned(_Event):
    type: Literal["call_abandoned"] = "call_abandoned"
    call_id: Ident
    queue: Ident


@_event
class CallDequeued(_Event):
    type: Literal["call_dequeued"] = "call_dequeued"
    call_id: Ident
    queue: Ident
    reason: DequeueReason = "other"


@_event
class AgentState(_Event):
    type: Literal["agent_state"] = "agent_state"
    agent_id: Ident
    state: AgentStateName
    reason: Annotated[str, Field(max_length=200)] | None = None
    name: Annotated[str, Field(max_length=200)] | None = None
    team: Annotated[str, Field(max_length=200)] | None = None
    queues: list[Ident] | None = None


@_event
class QueueInfo(_Event):
    type: Literal["queue_info"] = "queue_info"
    queue: Ident
    name: Annotated[str, Field(max_length=200)]
    sl_threshold_s: Annotated[int, Field(ge=1, le=3600)] | None = None
    sl_target_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None


@_event
class Broadcast(_Event):
    type: Literal["broadcast"] = "broadcast"
    text: Annotated[str, Field(min_length=1, max_length=2000)]
    level: BroadcastLevel = "info"
    expires: Timestamp | None = None


Event = Annotated[
    CallQueued | CallAnswered | CallHeld | CallRetrieved | CallEnded | CallAbandoned | CallDequeued
    | AgentState | QueueInfo | Broadcast,
    Field(discriminator="type"),
]
EVENT_TYPES: dict[str, type] = {
    m.__dataclass_fields__["type"].default: m  # type: ignore[attr-defined]
    for m in (CallQueued, CallAnswered, CallHeld, CallRetrieved, CallEnded, CallAbandoned,
              CallDequeued, AgentState, QueueInfo, Broadcast)
}

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_LIST_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that was not applied. ``kind`` is ``unknown_type`` (skipped by design) or ``invalid``."""

    line: int | None
    kind: Literal["unknown_type", "invalid"]
    reason: str

    def describe(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.kind}: {self.reason}"


def _reason(exc: ValidationError) -> tuple[Literal["unknown_type", "invalid"], str]:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0] if errors else {"type": "?", "msg": str(exc), "loc": ()}
    if first["type"] == "union_tag_invalid":
        return "unknown_type", f"unknown event type {first.get('ctx', {}).get('tag')!r}"
    if first["type"] == "union_tag_not_found":
        return "invalid", "missing field 'type'"
    loc = ".".join(str(p) for p in first["loc"][1:] if p is not None) or "message"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return "invalid", f"{loc}: {first['msg']}{more}"


def parse_event(raw: str | bytes, line: int | None = None) -> Event | Rejected:
    """Parse one JSON event. Never raises for bad input."""
    try:
        return EVENT_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        kind, reason = _reason(exc)
        return Rejected(line, kind, reason)
    except (ValueError, TypeError) as exc:  # pragma: no cover - pydantic wraps nearly everything
        return Rejected(line, "invalid", str(exc))


def parse_event_obj(obj: object, line: int | None = None) -> Event | Rejected:
    """Validate an already-decoded JSON value (e.g. one element of a batch frame)."""
    try:
        return EVENT_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        kind, reason = _reason(exc)
        return Rejected(line, kind, reason)


@dataclass(slots=True)
class ParsedBatch:
    events: list[Event]
    rejected: list[Rejected]


def parse_batch(objs: Iterable[object]) -> ParsedBatch:
    """Validate decoded events one by one; good ones are kept in order, bad ones reported."""
    objs = list(objs)
    try:
        return ParsedBatch(EVENT_LIST_ADAPTER.validate_python(objs), [])
    except ValidationError:
        pass
    out = ParsedBatch([], [])
    for i, obj in enumerate(objs):
        parsed = parse_event_obj(obj, i)
        (out.rejected if isinstance(parsed, Rejected) else out.events).append(parsed)
    return out


def parse_lines(lines: Iterable[bytes | str], first_line: int = 1) -> ParsedBatch:
    """Parse JSON Lines. Blank lines are skipped; line numbers are 1-based.

    The fast path validates a whole chunk as one JSON array (one call into pydantic-core; line ends are
    JSON whitespace, so lines are joined as they are); on any error it falls back to line-by-line so that
    each rejection names its line.
    """
    lines = lines if isinstance(lines, list) else list(lines)
    try:  # the common case, bytes lines from a file: no per-line Python work at all
        events = EVENT_LIST_ADAPTER.validate_json(b"[" + b",".join(lines) + b"]")  # type: ignore[arg-type]
        # A line holding two comma-separated objects would parse here but not on its own.
        if len(events) == len(lines):
            return ParsedBatch(events, [])
    except (ValidationError, TypeError):  # a bad or blank line, or str lines: the careful path
        pass
    raw = [line.encode() if isinstance(line, str) else line for line in lines]
    body = [b for b in raw if b and not b.isspace()]
    if not body:
        return ParsedBatch([], [])
    try:
        events = EVENT_LIST_ADAPTER.validate_json(b"[" + b",".join(body) + b"]")
        if len(events) == len(body):
            return ParsedBatch(events, [])
    except ValidationError:
        pass
    out = ParsedBatch([], [])
    for n, b in enumerate(raw, first_line):
        if b and not b.isspace():
            parsed = parse_event(b, n)
            (out.rejected if isinstance(parsed, Rejected) else out.events).append(parsed)
    return out


def dump_event(event: Event) -> str:
    """Serialise one event as compact JSON (no absent optional fields)."""
    return EVENT_ADAPTER.dump_json(event, exclude_none=True).decode()


def event_to_dict(event: Event) -> dict:
    return EVENT_ADAPTER.dump_python(event, mode="json", exclude_none=True)
