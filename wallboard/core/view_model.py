"""What the board shows, as of ``now``: formatted strings, severities, staleness, pages.

Pure: engine figures, the feed's link status and ``now`` go in; plain frozen dataclasses come out.
Widgets only lay out and paint these; every piece of arithmetic (rounding, durations, trends, paging,
data age) lives here or in the engine, so it is tested without Qt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from wallboard.core.board_config import (
    AgentBoardTile,
    AgentStateTile,
    BoardConfig,
    FigureTile,
    PageConfig,
    Thresholds,
)

DASH = "–"  # shown when there is nothing to average yet (the engine reports null)
SPARK_SAMPLE_S = 10.0  # one sparkline point every 10 s
SPARK_POINTS = 360  # 60 minutes
TREND_LOOKBACK = 30  # samples: the trend compares with 5 minutes ago

STATE_ORDER: tuple[str, ...] = (
    "ringing", "available", "on_call", "outbound", "wrap_up", "not_ready", "logged_out"
)
STATE_LABEL: dict[str, str] = {
    "available": "Available", "ringing": "Ringing", "on_call": "On call", "wrap_up": "Wrap-up",
    "not_ready": "Not ready", "outbound": "Outbound", "logged_out": "Logged out",
}
# Short codes printed in every cell: state is never shown by colour alone.
STATE_CODE: dict[str, str] = {
    "available": "AVL", "ringing": "RNG", "on_call": "ON", "wrap_up": "WRP",
    "not_ready": "NR", "outbound": "OUT", "logged_out": "OFF",
}

KIND_TITLE: dict[str, str] = {
    "waiting": "Calls waiting", "longest_wait": "Longest wait", "asa": "Avg speed of answer",
    "aht": "Avg handle time", "service_level": "Service level", "abandoned": "Abandoned",
    "occupancy": "Occupancy", "agent_states": "Agents", "agent_board": "Agents",
}
# Which direction is better, for the colour of the trend mark (None: neither).
UP_IS_GOOD: dict[str, bool | None] = {
    "waiting": False, "longest_wait": False, "asa": False, "aht": None, "service_level": True,
    "abandoned": False, "occupancy": None,
}
# Smallest change that counts as a trend, in the figure's own unit.
TREND_EPSILON: dict[str, float] = {
    "waiting": 1, "longest_wait": 5, "asa": 2, "aht": 5, "service_level": 1, "abandoned": 0.5,
    "occupancy": 1,
}
LIVE_STATES = frozenset({"live"})
FEED_STATE_TEXT: dict[str, str] = {
    "connecting": "Connecting", "live": "Live", "stale": "No data", "reconnecting": "Reconnecting",
    "auth_failed": "Not authorised", "incompatible": "Incompatible feed", "stopped": "Stopped",
    "offline": "Offline render", "replay": "Replay",
}


# ----------------------------------------------------------------------------------------- formatting
def format_duration(seconds: float | None) -> tuple[str, str]:
    """(text, unit) for a duration: ``42 s``, ``1:23 m:ss``, ``1:02:03 h:mm:ss``. Truncates, like a clock."""
    if seconds is None:
        return DASH, ""
    s = int(max(0.0, seconds))
    if s < 60:
        return str(s), "s"
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}", "m:ss"
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}", "h:mm:ss"


def format_clock(seconds: float) -> str:
    """Compact time in state for agent cells: ``0:42``, ``9:05``, ``12m``, ``1h05``, ``3d``.

    Seconds only while they matter (under 10 minutes); longer times change once a minute, which also
    spares thousands of cells a repaint every second.
    """
    s = int(max(0.0, seconds))
    if s < 600:
        return f"{s // 60}:{s % 60:02d}"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}"
    return f"{s // 86400}d"


def format_age(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for "feed lost … ago"."""
    s = int(max(0.0, seconds))
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def format_pct(value: float | None) -> str:
    # Whole percent on a wall; "100" only when it really is 100 (99.6 stays 99, not a rounded-up 100).
    if value is None:
        return DASH
    return str(math.floor(value + 1e-9) if value < 100 else 100)


def format_count(value: int | float | None) -> str:
    return DASH if value is None else f"{int(value):,}".replace(",", "\u2009")  # thin-space thousands


