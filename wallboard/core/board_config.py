"""The board's configuration: feed connection, metrics settings, pages of tiles, theme, kiosk options.

Pure pydantic models (no I/O): ``parse_board_config(text)`` takes TOML text that the caller has read.
Every model forbids unknown keys so that a typo in a site's config is an error, not a silent default.
Sections other issues add later (alerts) go next to these as new top-level keys of :class:`BoardConfig`.
"""

from __future__ import annotations

import tomllib
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wallboard.core.alerts import AlertRule, goal_rules
from wallboard.core.metrics_config import MetricsConfig

_STRICT = ConfigDict(extra="forbid", frozen=True)

ThemeName = Literal["dark", "light", "high-contrast"]
THEMES: tuple[str, ...] = ("dark", "light", "high-contrast")
Window = Literal["today", "rolling"]
FigureKind = Literal["waiting", "longest_wait", "asa", "aht", "service_level", "abandoned", "occupancy"]
FIGURE_KINDS: tuple[str, ...] = (
    "waiting", "longest_wait", "asa", "aht", "service_level", "abandoned", "occupancy"
)


class GridPlace(BaseModel):
    """Where an item sits on its page's grid (0-based cell, spans in cells)."""

    model_config = _STRICT
    row: int = Field(0, ge=0, le=63)
    col: int = Field(0, ge=0, le=63)
    row_span: int = Field(1, ge=1, le=64)
    col_span: int = Field(1, ge=1, le=64)


class Thresholds(BaseModel):
    """Severity bands for a figure. For service level and occupancy lower is worse, elsewhere higher."""

    model_config = _STRICT
    warn: float | None = None
    alarm: float | None = None


class FigureTile(GridPlace):
    """One big figure: its kind, the queue it covers (``None``: all queues) and the window."""

    kind: FigureKind
    queue: str | None = None
    window: Window = "today"
    title: str | None = None  # default: derived from kind, queue and window
    sparkline: bool = False  # last 60 minutes
    show_formula: bool = True  # service level: print the formula under the figure
    thresholds: Thresholds | None = None  # default: derived from the queue's service-level goal

    @model_validator(mode="after")
    def _occupancy_is_site_wide(self) -> FigureTile:
        if self.kind == "occupancy" and self.queue is not None:
            # Agents serve several queues; their busy time is not split by queue (docs/metrics.md).
            raise ValueError("occupancy is site-wide: remove `queue` from this tile")
        return self


class AgentStateTile(GridPlace):
    """Counts of agents by state (a summary bar), for one queue or all."""

    kind: Literal["agent_states"]
    queue: str | None = None
    title: str | None = None


class AgentBoardTile(GridPlace):
    """Every agent as a cell, grouped by state or team, longest in state first; pages when it overflows."""

    kind: Literal["agent_board"]
    queue: str | None = None
    group_by: Literal["state", "team"] = "state"
    include_logged_out: bool = False
    page_seconds: float = Field(12.0, ge=2, le=600)  # a page of agents holds its agents (live, in place) this long
    title: str | None = None


TileConfig = Annotated[FigureTile | AgentStateTile | AgentBoardTile, Field(discriminator="kind")]


