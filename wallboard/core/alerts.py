"""Threshold alerts on the engine's figures: rules, and a pure, deterministic rule engine.

``evaluate(figures, state, now)`` compares each rule's figure with its levels and returns the transitions
(raised, escalated, cleared) since the last call; ``acknowledge(state, key, now)`` silences one alert.
No clock, no I/O: time comes in as ``now``, so timelines are tested by hand (tests/test_alerts_*.py).

How one alert moves (docs/alerts.md):
- It is *raised* when the figure has been beyond a level (warning or critical) for ``raise_after_s``
  without a break. A value that dips back before then restarts the count: a single long call does not page.
- While raised it stays up until the figure passes the *clear* level (the hysteresis band between
  warning and clear absorbs values wobbling around the warning level) and has stayed there for
  ``clear_after_s``. Critical stays critical until it clears: the colour does not flicker between the two.
- A warning becomes critical when the figure passes the critical level for ``raise_after_s``, or when
  the warning has lasted ``escalate_after_s`` (escalation).
- Acknowledging silences the alert's sound until it clears and raises again; an escalation re-sounds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Level = Literal["ok", "warning", "critical"]
LEVEL_RANK: dict[str, int] = {"ok": 0, "warning": 1, "critical": 2}
# Figures an alert rule can watch: the engine's per-window figures, and occupancy (all queues only).
AlertFigure = Literal[
    "waiting", "longest_wait_s", "waiting_over_threshold", "asa_s", "ata_s", "aht_s",
    "service_level_pct", "abandon_rate_pct", "abandoned", "short_abandoned", "offered", "answered",
    "occupancy_pct",
]
# Figures that are the same in both windows (they describe the queue right now).
INSTANT_FIGURES = frozenset({"waiting", "longest_wait_s", "waiting_over_threshold"})
# What "goal" means in a level: the service-level target for percentages, the threshold T for times.
GOAL_BASIS: dict[str, str] = {
    "service_level_pct": "sl_target_pct", "longest_wait_s": "sl_threshold_s", "asa_s": "sl_threshold_s",
    "ata_s": "sl_threshold_s",
}
FIGURE_LABEL: dict[str, str] = {
    "waiting": "calls waiting", "longest_wait_s": "longest wait",
    "waiting_over_threshold": "waiting over goal",
    "asa_s": "ASA", "ata_s": "ATA", "aht_s": "AHT", "service_level_pct": "service level",
    "abandon_rate_pct": "abandon rate", "abandoned": "abandoned", "short_abandoned": "short abandons",
    "offered": "offered", "answered": "answered", "occupancy_pct": "occupancy",
}
EACH_QUEUE = "*"  # a rule for every queue in the feed
ALL_QUEUES = "all"  # a rule on the all-queues total
_GOAL_RE = re.compile(r"^\s*goal\s*(?:([*+-])\s*(\d+(?:\.\d+)?))?\s*$")

LevelValue = float | str  # a number, or "goal", "goal*2", "goal-10", "goal+5"


def _check_level(value: LevelValue | None) -> LevelValue | None:
    if isinstance(value, str) and not _GOAL_RE.match(value):
        raise ValueError(f"a level is a number or goal, goal*N, goal+N, goal-N; got {value!r}")
    return value


def resolve_level(value: LevelValue | None, goal: float | None) -> float | None:
    """A level's number; None when it is relative to a goal that is not known (e.g. mixed goals)."""
    if value is None or isinstance(value, int | float):
        return value
    parsed = _goal_level(value)
    if parsed is None or goal is None:
        return None
    op, num = parsed
    if op == "*":
        return goal * num
    if op == "+":
        return goal + num
    if op == "-":
        return goal - num
    return goal


@lru_cache(maxsize=256)
def _goal_level(value: str) -> tuple[str, float] | None:
    """("*" | "+" | "-" | "", N) of a goal-relative level (parsed once: rules are evaluated many times)."""
    m = _GOAL_RE.match(value)
    return None if m is None else (m.group(1) or "", float(m.group(2) or 0))