# ----------------------------------------------------------------------------------------- link status
@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The feed connection as the UI knows it (the bridge translates the feed client's FeedStatus).

    Times are on the same clock as ``now`` (the server's clock as estimated by the client):
    ``last_data_at`` is when the last data or heartbeat proved the figures current, ``retry_at`` when the
    next connection attempt is due. ``stale_after_s`` overrides the board config's when the feed knows
    better (it follows the server's heartbeat period).
    """

    state: str = "connecting"
    detail: str = ""
    last_data_at: float | None = None
    retry_at: float | None = None
    stale_after_s: float | None = None


@dataclass(frozen=True, slots=True)
class FeedView:
    state: str
    label: str  # "Live", "Reconnecting in 4 s", ...
    severity: str  # "ok" | "warn" | "alarm"
    age_text: str  # "data 0 s old", "no data yet"
    stale: bool  # every figure is marked when True
    banner: str  # "feed lost 1:23 ago" (empty when not stale)
    detail: str = ""


def feed_view(link: LinkStatus, now: float, stale_after_s: float) -> FeedView:
    age = None if link.last_data_at is None else max(0.0, now - link.last_data_at)
    label = FEED_STATE_TEXT.get(link.state, link.state.replace("_", " ").capitalize())
    if link.state == "reconnecting" and link.retry_at is not None and link.retry_at > now:
        label = f"Reconnecting in {math.ceil(link.retry_at - now)} s"
    limit = link.stale_after_s if link.stale_after_s is not None else stale_after_s
    # An offline render (snapshot) is not a live feed and says so in the strip; it is not stale.
    stale = link.state != "offline" and (link.state not in LIVE_STATES or age is None or age > limit)
    if age is None:
        age_text = "no data yet"
    elif age < 60:  # whole seconds: the strip changes at most once a second
        age_text = f"data {int(age)} s old"
    else:
        age_text = f"data {format_age(age)} old"
    if link.state == "offline":
        banner, severity = "", "ok"
    elif stale and age is not None:
        banner = f"feed lost {format_age(age)} ago"
        severity = "alarm"
    elif stale:
        banner = "waiting for feed" if link.state in ("connecting", "reconnecting") else label.lower()
        severity = "alarm" if link.state in ("auth_failed", "incompatible") else "warn"
    else:
        banner, severity = "", "ok"
    return FeedView(link.state, label, severity, age_text, stale, banner, link.detail)


# ----------------------------------------------------------------------------------------- sparklines
class SparkRing:
    """A fixed ring of samples taken every SPARK_SAMPLE_S seconds (None: no value then)."""

    __slots__ = ("_head", "_last_slot", "_values", "count", "version")

    def __init__(self, size: int = SPARK_POINTS) -> None:
        self._values: list[float | None] = [None] * size
        self._head = 0  # index of the next write
        self.count = 0
        self._last_slot: int | None = None
        self.version = 0

    def due(self, now: float) -> bool:
        """Whether ``now`` is in a new slot (``sample`` would record a value)."""
        return self._last_slot is None or int(now // SPARK_SAMPLE_S) > self._last_slot

    def sample(self, now: float, value: float | None) -> bool:
        """Record ``value`` if ``now`` entered a new slot; gaps (no ticks) are filled with None."""
        slot = int(now // SPARK_SAMPLE_S)
        if self._last_slot is not None and slot <= self._last_slot:
            return False
        gap = 0 if self._last_slot is None else min(slot - self._last_slot - 1, len(self._values))
        for _ in range(gap):
            self._push(None)
        self._push(value)
        self._last_slot = slot
        self.version += 1
        return True

    def _push(self, value: float | None) -> None:
        self._values[self._head] = value
        self._head = (self._head + 1) % len(self._values)
        self.count = min(self.count + 1, len(self._values))

    def values(self) -> list[float | None]:
        """Oldest first, only the filled part."""
        n = len(self._values)
        start = (self._head - self.count) % n
        return [self._values[(start + i) % n] for i in range(self.count)]

    def ago(self, samples: int) -> float | None:
        if samples >= self.count:
            return None
        return self._values[(self._head - 1 - samples) % len(self._values)]


# ----------------------------------------------------------------------------------------- tiles
@dataclass(frozen=True, slots=True)
class TileView:
    kind: str
    title: str
    value: str  # the big figure
    unit: str
    detail: str  # one line under the figure: goal, rate, counts
    severity: str  # "none" | "ok" | "warn" | "alarm"
    severity_text: str  # words for the severity ("below goal"), so colour is never alone
    trend: str | None  # "up" | "down" | "flat" | None
    trend_good: bool | None  # colour of the trend mark: True good, False bad, None neutral
    stale: bool
    stale_text: str
    bar: float | None = None  # service level: 0..1 fill
    bar_goal: float | None = None  # service level: 0..1 goal marker
    spark: SparkRing | None = field(default=None, compare=False)
    spark_version: int = 0
    flash_on: bool = False  # an unacknowledged alert with [alerts] flash: this tick is the bright phase


@dataclass(frozen=True, slots=True)
class StateCount:
    state: str
    label: str
    code: str
    count: int
    text: str  # the count as shown


@dataclass(frozen=True, slots=True)
class AgentStatesView:
    kind: str
    title: str
    counts: tuple[StateCount, ...]
    logged_in: str
    occupancy: str  # "87", DASH when unknown, "" when not shown (a tile for one queue: occupancy is site-wide)
    stale: bool
    stale_text: str


@dataclass(frozen=True, slots=True)
class AgentCell:
    agent_id: str
    name: str
    state: str
    code: str
    reason: str  # reason code, or the state label when none
    time_text: str


@dataclass(frozen=True, slots=True)
class AgentSection:
    title: str  # "On call · 812" ("(cont.)" when it carries over from the previous page)
    state: str | None  # the state when grouped by state (for the header colour), else None
    cells: tuple[AgentCell, ...]
    group: str = ""  # the group's own title ("On call", a team), for section_title with a newer count
    cont: bool = False  # carried over from the previous page


def section_title(group: str, count: int, cont: bool) -> str:
    return f"{group} · {format_count(count)}" + (" (cont.)" if cont else "")


@dataclass(frozen=True, slots=True)
class AgentBoardView:
    kind: str
    title: str
    sections: tuple[AgentSection, ...]
    page: int
    pages: int
    total: int
    page_text: str  # "page 2 of 9 · 5,000 agents"
    stale: bool
    stale_text: str


def tile_title(tile: FigureTile | AgentStateTile | AgentBoardTile, queue_name: str | None,
               rolling_minutes: int) -> str:
    if tile.title:
        return tile.title
    parts = [KIND_TITLE[tile.kind]]
    if queue_name:
        parts.append(queue_name)
    if isinstance(tile, FigureTile) and tile.kind not in ("waiting", "longest_wait"):
        parts.append("today" if tile.window == "today" else f"last {rolling_minutes} min")
    return " · ".join(parts)


def _severity(value: float | None, th: Thresholds | None, lower_is_worse: bool) -> str:
    if value is None or th is None:
        return "none"
    def beyond(limit: float | None) -> bool:
        if limit is None:
            return False
        return value < limit if lower_is_worse else value >= limit
    if beyond(th.alarm):
        return "alarm"
    if beyond(th.warn):
        return "warn"
    return "ok"


def default_thresholds(kind: str, fig: dict[str, Any]) -> Thresholds | None:
    """Severity bands when the config sets none, from the service-level goal in force.

    Service level: warn below the target, alarm 10 points below it. Longest wait and ASA: warn at the
    goal's threshold T, alarm at 2T.
    """
    t, target = fig.get("sl_threshold_s"), fig.get("sl_target_pct")
    if kind == "service_level" and target is not None:
        return Thresholds(warn=target, alarm=max(0.0, target - 10))
    if kind in ("longest_wait", "asa") and t is not None:
        return Thresholds(warn=t, alarm=2 * t)
    return None


# Alert rules (wallboard.core.alerts) by tile: the figure each tile kind shows, and the level names.
KIND_FIGURE: dict[str, str] = {
    "waiting": "waiting", "longest_wait": "longest_wait_s", "asa": "asa_s", "aht": "aht_s",
    "service_level": "service_level_pct", "abandoned": "abandon_rate_pct", "occupancy": "occupancy_pct",
}
ALERT_SEVERITY: dict[str, str] = {"ok": "ok", "none": "none", "warning": "warn", "critical": "alarm"}

_SEVERITY_TEXT = {
    ("service_level", "warn"): "below goal", ("service_level", "alarm"): "well below goal",
    ("longest_wait", "warn"): "over goal", ("longest_wait", "alarm"): "over 2× goal",
    ("asa", "warn"): "over goal", ("asa", "alarm"): "over 2× goal",
}


_FIGURE_KEY = {"waiting": "waiting", "longest_wait": "longest_wait_s", "asa": "asa_s", "aht": "aht_s",
               "service_level": "service_level_pct", "abandoned": "abandon_rate_pct"}


def figure_value(kind: str, fig: dict[str, Any], occupancy: float | None) -> float | None:
    """The number a tile's severity, trend and sparkline follow."""
    if kind == "occupancy":
        return occupancy
    return fig.get(_FIGURE_KEY[kind])


def _trend(kind: str, ring: SparkRing | None, value: float | None) -> str | None:
    if ring is None or value is None:
        return None
    before = ring.ago(TREND_LOOKBACK)
    if before is None:
        return None
    diff = value - before
    if abs(diff) < TREND_EPSILON[kind]:
        return "flat"
    return "up" if diff > 0 else "down"


def figure_tile_view(tile: FigureTile, fig: dict[str, Any] | None, queue_name: str | None,
                     occupancy: float | None, sl_formula_text: str, rolling_minutes: int,
                     feed: FeedView, ring: SparkRing | None,
                     alert: tuple[str, bool] | None = None, flash_on: bool = False) -> TileView:
    """``alert``: (level, acknowledged) of the alert rules covering this tile (wallboard.core.alerts); when
    given, it sets the tile's severity, so the colour follows the rules' hold times and hysteresis."""
    title = tile_title(tile, queue_name, rolling_minutes)
    if fig is None:
        return TileView(tile.kind, title, DASH, "", "no such queue in the feed yet", "none", "", None, None,
                        feed.stale, feed.banner)
    kind = tile.kind
    value = figure_value(kind, fig, occupancy)
    unit, detail = "", ""
    bar = bar_goal = None
    t = fig.get("sl_threshold_s")
    if kind == "waiting":
        text = format_count(value)
        over = fig.get("waiting_over_threshold", 0)
        detail = f"{over} over {t} s" if t is not None and over else "calls in queue"
    elif kind == "longest_wait":
        text, unit = format_duration(value)
        detail = f"goal {t} s" if t is not None else "oldest caller in queue"
        if not fig.get("waiting"):
            text, unit, detail = "0", "s", "no one waiting"
    elif kind == "asa":
        text, unit = format_duration(value)
        detail = f"{format_count(fig.get('answered'))} answered"
    elif kind == "aht":
        text, unit = format_duration(value)
        detail = f"{format_count(fig.get('handled'))} handled"
    elif kind == "service_level":
        text, unit = format_pct(value), "%"
        goal_text = f"goal {format_pct(fig['sl_target_pct'])}% in {t} s" if t is not None else "mixed goals"
        detail = goal_text + (f" · {sl_formula_text}" if tile.show_formula else "")
        # Quantised to 0.1 %: finer steps are below a pixel and would repaint the tile for nothing.
        bar = None if value is None else round(min(1.0, max(0.0, value / 100)), 3)
        target = fig.get("sl_target_pct")
        bar_goal = None if target is None else target / 100
    elif kind == "abandoned":
        text = format_count(fig.get("abandoned"))
        rate = fig.get("abandon_rate_pct")
        rate_text = DASH if rate is None else f"{rate:.1f}"
        detail = f"{rate_text}% of {format_count(fig.get('offered'))} offered"
        short = fig.get("short_abandoned") or 0
        if short:
            detail += f" · {short} short"
    else:  # occupancy
        text, unit = format_pct(value), "%"
        detail = "busy / (busy + available)"
    flash = False
    if alert is not None:  # the alert rules decide (their thresholds, hold times, hysteresis)
        sev = ALERT_SEVERITY[alert[0]]
        flash = flash_on and sev in ("warn", "alarm") and not alert[1]
    else:
        th = tile.thresholds or default_thresholds(kind, fig)
        sev = _severity(value, th, kind in ("service_level", "occupancy"))
        if kind == "longest_wait" and not fig.get("waiting"):
            sev = "ok" if th else "none"
    sev_text = _SEVERITY_TEXT.get((kind, sev), {"warn": "warning", "alarm": "alarm"}.get(sev, ""))
    return TileView(
        kind, title, text, unit, detail, sev, sev_text, _trend(kind, ring, value), UP_IS_GOOD[kind],
        feed.stale, feed.banner, bar, bar_goal,
        ring if tile.sparkline else None, ring.version if ring is not None and tile.sparkline else 0,
        flash,
    )


def agent_states_view(tile: AgentStateTile, figures: dict[str, Any], queue: str | None,
                      queue_name: str | None, rolling_minutes: int, feed: FeedView) -> AgentStatesView:
    agents = figures.get("agents", {})
    by_state = agents.get("by_state", {}) if queue is None else agents.get("by_queue", {}).get(queue, {})
    counts = tuple(StateCount(s, STATE_LABEL[s], STATE_CODE[s], n, format_count(n))
                   for s in STATE_ORDER if s != "logged_out" for n in [int(by_state.get(s, 0))])
    # Occupancy is site-wide (docs/metrics.md): a tile for one queue does not show it ("" = not shown).
    occ = format_pct(agents.get("occupancy_pct", {}).get("rolling")) if queue is None else ""
    return AgentStatesView(
        "agent_states", tile_title(tile, queue_name, rolling_minutes), counts,
        format_count(sum(c.count for c in counts)), occ, feed.stale, feed.banner,
    )


# ----------------------------------------------------------------------------------------- agent board
def paginate(group_sizes: Sequence[int], cols: int, rows: int) -> list[list[tuple[int, int, int]]]:
    """Split groups of cells into pages of ``rows`` x ``cols``; each group slice takes a header row.

    Returns pages of (group index, start, end). A group that does not fit continues on the next page.
    """
    cols, rows = max(1, cols), max(2, rows)
    pages: list[list[tuple[int, int, int]]] = []
    cur: list[tuple[int, int, int]] = []
    used = 0
    for gi, n in enumerate(group_sizes):
        start = 0
        while start < n:
            if used >= rows - 1:  # no room for a header and one row of cells
                pages.append(cur)
                cur, used = [], 0
            used += 1  # header row
            take = min(n - start, (rows - used) * cols)
            cur.append((gi, start, start + take))
            used += -(-take // cols)
            start += take
    if cur:
        pages.append(cur)
    return pages


def agent_row(agent: Any) -> dict[str, Any]:
    """The view model's row for one engine agent (wallboard.core.engine.Agent); ``since`` in seconds."""
    return {"agent_id": agent.agent_id, "name": agent.name or agent.agent_id, "team": agent.team,
            "queues": list(agent.queues), "state": agent.state, "reason": agent.reason,
            "since": agent.since_ms / 1000}


class AgentOrder:
    """Agents grouped, longest in state first. Kept up to date incrementally: an agent whose state
    changed moves to the end of its new group (it is the newest in that state), so a batch costs
    O(changed agents), not a sort of every agent."""

    def __init__(self, group_by: str = "state", queue: str | None = None,
                 include_logged_out: bool = False) -> None:
        self.group_by = group_by
        self.queue = queue
        self.include_logged_out = include_logged_out
        self._groups: dict[str, dict[str, dict[str, Any]]] = {}  # key -> agent_id -> row (order kept)
        self._where: dict[str, str] = {}  # agent_id -> group key
        self.version = 0

    def _key(self, r: dict[str, Any]) -> str | None:
        if not self.include_logged_out and r["state"] == "logged_out":
            return None
        if self.queue is not None and self.queue not in r["queues"]:
            return None
        return r["state"] if self.group_by == "state" else (r.get("team") or "No team")

    def rebuild(self, rows: Iterable[dict[str, Any]]) -> None:
        buckets: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            key = self._key(r)
            if key is not None:
                buckets.setdefault(key, []).append(r)
        self._groups, self._where = {}, {}
        for key, b in buckets.items():
            b.sort(key=lambda r: (r["since"], r["name"]))
            self._groups[key] = {r["agent_id"]: r for r in b}
            for r in b:
                self._where[r["agent_id"]] = key
        self.version += 1

    def update(self, rows: Iterable[dict[str, Any]]) -> None:
        # Oldest change first, so that each moved agent lands at the end of its group in order.
        for r in sorted(rows, key=lambda r: (r["since"], r["name"])):
            aid = r["agent_id"]
            old_key = self._where.get(aid)
            key = self._key(r)
            old = self._groups[old_key].get(aid) if old_key is not None else None
            if old is not None and key == old_key and old["since"] == r["since"]:
                self._groups[key][aid] = r  # same place: name, team or queues changed
                continue
            if old_key is not None:
                del self._groups[old_key][aid]
                del self._where[aid]
            if key is None:
                continue
            group = self._groups.setdefault(key, {})
            last = next(reversed(group.values()), None) if group else None
            group[aid] = r
            self._where[aid] = key
            if last is not None and last["since"] > r["since"]:  # out of order: re-sort this group
                ordered = sorted(group.items(), key=lambda kv: (kv[1]["since"], kv[1]["name"]))
                self._groups[key] = dict(ordered)
        self.version += 1

    @property
    def groups(self) -> list[tuple[str, str | None, dict[str, dict[str, Any]]]]:
        """(title, state or None, rows by agent id in order) per non-empty group, in display order."""
        if self.group_by == "state":
            keys = [s for s in STATE_ORDER if self._groups.get(s)]
            return [(STATE_LABEL[k], k, self._groups[k]) for k in keys]
        return [(k, None, self._groups[k]) for k in sorted(self._groups) if self._groups[k]]

    @property
    def total(self) -> int:
        return len(self._where)


def agent_board_view(tile: AgentBoardTile, order: AgentOrder, cols: int, rows: int, now: float,
                     queue_name: str | None, rolling_minutes: int, feed: FeedView,
                     page: int | None = None) -> AgentBoardView:
    pages = paginate([len(g[2]) for g in order.groups], cols, rows)
    n_pages = max(1, len(pages))
    idx = int(now // tile.page_seconds) % n_pages if page is None else page % n_pages
    sections = []
    for gi, start, end in pages[idx] if pages else []:
        title, state, group = order.groups[gi]
        cells = tuple(
            AgentCell(r["agent_id"], r["name"], r["state"], STATE_CODE.get(r["state"], "?"),
                      r["reason"] or STATE_LABEL.get(r["state"], r["state"]),
                      format_clock(now - r["since"]))
            for r in islice(group.values(), start, end)
        )
        sections.append(AgentSection(section_title(title, len(group), bool(start)), state, cells, title, bool(start)))
    total = order.total
    return AgentBoardView("agent_board", tile_title(tile, queue_name, rolling_minutes), tuple(sections),
                          idx, n_pages, total, page_text(idx, n_pages, total), feed.stale, feed.banner)


def page_text(idx: int, n_pages: int, total: int) -> str:
    text = f"{format_count(total)} agents"
    return f"page {idx + 1} of {n_pages} · {text}" if n_pages > 1 else text


def patch_agent_board_view(view: AgentBoardView, rows: dict[str, dict[str, Any]], changed: set[str] | None,
                           now: float, group_sizes: dict[str, int] | None = None) -> AgentBoardView:
    """``view`` with the cells of the ``changed`` agents (None: every agent on it, e.g. for the clocks of a
    new second) showing what they do now, where they are; with ``group_sizes`` (group title -> agents now),
    the section headers show the newer counts.

    Between regroupings a state change shows at once in the agent's cell and the cell moves to its new group
    at the next regrouping: cells do not jump about many times a second, and a change costs one cell's
    repaint instead of shifting every cell after it.
    """
    sections = view.sections
    out: list[AgentSection] | None = None
    for si, sec in enumerate(sections):
        cells: list[AgentCell] | None = None
        title = sec.title
        if group_sizes is not None and sec.group:
            title = section_title(sec.group, group_sizes.get(sec.group, 0), sec.cont)
        for ci, cell in enumerate(sec.cells):
            if changed is not None and cell.agent_id not in changed:
                continue
            r = rows.get(cell.agent_id)
            if r is None:
                continue
            new = AgentCell(cell.agent_id, r["name"], r["state"], STATE_CODE.get(r["state"], "?"),
                            r["reason"] or STATE_LABEL.get(r["state"], r["state"]), format_clock(now - r["since"]))
            if new != cell:
                if cells is None:
                    cells = list(sec.cells)
                cells[ci] = new
        if cells is not None or title != sec.title:
            if out is None:
                out = list(sections)
            out[si] = AgentSection(title, sec.state, sec.cells if cells is None else tuple(cells), sec.group,
                                   sec.cont)
    return view if out is None else replace(view, sections=tuple(out))


# ----------------------------------------------------------------------------------------- the board
@dataclass(frozen=True, slots=True)
class TickerView:
    text: str
    level: str  # "info" | "warning" | "critical"


@dataclass(frozen=True, slots=True)
class BoardView:
    at: float
    title: str
    clock_text: str
    page_index: int
    page_count: int
    page_title: str
    feed: FeedView
    tiles: tuple[Any, ...]  # views of the current page's tiles, in config order
    ticker: TickerView | None
    events_applied: int = 0


def page_at(pages: Sequence[PageConfig], default_dwell: float, now: float) -> int:
    """Page shown at ``now`` when rotating (each page for its dwell time, cycling)."""
    dwell = [p.dwell_seconds or default_dwell for p in pages]
    pos = now % sum(dwell)
    for i, d in enumerate(dwell):
        if pos < d:
            return i
        pos -= d
    return len(pages) - 1


class BoardViewModel:
    """Holds what must persist between ticks (sparkline rings, agent order) and builds a BoardView."""

    def __init__(self, config: BoardConfig) -> None:
        self.config = config
        self.queue_filter: str | None = None  # desktop: tiles for "all queues" show this queue instead
        self.pinned_page: int | None = None  # desktop: stop rotation on this page
        self.rings: dict[tuple[str, str | None, str], SparkRing] = {}
        self._orders: dict[tuple[int, int], AgentOrder] = {}
        self._agent_rows: dict[str, dict[str, Any]] = {}
        self._pending_rows: dict[str, dict[str, Any]] = {}  # changed since the orders last took changes
        self.metrics = config.metrics  # the engine's settings in use (the server's, when it sent them)
        self._zone = ZoneInfo(config.metrics.timezone)
        self._clock_text: tuple[tuple[int, ZoneInfo] | None, str] = (None, "")
        self.alerts: Any = None  # wallboard.core.alerts.AlertState: tile severities follow its alerts
        # Called with (figures, now) at the start of every build, before tiles read the alerts: the
        # alert rules see exactly the figures the board shows (wallboard.ui.alert_center).
        self.on_figures: Callable[[dict[str, Any], float], None] | None = None
        # Whether ``on_figures`` will read per-queue figures at ``now`` (the alert rules run a few times a
        # second): see wants_queue_figures.
        self.on_figures_wants_queues: Callable[[float], bool] | None = None
        self._tile_windows = {t.window for p in config.pages for t in p.tiles if isinstance(t, FigureTile)}
        self._windows: tuple[object, tuple[str, ...]] = (None, ())  # (the alert rules, windows_shown)
        self._queue_scoped = any(getattr(t, "queue", None) for p in config.pages for t in p.tiles)
        for p in config.pages:
            for t in p.tiles:
                if isinstance(t, FigureTile):
                    self.rings.setdefault(self._ring_key(t, None), SparkRing())

    def use_metrics_config(self, metrics: Any) -> None:
        """Titles ("last N min") and the clock follow the engine's settings, not only the board file's."""
        self.metrics = metrics
        self._zone = ZoneInfo(metrics.timezone)

    @staticmethod
    def _ring_key(t: FigureTile, queue_filter: str | None) -> tuple[str, str | None, str]:
        return (t.kind, t.queue or queue_filter, t.window)

    def set_queue_filter(self, queue: str | None) -> None:
        self.queue_filter = queue
        self._orders.clear()
        self._pending_rows = {}

    def windows_shown(self) -> tuple[str, ...]:
        """The windows ("today", "rolling") a build reads: its figure tiles' on every page (the sparklines
        sample every page) and the alert rules'; the engine may leave the others out
        (MetricsEngine.figures(windows=...))."""
        rules = getattr(self.alerts, "rules", ())
        if self._windows[0] is not rules:
            wanted = self._tile_windows | {r.window for r in rules}
            self._windows = (rules, tuple(w for w in ("today", "rolling") if w in wanted))
        return self._windows[1]

    def wants_queue_figures(self, now: float) -> bool:
        """Whether a build at ``now`` reads figures per queue (a tile or sparkline for one queue, a queue
        filter, the alert rules); if not, the engine may leave them out (MetricsEngine.figures(queues=False))."""
        if self.queue_filter is not None or self._queue_scoped:
            return True
        return self.on_figures_wants_queues is not None and self.on_figures_wants_queues(now)

    def set_agents(self, rows: list[dict[str, Any]]) -> None:
        """All agents (rows as from ``agent_row``), e.g. after a snapshot: every order is rebuilt."""
        self._agent_rows = {r["agent_id"]: r for r in rows}
        self._pending_rows = {}
        for order in self._orders.values():
            order.rebuild(rows)

    def update_agents(self, rows: list[dict[str, Any]]) -> None:
        """Only the agents that changed since the last call. The orders take them when next read (a regroup,
        the headers' counts each second): a busy floor changes agents at every refresh, a board reads its
        order once a second at most, and a second's changes sort once (AgentOrder.update)."""
        agent_rows, pending = self._agent_rows, self._pending_rows
        for r in rows:
            agent_rows[r["agent_id"]] = pending[r["agent_id"]] = r

    def _order(self, key: tuple[int, int], tile: AgentBoardTile) -> AgentOrder:
        if self._pending_rows:
            rows = list(self._pending_rows.values())
            self._pending_rows = {}
            for o in self._orders.values():
                o.update(rows)
        order = self._orders.get(key)
        if order is None:
            order = AgentOrder(tile.group_by, tile.queue or self.queue_filter, tile.include_logged_out)
            order.rebuild(self._agent_rows.values())
            self._orders[key] = order
        return order

    def sample(self, figures: dict[str, Any], now: float) -> bool:
        """Feed every sparkline ring (all pages); True when a new sample was taken."""
        took = False
        for (kind, queue, window), ring in self.rings.items():
            if not ring.due(now):  # a sample a minute, refreshes many times a second
                continue
            fig = self._window_fig(figures, queue, window)
            occ = figures.get("agents", {}).get("occupancy_pct", {}).get(window)
            value = None if fig is None else figure_value(kind, fig, occ)
            took = ring.sample(now, value) or took
        return took

    @staticmethod
    def _window_fig(figures: dict[str, Any], queue: str | None, window: str) -> dict[str, Any] | None:
        if queue is None:
            return figures["total"][window]
        q = figures["queues"].get(queue)
        return None if q is None else q[window]

    def current_page(self, now: float) -> int:
        pages = self.config.pages
        if self.pinned_page is not None:
            return self.pinned_page % len(pages)
        return page_at(pages, self.config.rotate_seconds, now)

    def build(self, figures: dict[str, Any], link: LinkStatus, now: float,
              agent_grid: dict[int, tuple[int, int]] | None = None, *, page: int | None = None,
              events_applied: int = 0, keep_agent_views: dict[int, Any] | None = None,
              changed_agents: set[str] | None = None, retime_agents: bool = False) -> BoardView:
        """The view of page ``page`` (default: the rotation's page at ``now``).

        ``agent_grid`` maps a tile index to the (cols, rows) of cells its widget can show.
        ``keep_agent_views``: agent board views (by tile index) to keep in their grouping and order, unless
        the feed's staleness changed, with the cells of ``changed_agents`` updated in place
        (``patch_agent_board_view``), or with ``retime_agents`` every cell (its clock: a new second) and the
        section headers' counts; the caller regroups by passing none (new agent page, new second on a board
        that fits on one page, resize).
        """
        cfg = self.config
        if self.on_figures is not None:
            self.on_figures(figures, now)
        feed = feed_view(link, now, cfg.feed.stale_after_s)
        idx = self.current_page(now) if page is None else page % len(cfg.pages)
        pc = cfg.pages[idx]
        rolling = self.metrics.rolling_minutes
        queues = figures.get("queues", {})
        views: list[Any] = []
        for ti, t in enumerate(pc.tiles):
            # Occupancy is site-wide (docs/metrics.md): a queue on its tile would be a false title.
            queue = None if getattr(t, "kind", None) == "occupancy" else (t.queue or self.queue_filter)
            qname = (queues.get(queue, {}).get("name") or queue) if queue else None
            if isinstance(t, FigureTile):
                key = self._ring_key(t, self.queue_filter)
                ring = self.rings.get(key)
                if ring is None:  # queue filter changed: start a ring for the new scope
                    ring = self.rings[key] = SparkRing()
                fig = self._window_fig(figures, queue, t.window)
                occ = figures.get("agents", {}).get("occupancy_pct", {}).get(t.window)
                alert = None
                if self.alerts is not None:
                    alert = self.alerts.alert_of(KIND_FIGURE[t.kind], queue or "all", t.window)
                views.append(figure_tile_view(t, fig, qname, occ, figures.get("sl_formula_text", ""),
                                              rolling, feed, ring, alert,
                                              cfg.alerts.flash and int(now) % 2 == 0))
            elif isinstance(t, AgentStateTile):
                views.append(agent_states_view(t, figures, queue, qname, rolling, feed))
            else:
                kept = (keep_agent_views or {}).get(ti)
                if kept is not None and kept.stale == feed.stale and kept.stale_text == feed.banner:
                    if retime_agents:  # the clocks' new second, with the headers' and the total's counts
                        order = self._order((idx, ti), t)
                        sizes = {title: len(group) for title, _state, group in order.groups}
                        view = patch_agent_board_view(kept, self._agent_rows, None, now, sizes)
                        if order.total != view.total:
                            view = replace(view, total=order.total,
                                           page_text=page_text(view.page, view.pages, order.total))
                        views.append(view)
                    else:
                        views.append(patch_agent_board_view(kept, self._agent_rows, changed_agents, now)
                                     if changed_agents else kept)
                    continue
                cols, rows = (agent_grid or {}).get(ti, (8, 6))
                views.append(agent_board_view(t, self._order((idx, ti), t), cols, rows, now, qname,
                                              rolling, feed))
        ticker = self._ticker(figures, now)
        second = math.floor(now)
        if self._clock_text[0] != (second, self._zone):  # the clock changes once a second, refreshes are many
            self._clock_text = ((second, self._zone),
                                datetime.fromtimestamp(second, UTC).astimezone(self._zone).strftime("%H:%M:%S"))
        clock = self._clock_text[1]
        return BoardView(now, cfg.title, clock, idx, len(cfg.pages), pc.title, feed, tuple(views), ticker,
                         events_applied)

    def _ticker(self, figures: dict[str, Any], now: float) -> TickerView | None:
        tc = self.config.ticker
        items: list[TickerView] = []
        if tc.show_broadcasts:
            for b in reversed(figures.get("broadcasts", [])):  # newest first
                items.append(TickerView(b["text"], b.get("level", "info")))
        items.extend(TickerView(m, "info") for m in tc.messages)
        if not items:
            return None
        critical = [i for i in items if i.level == "critical"]
        if critical:  # a critical broadcast stays up until it expires
            return critical[0]
        return items[int(now // tc.seconds_per_message) % len(items)]