class PageConfig(BaseModel):
    model_config = _STRICT
    title: str = "Overview"
    rows: int = Field(3, ge=1, le=64)
    cols: int = Field(4, ge=1, le=64)
    dwell_seconds: float | None = Field(None, ge=3, le=3600)  # default: BoardConfig.rotate_seconds
    tiles: list[TileConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _tiles_fit(self) -> PageConfig:
        for i, t in enumerate(self.tiles):
            if t.row + t.row_span > self.rows or t.col + t.col_span > self.cols:
                raise ValueError(
                    f"tile {i} ({t.kind}) at row {t.row}+{t.row_span}, col {t.col}+{t.col_span} "
                    f"does not fit the {self.rows}x{self.cols} grid of page {self.title!r}")
        return self


class FeedSettings(BaseModel):
    model_config = _STRICT
    url: str = "ws://127.0.0.1:8765/"
    token: str | None = None
    token_file: str | None = None  # read at start (and on reload); relative to the config file
    ca_file: str | None = None  # PEM bundle to trust for a wss:// feed with a private CA
    # How to reach the feed: None (default) connects directly, as a feed on the site's LAN wants (the
    # environment's http(s)_proxy is NOT used: it would send LAN traffic to an internet proxy);
    # "system" uses the environment's proxy settings (https_proxy, http_proxy; no_proxy honoured);
    # "http://host:port" or "https://host:port" (user:password@ allowed) names an HTTP CONNECT proxy.
    proxy: str | None = None
    # Figures are marked stale when no data (events or heartbeats) came for this long.
    stale_after_s: float = Field(5.0, ge=1, le=600)

    @field_validator("proxy")
    @classmethod
    def _proxy_usable(cls, v: str | None) -> str | None:
        v = (v or "").strip()
        if not v:
            return None
        problem = proxy_problem(v)
        if problem:
            raise ValueError(problem)
        return v


PROXY_SYSTEM = "system"


def proxy_problem(proxy: str) -> str | None:
    """Why ``proxy`` cannot be used as a feed proxy setting, or None (see FeedSettings.proxy)."""
    if proxy == PROXY_SYSTEM:
        return None
    try:
        u = urlsplit(proxy)
        if u.port == 0:  # (reading the port also checks it: a bad one raises ValueError)
            return "the proxy URL's port is 0"
    except ValueError as exc:
        return f"not a proxy URL ({exc})"
    if u.scheme not in ("http", "https"):
        return (f'"system" or an http:// or https:// proxy URL expected, not {proxy_for_log(proxy)!r} '
                "(SOCKS proxies are not supported)")
    if not u.hostname:
        return "the proxy URL names no host"
    if u.path not in ("", "/") or u.query or u.fragment:
        return "a proxy URL is scheme://host:port, without a path, query or fragment"
    if u.username is not None and u.password is None:
        return "the proxy URL has a user name but no password"
    return None


def proxy_for_log(proxy: str | None) -> str | None:
    """The proxy setting with any password replaced by ***: fit for logs and status text."""
    if not proxy or proxy == PROXY_SYSTEM:
        return proxy
    try:
        u = urlsplit(proxy)
        if u.password is None:
            return proxy
        host = u.hostname or ""
        host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
        netloc = f"{u.username}:***@{host}" + (f":{u.port}" if u.port else "")
    except ValueError:
        return "<unparsable proxy URL>"
    return urlunsplit((u.scheme, netloc, u.path, u.query, u.fragment))


class TickerConfig(BaseModel):
    model_config = _STRICT
    messages: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(default_factory=list)
    seconds_per_message: float = Field(8.0, ge=2, le=600)
    show_broadcasts: bool = True


class KioskConfig(BaseModel):
    model_config = _STRICT
    screen: str | None = None  # QScreen name, or 0-based index as text; None: the primary screen
    hide_cursor: bool = True
    inhibit_screensaver: bool = True
    drift_px: int = Field(4, ge=0, le=40)  # burn-in protection: how far the layout wanders
    drift_every_s: float = Field(180.0, ge=5, le=3600)


class DisplayConfig(BaseModel):
    """How often the board repaints: the trade between latency and CPU (docs/ui.md, "Performance")."""

    model_config = _STRICT
    # Figures: the feed is asked for at most this many frames a second (pacing, docs/protocol.md) and each is
    # shown as it arrives, so an event shows within ~1/max_refresh_hz s plus a few ms (25 Hz: p99 ≈ 45 ms).
    # Lower it on a weak PC: CPU falls about in proportion, latency rises.
    max_refresh_hz: float = Field(25.0, ge=1, le=60)
    # Agent board: changed agents are updated in place at most this often; it regroups once a second.
    agent_refresh_hz: float = Field(25.0, ge=1, le=60)

    @property
    def feed_batch_interval_s(self) -> float:
        """The pacing the board asks of its feed: no more frames than it can show (docs/protocol.md)."""
        return 1 / max(self.max_refresh_hz, self.agent_refresh_hz)


class AlertsConfig(BaseModel):
    """Threshold alerts (docs/alerts.md): rules, the goal-derived defaults, and how they look."""

    model_config = _STRICT
    goal_rules: bool = True  # service level under target, longest wait over T, for every queue
    rules: list[AlertRule] = Field(default_factory=list)
    flash: bool = False  # alert tiles flash (once a second) until acknowledged; off by default
    history_max_kb: int = Field(1024, ge=16, le=1024 * 1024)  # the JSON Lines log rotates at this size
    history_files: int = Field(5, ge=1, le=100)  # rotated files kept

    def all_rules(self) -> list[AlertRule]:
        return (goal_rules() if self.goal_rules else []) + list(self.rules)


class SoundConfig(BaseModel):
    """A sound per severity while an unacknowledged alert is up (docs/alerts.md, "Sound")."""

    model_config = _STRICT
    enabled: bool = True  # false: mute
    warning: str | None = None  # WAV file; default: the bundled resources/sounds/warning.wav
    critical: str | None = None
    repeat_s: float = Field(120.0, ge=0, le=86400)  # 0: once per alert
    player: str | None = None  # command to play a WAV (e.g. "paplay"); default: found per platform


class BoardConfig(BaseModel):
    model_config = _STRICT
    title: str = "Contact centre"
    theme: ThemeName = "dark"
    feed: FeedSettings = FeedSettings()
    metrics: MetricsConfig = MetricsConfig()
    rotate_seconds: float = Field(20.0, ge=3, le=3600)
    pages: list[PageConfig] = Field(default_factory=lambda: default_pages())
    ticker: TickerConfig = TickerConfig()
    kiosk: KioskConfig = KioskConfig()
    display: DisplayConfig = DisplayConfig()
    alerts: AlertsConfig = AlertsConfig()
    sounds: SoundConfig = SoundConfig()


def default_pages(queues: list[str] | None = None) -> list[PageConfig]:
    """The built-in board: all-queue figures and the agent board on one page, optionally a page per queue."""
    overview = PageConfig(
        title="All queues", rows=4, cols=4,
        tiles=[
            FigureTile(kind="waiting", row=0, col=0, sparkline=True),
            FigureTile(kind="longest_wait", row=0, col=1, sparkline=True),
            FigureTile(kind="service_level", row=0, col=2, sparkline=True),
            FigureTile(kind="abandoned", row=0, col=3),
            FigureTile(kind="asa", row=1, col=0),
            FigureTile(kind="aht", row=1, col=1),
            AgentStateTile(kind="agent_states", row=1, col=2, col_span=2),
            AgentBoardTile(kind="agent_board", row=2, col=0, row_span=2, col_span=4),
        ],
    )
    pages = [overview]
    for q in queues or []:
        pages.append(PageConfig(
            title=q, rows=2, cols=4,
            tiles=[
                FigureTile(kind="waiting", queue=q, row=0, col=0, sparkline=True),
                FigureTile(kind="longest_wait", queue=q, row=0, col=1),
                FigureTile(kind="service_level", queue=q, row=0, col=2, sparkline=True),
                FigureTile(kind="abandoned", queue=q, row=0, col=3),
                FigureTile(kind="asa", queue=q, row=1, col=0),
                FigureTile(kind="aht", queue=q, row=1, col=1),
                AgentStateTile(kind="agent_states", queue=q, row=1, col=2, col_span=2),
            ],
        ))
    return pages


class BoardConfigError(ValueError):
    """A config that cannot be used, with a message fit for the person who wrote it."""


def parse_board_config(text: str, source: str = "config") -> BoardConfig:
    """Parse TOML text into a :class:`BoardConfig`; errors name the key and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BoardConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return BoardConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  {loc}: {err['msg']}")
        raise BoardConfigError(f"{source}: invalid board config:\n" + "\n".join(lines)) from exc
