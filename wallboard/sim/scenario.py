"""Scenario files: TOML describing queues, agent teams, incidents and broadcasts (docs/simulator.md).

``load_scenario(path_or_name)`` reads a file, or a shipped scenario by name, and validates it; every problem
is reported as ``ScenarioError`` naming the file and the field ("small.toml: queues.0.rate_per_hour: ...").
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wallboard.core.day_window import TimeZoneName
from wallboard.paths import resource_path
from wallboard.sim.distributions import DISTRIBUTION_KINDS, Distribution, Fixed

Ident = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=200)]
Multiplier = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file and the field."""


def _minutes(value: str) -> str:
    if not _HH_MM.fullmatch(value):
        raise ValueError(f"must be a time of day HH:MM (24 h), got {value!r}")
    return value


TimeOfDay = Annotated[str, Field(description="local time of day, HH:MM")]


def minute_of_day(hh_mm: str) -> int:
    h, m = hh_mm.split(":")
    return int(h) * 60 + int(m)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QueueSpec(_Model):
    id: Ident
    name: Text | None = None
    rate_per_hour: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    # Multipliers of rate_per_hour through the local day: 24 (hourly) or 96 (per 15 min) values, or the
    # name of an entry in the scenario's [profiles] table. None: a flat rate all day.
    profile: str | list[Multiplier] | None = None
    priority: int = 0
    channel: Literal["voice", "chat", "email", "callback"] = "voice"
    sl_threshold_s: Annotated[int, Field(ge=1, le=3600)] = 20
    sl_target_pct: Annotated[float, Field(ge=0, le=100)] = 80.0
    talk: Distribution
    hold_probability: Fraction = 0.0
    hold: Distribution = Fixed(kind="fixed", value=30)
    wrap_up: Distribution = Fixed(kind="fixed", value=0)
    # Caller patience; absent means callers wait forever (Erlang C). Exponential gives Erlang A.
    patience: Distribution | None = None
    # Longest time a call may wait here; then it is dequeued (reason timeout) or overflows.
    timeout_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    overflow_to: Ident | None = None

    @field_validator("profile")
    @classmethod
    def _profile_shape(cls, value: str | list[float] | None) -> str | list[float] | None:
        if isinstance(value, list):
            if len(value) not in (24, 96):
                raise ValueError(f"must have 24 (hourly) or 96 (15-minute) values, got {len(value)}")
            if not any(v > 0 for v in value):
                raise ValueError("must have at least one value > 0")
        return value


class ShiftSpec(_Model):
    start: TimeOfDay
    hours: Annotated[float, Field(gt=0, lt=24)]
    # Each agent's start is spread uniformly over this many minutes after `start` (drawn once per agent).
    stagger_minutes: Annotated[float, Field(ge=0, le=720)] = 0

    @field_validator("start")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        return _minutes(value)


class BreakSpec(_Model):
    after_minutes: Annotated[float, Field(ge=0)]
    duration: Distribution
    reason: Ident = "break"
    jitter_minutes: Annotated[float, Field(ge=0)] = 0


class TeamSpec(_Model):
    name: Ident
    agents: Annotated[int, Field(ge=1, le=1_000_000)]
    queues: Annotated[list[Ident], Field(min_length=1)]  # in order of preference
    shift: ShiftSpec | None = None  # None: logged in for the whole run
    ringing: Distribution = Fixed(kind="fixed", value=0)
    breaks: list[BreakSpec] = Field(default_factory=list)