class AlertRule(BaseModel):
    """One rule; with ``queue = "*"`` it stands for one alert per queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = Field(None, min_length=1, max_length=80)  # default: from figure and direction
    figure: AlertFigure
    queue: str = EACH_QUEUE  # a queue id, "*" (each queue) or "all" (all queues together)
    window: Literal["today", "rolling"] = "today"
    direction: Literal["above", "below"] = "above"
    warning: LevelValue | None = None
    critical: LevelValue | None = None
    clear: LevelValue | None = None  # default: the warning (or critical) level itself, no band
    raise_after_s: float = Field(30.0, ge=0, le=86400)
    clear_after_s: float = Field(10.0, ge=0, le=86400)
    escalate_after_s: float | None = Field(None, gt=0, le=86400)
    # The rule waits for this many offered calls in its window: 2 of 3 calls is not a service level.
    min_offered: int = Field(0, ge=0, le=100000)
    sound: bool = True

    @field_validator("warning", "critical", "clear")
    @classmethod
    def _level_syntax(cls, value: LevelValue | None) -> LevelValue | None:
        return _check_level(value)

    @model_validator(mode="after")
    def _consistent(self) -> AlertRule:
        if self.warning is None and self.critical is None:
            raise ValueError("a rule needs a warning or a critical level")
        nums = {k: v for k, v in (("clear", self.clear), ("warning", self.warning),
                                  ("critical", self.critical)) if isinstance(v, int | float)}
        order = ["clear", "warning", "critical"]
        if self.direction == "below":
            order.reverse()
        vals = [(k, nums[k]) for k in order if k in nums]
        for (ka, a), (kb, b) in pairwise(vals):
            if a > b or (a == b and "clear" not in (ka, kb)):
                raise ValueError(f"for a rule '{self.direction}', {' < '.join(order)} must hold "
                                 f"(got {ka} = {a:g}, {kb} = {b:g})")
        return self

    @property
    def title(self) -> str:
        if self.name:
            return self.name
        word = "high" if self.direction == "above" else "low"
        return f"{FIGURE_LABEL[self.figure].capitalize()} {word}"


def goal_rules() -> list[AlertRule]:
    """The rules a site gets without writing any: from each queue's service-level goal.

    Service level (today, once 20 calls were offered) under the target: warning; 10 points under:
    critical; clears 2 points above the target. Longest wait over the threshold T for 15 s: warning; over
    2T: critical; clears when it has stayed at or under T/2 for a minute (a queue that empties between
    two slow answers does not page twice).
    """
    return [
        AlertRule(name="Service level under goal", figure="service_level_pct", direction="below",
                  warning="goal", critical="goal-10", clear="goal+2", raise_after_s=60, clear_after_s=60,
                  escalate_after_s=1800, min_offered=20),
        AlertRule(name="Longest wait over goal", figure="longest_wait_s", direction="above",
                  warning="goal", critical="goal*2", clear="goal*0.5", raise_after_s=15, clear_after_s=60,
                  escalate_after_s=900),
    ]


# ------------------------------------------------------------------------------------------- state
AlertKey = tuple[int, str]  # (rule index, scope: queue id or "all")


@dataclass(slots=True)
class Track:
    """What the engine remembers about one (rule, scope)."""

    level: str = "ok"  # raised level
    since: float | None = None  # when it was raised
    level_since: float | None = None  # when it reached its current level
    pending: str = "ok"  # the level the figure is beyond right now (not yet raised)
    pending_since: float | None = None  # beyond warning (or critical) since
    crit_since: float | None = None  # beyond critical since
    clearing_since: float | None = None
    acknowledged: bool = False
    escalated: bool = False  # critical by time, not by value
    value: float | None = None
    levels: tuple[float | None, float | None, float | None] = (None, None, None)  # warning, critical, clear


@dataclass(frozen=True, slots=True)
class Transition:
    key: AlertKey
    kind: Literal["raised", "escalated", "cleared", "acknowledged"]
    level: str  # the level after the transition ("ok" when cleared)
    previous: str
    rule: str
    figure: str
    queue: str  # queue id or "all"
    queue_name: str
    window: str
    value: float | None
    at: float
    since: float | None  # when the alert was first raised
    text: str


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    key: AlertKey
    level: str
    rule: str
    figure: str
    queue: str
    queue_name: str
    window: str
    value: float | None
    since: float
    level_since: float
    acknowledged: bool
    escalated: bool
    sound: bool
    text: str


@dataclass(slots=True)
class AlertState:
    rules: tuple[AlertRule, ...]
    tracks: dict[AlertKey, Track] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # queue id -> display name (last seen)
    # (figure, scope) -> [(window, track)]: alert_of runs for every tile at every refresh. Rebuilt when
    # evaluate adds a track (tracks are only ever added there); the tracks' levels are read live.
    _index: dict[tuple[str, str], list[tuple[str, Track]]] | None = field(default=None, compare=False,
                                                                          repr=False)

    def with_rules(self, rules: tuple[AlertRule, ...] | list[AlertRule]) -> AlertState:
        """New rules (live config): tracks of unchanged rules (same position and content) carry on."""
        rules = tuple(rules)
        keep = {i for i, r in enumerate(rules) if i < len(self.rules) and self.rules[i] == r}
        tracks = {k: t for k, t in self.tracks.items() if k[0] in keep}
        return AlertState(rules, tracks, dict(self.names))

    def active(self) -> list[ActiveAlert]:
        """Raised alerts, critical first, then oldest first."""
        out = []
        for key, t in self.tracks.items():
            if t.level == "ok" or t.since is None:
                continue
            rule = self.rules[key[0]]
            qname = self.names.get(key[1], key[1])
            out.append(ActiveAlert(key, t.level, rule.title, rule.figure, key[1], qname, rule.window, t.value,
                                   t.since, t.level_since or t.since, t.acknowledged, t.escalated, rule.sound,
                                   _describe(rule, qname, t.value, t.level, t.escalated, t.levels)))
        out.sort(key=lambda a: (-LEVEL_RANK[a.level], a.since, a.key))
        return out

    def level_of(self, figure: str, queue: str, window: str) -> str | None:
        """The worst raised level of the alerts on this figure/scope/window; None if no rule covers it."""
        found = self.alert_of(figure, queue, window)
        return None if found is None else found[0]

    def alert_of(self, figure: str, queue: str, window: str) -> tuple[str, bool] | None:
        """(level, whether every alert at that level is acknowledged) for a tile; None: no rule covers it.

        The level is "none" (no colour) while the figure has no value for the rule (e.g. too few calls)
        or is beyond a level that has not been held long enough to raise: a tile is green only when its
        rules are satisfied, and amber or red only when an alert is really up.
        """
        index = self._index
        if index is None:
            index = self._index = {}
            for key, t in self.tracks.items():
                rule = self.rules[key[0]]
                index.setdefault((rule.figure, key[1]), []).append((rule.window, t))
        best: str | None = None
        acked = True
        any_window = figure in INSTANT_FIGURES
        for rule_window, t in index.get((figure, queue), ()):
            if not any_window and rule_window != window:
                continue
            level = t.level
            if level == "ok" and (t.value is None or t.pending != "ok"):
                level = "none"
            if best is None or _TILE_RANK[level] > _TILE_RANK[best]:
                best, acked = level, t.acknowledged
            elif level == best:
                acked = acked and t.acknowledged
        return None if best is None else (best, acked)


_TILE_RANK = {"ok": 0, "none": 1, "warning": 2, "critical": 3}


def _fmt(figure: str, value: float | None) -> str:
    if value is None:
        return "–"
    if figure.endswith("_pct"):
        return f"{value:.0f}%"
    if figure.endswith("_s"):
        s = int(value)
        return f"{s} s" if s < 60 else f"{s // 60}:{s % 60:02d} min"
    return f"{value:g}"


def _describe(rule: AlertRule, queue_name: str, value: float | None, level: str, escalated: bool,
              levels: tuple[float | None, float | None, float | None]) -> str:
    if level == "ok":
        return f"{queue_name}: {FIGURE_LABEL[rule.figure]} back to {_fmt(rule.figure, value)}"
    limit = levels[1] if level == "critical" and not escalated and levels[1] is not None else levels[0]
    word = "over" if rule.direction == "above" else "under"
    text = f"{queue_name}: {FIGURE_LABEL[rule.figure]} {_fmt(rule.figure, value)}"
    if limit is not None:
        text += f" ({word} {_fmt(rule.figure, limit)})"
    if escalated:
        text += ", not resolved in time"
    return text


# ------------------------------------------------------------------------------------------- engine
def _scopes(rule: AlertRule, figures: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None, str]]:
    """(scope, window figures, display name) for each alert a rule stands for."""
    queues = figures.get("queues", {})
    if rule.queue == ALL_QUEUES:
        return [(ALL_QUEUES, figures.get("total", {}).get(rule.window), "All queues")]
    if rule.queue == EACH_QUEUE:
        return [(q, v.get(rule.window), v.get("name") or q) for q, v in sorted(queues.items())]
    q = queues.get(rule.queue)
    return [(rule.queue, None if q is None else q.get(rule.window), (q or {}).get("name") or rule.queue)]


def _value(rule: AlertRule, fig: dict[str, Any] | None, figures: dict[str, Any]) -> float | None:
    if rule.figure == "occupancy_pct":
        return figures.get("agents", {}).get("occupancy_pct", {}).get(rule.window)
    if fig is None or (rule.min_offered and (fig.get("offered") or 0) < rule.min_offered):
        return None
    return fig.get(rule.figure)


def _beyond(rule: AlertRule, value: float, limit: float | None) -> bool:
    if limit is None:
        return False
    return value > limit if rule.direction == "above" else value < limit


def _past_clear(rule: AlertRule, value: float, clear: float) -> bool:
    return value <= clear if rule.direction == "above" else value >= clear


def evaluate(figures: dict[str, Any], state: AlertState, now: float) -> list[Transition]:
    """Advance every alert to ``now`` with these figures; returns what changed (the state is updated).

    Call it whenever figures change or at least once a second; ``raise_after_s`` and the other times are
    measured between calls, so they are as exact as the calling rate.
    """
    out: list[Transition] = []
    for ri, rule in enumerate(state.rules):
        for scope, fig, name in _scopes(rule, figures):
            state.names[scope] = name
            key = (ri, scope)
            track = state.tracks.get(key)
            if track is None:
                track = state.tracks[key] = Track()
                state._index = None
            goal_field = GOAL_BASIS.get(rule.figure)
            goal = None if fig is None or goal_field is None else fig.get(goal_field)
            warn = resolve_level(rule.warning, goal)
            crit = resolve_level(rule.critical, goal)
            clear = resolve_level(rule.clear, goal)
            if clear is None:
                clear = warn if warn is not None else crit
            track.levels = (warn, crit, clear)
            value = _value(rule, fig, figures)
            track.value = value
            out.extend(_step(rule, key, track, value, warn, crit, clear, now, name))
    return out


def _step(rule: AlertRule, key: AlertKey, t: Track, value: float | None, warn: float | None,
          crit: float | None, clear: float | None, now: float, name: str) -> list[Transition]:
    out: list[Transition] = []

    def emit(kind: str, previous: str) -> None:
        out.append(Transition(key, kind, t.level, previous, rule.title, rule.figure, key[1], name,
                              rule.window, value, now, t.since,
                              _describe(rule, name, value, t.level, t.escalated, (warn, crit, clear))))

    # The level the figure is beyond now (None value: no data, e.g. no calls yet: beyond nothing).
    raw = "ok"
    if value is not None:
        if _beyond(rule, value, crit):
            raw = "critical"
        elif _beyond(rule, value, warn):
            raw = "warning"
    # How long the figure has been beyond each level without a break (a dip restarts the count).
    if raw == "ok":
        t.pending_since = None
    elif t.pending_since is None:
        t.pending_since = now
    if raw == "critical":
        t.crit_since = now if t.crit_since is None else t.crit_since
    else:
        t.crit_since = None
    t.pending = raw
    held = -1.0 if t.pending_since is None else now - t.pending_since
    crit_held = -1.0 if t.crit_since is None else now - t.crit_since

    if t.level == "ok":
        if raw == "critical" and crit_held >= rule.raise_after_s:
            t.level, t.since, t.level_since, t.acknowledged, t.escalated = "critical", now, now, False, False
            emit("raised", "ok")
        elif raw != "ok" and held >= rule.raise_after_s:
            t.level, t.since, t.level_since, t.acknowledged, t.escalated = "warning", now, now, False, False
            emit("raised", "ok")
        t.clearing_since = None
        return out

    # Raised: clear only past the clear level, held for clear_after_s.
    if value is not None and clear is not None and _past_clear(rule, value, clear):
        if t.clearing_since is None:
            t.clearing_since = now
        if now - t.clearing_since >= rule.clear_after_s:
            previous = t.level
            t.level, t.level_since, t.escalated = "ok", now, False
            emit("cleared", previous)
            t.since, t.acknowledged, t.clearing_since = None, False, None
        return out
    t.clearing_since = None
    if t.level == "warning":
        by_value = raw == "critical" and crit_held >= rule.raise_after_s
        by_time = (rule.escalate_after_s is not None and t.since is not None
                   and now - t.since >= rule.escalate_after_s)
        if by_value or by_time:
            t.level, t.level_since, t.escalated, t.acknowledged = "critical", now, not by_value, False
            emit("escalated", "warning")
    return out


def acknowledge(state: AlertState, key: AlertKey, now: float) -> Transition | None:
    """Acknowledge a raised alert (silences its sound until it clears and is raised again)."""
    t = state.tracks.get(key)
    if t is None or t.level == "ok" or t.acknowledged:
        return None
    t.acknowledged = True
    rule = state.rules[key[0]]
    name = state.names.get(key[1], key[1])
    return Transition(key, "acknowledged", t.level, t.level, rule.title, rule.figure, key[1], name,
                      rule.window, t.value, now, t.since, f"{name}: {FIGURE_LABEL[rule.figure]} acknowledged")


def new_state(rules: list[AlertRule] | tuple[AlertRule, ...]) -> AlertState:
    return AlertState(tuple(rules))