class SurgeIncident(_Model):
    kind: Literal["surge"]
    at: TimeOfDay
    duration_minutes: Annotated[float, Field(gt=0, le=24 * 60)]
    queues: list[Ident] = Field(default_factory=list)  # empty: every queue
    multiplier: Annotated[float, Field(gt=0, le=100)]
    broadcast: Annotated[str, Field(min_length=1, max_length=2000)] | None = None

    @field_validator("at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        return _minutes(value)


class MeetingIncident(_Model):
    kind: Literal["meeting"]
    at: TimeOfDay
    duration_minutes: Annotated[float, Field(gt=0, le=24 * 60)]
    teams: list[Ident] = Field(default_factory=list)  # empty: every team
    fraction: Fraction = 0.5
    reason: Ident = "meeting"
    broadcast: Annotated[str, Field(min_length=1, max_length=2000)] | None = None

    @field_validator("at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        return _minutes(value)


Incident = Annotated[SurgeIncident | MeetingIncident, Field(discriminator="kind")]


class BroadcastSpec(_Model):
    at: TimeOfDay
    text: Annotated[str, Field(min_length=1, max_length=2000)]
    level: Literal["info", "warning", "critical"] = "info"
    expires_minutes: Annotated[float, Field(gt=0)] | None = None
    every_minutes: Annotated[float, Field(ge=5)] | None = None  # repeat; None: once a day
    until: TimeOfDay | None = None  # last repeat no later than this local time (default: midnight)

    @field_validator("until")
    @classmethod
    def _until_time(cls, value: str | None) -> str | None:
        return None if value is None else _minutes(value)

    @field_validator("at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        return _minutes(value)


class Scenario(_Model):
    name: Ident = "scenario"
    description: str = ""
    timezone: TimeZoneName = "UTC"
    profiles: dict[str, list[Multiplier]] = Field(default_factory=dict)
    queues: Annotated[list[QueueSpec], Field(min_length=1)]
    teams: Annotated[list[TeamSpec], Field(min_length=1)]
    incidents: list[Incident] = Field(default_factory=list)
    broadcasts: list[BroadcastSpec] = Field(default_factory=list)


    @property
    def agent_count(self) -> int:
        return sum(t.agents for t in self.teams)

    def profile_of(self, queue: QueueSpec) -> list[float] | None:
        if isinstance(queue.profile, str):
            return self.profiles[queue.profile]
        return queue.profile


def shipped_scenarios_dir() -> Path:
    """Where the shipped scenarios live (wallboard.paths: source tree, wheel data or PyInstaller bundle)."""
    return resource_path("scenarios")


def shipped_scenarios() -> list[str]:
    return sorted(p.stem for p in shipped_scenarios_dir().glob("*.toml"))


def _resolve(path_or_name: str | Path) -> Path:
    p = Path(path_or_name)
    if p.is_file():
        return p
    if isinstance(path_or_name, str) and re.fullmatch(r"[\w-]+", path_or_name):
        shipped = shipped_scenarios_dir() / f"{path_or_name}.toml"
        if shipped.is_file():
            return shipped
    names = ", ".join(shipped_scenarios()) or "none found"
    raise ScenarioError(f"{path_or_name}: no such scenario file or shipped scenario (shipped: {names})")


_TAGS = (*DISTRIBUTION_KINDS, "surge", "meeting")


def _loc(parts: tuple[Any, ...]) -> str:
    # Pydantic puts the tag of a tagged union in the path (talk.lognormal.sd); the user wrote talk.sd.
    kept = [str(p) for i, p in enumerate(parts)
            if not (i > 0 and isinstance(p, str) and p in _TAGS)]
    return ".".join(kept) or "(file)"


def _message(err: dict[str, Any]) -> str:
    if err["type"] == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} {ctx.get('tag')!r} " \
               f"(expected one of {ctx.get('expected_tags')})"
    if err["type"] == "extra_forbidden":
        return "unknown field"
    return err["msg"]


def parse_scenario(data: dict[str, Any], source: str = "scenario") -> Scenario:
    """Validate decoded TOML. ``source`` (usually the file name) prefixes every error line."""
    data = dict(data)
    data.setdefault("name", Path(source).stem)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {_loc(e['loc'])}: {_message(e)}"
                 for e in exc.errors(include_url=False, include_input=False)]
        raise ScenarioError("\n".join(lines)) from None
    problems = _cross_check(scenario)
    if problems:
        raise ScenarioError("\n".join(f"{source}: {p}" for p in problems))
    return scenario


def _cross_check(s: Scenario) -> list[str]:
    """References between sections, which a per-field validator cannot see."""
    out: list[str] = []
    ids = [q.id for q in s.queues]
    seen: set[str] = set()
    for i, q in enumerate(s.queues):
        if q.id in seen:
            out.append(f"queues.{i}.id: duplicate queue id {q.id!r}")
        seen.add(q.id)
        if isinstance(q.profile, str) and q.profile not in s.profiles:
            out.append(f"queues.{i}.profile: unknown profile {q.profile!r} (defined: {sorted(s.profiles)})")
        if q.overflow_to is not None:
            if q.overflow_to not in ids:
                out.append(f"queues.{i}.overflow_to: unknown queue {q.overflow_to!r}")
            elif q.overflow_to == q.id:
                out.append(f"queues.{i}.overflow_to: a queue cannot overflow into itself")
            if q.timeout_s is None:
                out.append(f"queues.{i}.overflow_to: needs timeout_s (when to overflow)")
    for name, values in s.profiles.items():
        if len(values) not in (24, 96):
            out.append(f"profiles.{name}: must have 24 (hourly) or 96 (15-minute) values, got {len(values)}")
        elif not any(v > 0 for v in values):
            out.append(f"profiles.{name}: must have at least one value > 0")
    served = {q for t in s.teams for q in t.queues}
    for i, q in enumerate(s.queues):
        if q.id not in served:
            out.append(f"queues.{i}: no team serves queue {q.id!r} (list it in a team's queues)")
    teams = [t.name for t in s.teams]
    if len(set(teams)) != len(teams):
        out.append("teams: team names must be unique")
    for i, t in enumerate(s.teams):
        for j, q in enumerate(t.queues):
            if q not in ids:
                out.append(f"teams.{i}.queues.{j}: unknown queue {q!r}")
        if len(set(t.queues)) != len(t.queues):
            out.append(f"teams.{i}.queues: a queue is listed twice")
    for i, inc in enumerate(s.incidents):
        if inc.kind == "surge":
            refs, known, field = inc.queues, ids, "queues"
        else:
            refs, known, field = inc.teams, teams, "teams"
        for j, r in enumerate(refs):
            if r not in known:
                out.append(f"incidents.{i}.{field}.{j}: unknown {field[:-1]} {r!r}")
    return out


def load_scenario(path_or_name: str | Path) -> Scenario:
    """Load a scenario file, or a shipped scenario by name (``small``, ``site``, ``large``, ``stress``)."""
    path = _resolve(path_or_name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path.name}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path.name}: cannot read: {exc}") from None
    return parse_scenario(data, path.name)
