"""Keeps the engine and the view model on the GUI thread and drives repaints.

- The bridge queues snapshots and batches and wakes us once per drain; the wake-up refreshes at once (a
  guard keeps refreshes ``0.5 / display.max_refresh_hz`` apart) and the refresh takes everything queued by
  then, applies it to the engine and shows it. The feed is paced to ``max_refresh_hz`` frames a second
  (``DisplayConfig.feed_batch_interval_s``), so about one frame arrives per refresh and shows as it comes.
- A steady 4 Hz tick fills gaps while data flows (no refresh in the last tick), and refreshes once per
  second when idle (the first tick in each new second), so the longest wait, time in state and data age
  keep moving with no events.
- Each refresh builds a BoardView and hands it to the widgets, which repaint only what changed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from wallboard.core.board_config import BoardConfig
from wallboard.core.engine import MetricsEngine
from wallboard.core.metrics_config import MetricsConfig
from wallboard.core.protocol import AgentState
from wallboard.core.view_model import BoardView, BoardViewModel, LinkStatus, agent_row
from wallboard.ui.board import BoardWidget

log = logging.getLogger("wallboard.ui")

ACTIVE_TICK_MS = 250
ACTIVE_FOR_S = 2.0  # after the last batch, keep the 4 Hz tick this long
# Agent boards regroup (group, order, page) at each new agent page (page_seconds) of a board that pages, at
# each new second on one that fits on one page, and on a new page of tiles or size; in between, each new
# second updates every cell's clock (and the headers' counts), and changed agents are updated in place in
# their cells at most config.display.agent_refresh_hz times a second (default: as often as the figures).
# The agent-state counts are figures: they refresh with them.
AGENT_VIEW_KINDS = ("agent_board",)


def link_from_feed_status(status: Any, now: float) -> LinkStatus:
    """Translate the feed client's FeedStatus (times on the server clock) into the view model's terms."""
    retry = getattr(status, "retry_in_s", None)
    return LinkStatus(
        state=status.state, detail=getattr(status, "detail", ""),
        last_data_at=getattr(status, "last_data_server_time", None),
        retry_at=None if retry is None else now + retry,
        stale_after_s=getattr(status, "stale_after_s", None),
    )


class BoardController(QObject):
    view_applied = Signal(object)  # BoardView, after the widgets have it (repaint follows)
    resync_wanted = Signal()  # a snapshot could not be used: the feed client should fetch another

    def __init__(self, config: BoardConfig, board: BoardWidget, *, engine: MetricsEngine | None = None,
                 clock: Callable[[], float] = time.time,
                 use_server_metrics_config: bool = True) -> None:
        super().__init__()
        self.config = config
        self.board = board
        self.engine = engine or MetricsEngine(config.metrics)
        self.vm = BoardViewModel(config)
        self.link = LinkStatus("connecting")
        self.view: BoardView | None = None
        self._clock = clock
        self._offset = 0.0  # server clock − local clock, from the feed
        self._agents_dirty = True  # all agents: rebuild the order (start, snapshot, queue filter)
        self._changed_agents: set[str] = set()  # agents changed by batches since the last refresh
        self._min_refresh_s = 0.5 / config.display.max_refresh_hz
        self._agent_min_s = 0.5 / config.display.agent_refresh_hz
        self._use_server_cfg = use_server_metrics_config and "metrics" not in config.model_fields_set
        self._last_refresh = 0.0
        self._last_batch = -1e9
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self.refresh)
        self._agent_timer = QTimer(self)  # shows agent changes that a throttled refresh held back
        self._agent_timer.setSingleShot(True)
        self._agent_timer.timeout.connect(self.refresh)
        self._agent_view_at = 0.0  # monotonic time of the last agent board update (regroup or in place)
        self._agent_view_key: tuple | None = None  # _agent_regroup_key of the last regroup
        self._agent_view_second = 0  # the second the agent boards' clocks show
        self._agents_pending: set[str] = set()  # agents changed since the agent boards last showed them
        # One repeating timer (never re-armed, so it cannot be lost): every tick refreshes while data
        # flows; when idle, only the first tick of each new second does, so clocks still step each second.
        self._tick = QTimer(self)
        self._tick.setInterval(ACTIVE_TICK_MS)
        self._tick.timeout.connect(self._on_tick)
        self._last_refresh_second = 0
        self.refreshes = 0
        self.batches = 0
        self.agent_views_built = 0  # refreshes that regrouped the agent boards
        self.agent_views_patched = 0  # refreshes that updated changed agents in place
        self._bridge: Any = None
        self._refreshing = False
        self._unusable: str | None = None  # why the engine cannot be trusted until the next snapshot
        self._feed_id: str | None = None
        self._last_figures: dict[str, Any] | None = None
        self._last_error: str | None = None
        self.dropped_batches = 0  # batches ignored while waiting for a usable snapshot

    # ------------------------------------------------------------------ wiring
    def attach(self, bridge: QObject) -> None:
        """Take the bridge's queued snapshots and batches at each refresh; its wake-up asks for one."""
        q = Qt.ConnectionType.QueuedConnection
        self._bridge = bridge
        bridge.use_queue()  # type: ignore[attr-defined]
        bridge.data_pending.connect(self.request_refresh, q)  # type: ignore[attr-defined]
        bridge.status_changed.connect(self.apply_status, q)  # type: ignore[attr-defined]

    def start(self) -> None:
        self.refresh()
        self._tick.start()

    def stop(self) -> None:
        self._tick.stop()
        self._refresh_timer.stop()
        self._agent_timer.stop()

    def now(self) -> float:
        return self._clock() + self._offset

    def use_engine(self, engine: MetricsEngine) -> None:
        """Show ``engine`` from the next refresh on, its agents regrouped (tests, benchmarks, replays)."""
        self.engine = engine
        self._agents_dirty = True

    # ------------------------------------------------------------------ inputs (GUI thread)
    @Slot(object, int)
    def apply_snapshot(self, snapshot: dict, seq: int) -> None:
        cfg = self.config.metrics
        server_cfg = snapshot.get("metrics_config")
        if self._use_server_cfg and server_cfg:
            try:
                cfg = MetricsConfig.model_validate(server_cfg)
            except ValueError as exc:  # keep ours; the figures may then differ from the server's
                log.warning("server metrics config not usable (%s); using the board's", exc)
        try:
            self.engine = MetricsEngine.restore(snapshot, cfg)
        except (ValueError, KeyError, TypeError) as exc:
            # Never keep showing the old engine as if it were this feed's: mark everything stale and
            # ignore batches until a snapshot that restores.
            log.error("feed snapshot not usable: %s", exc)
            self._unusable = f"feed snapshot not usable: {exc}"
            self.link = replace(self.link, state="incompatible", detail=self._unusable)
            self.request_refresh()
            self.resync_wanted.emit()  # maybe a bad snapshot, not a bad server: ask again (with backoff)
            return
        self._unusable = None
        self.vm.use_metrics_config(cfg)  # titles ("last N min") and the clock follow the engine in use
        self._agents_dirty = True
        self._data_arrived()

    @Slot(object, int)
    def apply_events(self, events: list[Any], last_seq: int) -> None:
        self.batches += 1
        if self._unusable:
            self.dropped_batches += 1
            return
        self.engine.apply_many(events)
        changed = self._changed_agents
        for e in events:
            if type(e) is AgentState:
                changed.add(e.agent_id)
        self._data_arrived()

    @Slot(object)
    def apply_status(self, status: Any) -> None:
        offset = getattr(status, "clock_offset_s", 0.0) or 0.0
        self._offset = offset if math.isfinite(offset) else 0.0
        link = link_from_feed_status(status, self.now())
        feed_id = getattr(status, "feed_id", None)
        if feed_id == self._feed_id:
            # A batch may have arrived after the status was made: keep the newer data time.
            times = [t for t in (link.last_data_at, self.link.last_data_at) if t is not None]
            link = replace(link, last_data_at=max(times) if times else None)
        self._feed_id = feed_id  # a new feed (maybe with an earlier clock): take its data time as it is
        if self._unusable:
            link = replace(link, state="incompatible", detail=self._unusable)
        old, self.link = self.link, link
        # While data flows the client sends a "still live" status every second: nothing on the board changes
        # (batches move the data age), so it waits for the next refresh instead of making one of its own.
        if ((link.state, link.detail, link.retry_at, link.stale_after_s)
                != (old.state, old.detail, old.retry_at, old.stale_after_s)
                or (link.last_data_at or 0.0) - (old.last_data_at or 0.0) >= 1.0):
            self.request_refresh()

    def set_link(self, link: LinkStatus) -> None:
        self.link = link
        self.request_refresh()

    def _data_arrived(self) -> None:
        now = self.now()
        self._last_batch = time.monotonic()
        self.link = replace(self.link, last_data_at=now)
        self.request_refresh()

    def _take_from_bridge(self) -> None:
        if self._bridge is None:
            return
        for kind, payload, seq in self._bridge.take():
            if kind == "snapshot":
                self.apply_snapshot(payload, seq)
            else:
                self.apply_events(payload, seq)

    # ------------------------------------------------------------------ refresh
    @Slot()
    def request_refresh(self) -> None:
        if self._refreshing or self._refresh_timer.isActive():
            return
        wait = self._last_refresh + self._min_refresh_s - time.monotonic()
        if wait <= 0:  # due now: refresh here rather than after one more trip through the event loop
            self.refresh()
            return
        self._refresh_timer.start(min(1000, math.ceil(wait * 1000)))

    @Slot()
    def _on_tick(self) -> None:
        mono = time.monotonic()
        # While data flows, batches already refresh up to max_refresh_hz: the tick only fills gaps.
        active = mono - self._last_batch < ACTIVE_FOR_S and mono - self._last_refresh >= 0.8 * ACTIVE_TICK_MS / 1000
        if active or math.floor(self.now()) != self._last_refresh_second:
            self.refresh()

    @Slot()
    def refresh(self) -> None:
        self._refresh_timer.stop()
        self._refreshing = True  # what the bridge queued is applied here: no second refresh for it
        try:
            self._take_from_bridge()
        finally:
            self._refreshing = False
        mono = time.monotonic()
        self._last_refresh = mono
        self.refreshes += 1
        try:
            self._refresh(mono)
            self._last_error = None
        except Exception as exc:  # a wall must never freeze on its last "Live" view
            if str(exc) != self._last_error:
                log.exception("board refresh failed")
            self._last_error = str(exc)
            self._show_stale_after_error(exc)

    def _show_stale_after_error(self, exc: Exception) -> None:
        """Show the last good figures, every one marked stale, with the error in the status strip."""
        self.link = replace(self.link, state="error", detail=f"display error: {exc}")
        if self._last_figures is None:
            return
        try:
            now = self.now() if math.isfinite(self.now()) else time.time()
            view = self.vm.build(self._last_figures, self.link, now, self.board.agent_grids(self.vm.current_page(now)),
                                 page=self.vm.current_page(now), events_applied=self.engine.events_applied)
            self.board.apply_view(view)
            self.view = view
        except Exception:
            log.debug("stale view after an error could not be built either", exc_info=True)

    def _refresh(self, mono: float) -> None:
        now = self.now()
        self._last_refresh_second = math.floor(now)
        eng = self.engine
        if self._agents_dirty:
            self.vm.set_agents([agent_row(a) for a in eng.agents.values()])
            self._agents_dirty = False
            self._changed_agents.clear()
            self._agent_view_key = None  # regroup now
        elif self._changed_agents:
            agents = eng.agents
            self.vm.update_agents([agent_row(agents[a]) for a in self._changed_agents if a in agents])
            self._agents_pending |= self._changed_agents
            self._changed_agents = set()
        figures = eng.figures(now, queues=self.vm.wants_queue_figures(now), windows=self.vm.windows_shown())
        self._last_figures = figures
        self.vm.sample(figures, now)
        page = self.vm.current_page(now)
        grids = self.board.agent_grids(page)
        keep, patch, retime = self._agent_views_to_keep(self._agent_regroup_key(page, now, grids),
                                                        math.floor(now), mono)
        view = self.vm.build(figures, self.link, now, grids, page=page, events_applied=eng.events_applied,
                             keep_agent_views=keep, changed_agents=patch, retime_agents=retime)
        self.board.apply_view(view)
        self.view = view
        self.view_applied.emit(view)

    def _agent_views_shown(self, mono: float) -> None:
        """The agent boards show every change up to now: the throttle on updates in place starts again."""
        self._agent_view_at = mono
        self._agent_timer.stop()

    def _agent_regroup_key(self, page: int, now: float, grids: dict[int, tuple[int, int]]) -> tuple:
        """What the agent boards' grouping follows: the page of tiles, the boards' grid shapes and, per board,
        its agent page (a board that pages holds its page's agents for ``page_seconds``, their cells updated
        in place: a page that shifted every second would show a large centre's agents too briefly to read) or,
        for a board that fits on one page, the second."""
        old = self.view
        per_board: tuple[int, ...] = ()
        if old is not None and old.page_index == page:
            tiles = self.vm.config.pages[page].tiles
            per_board = tuple(int(now // tiles[i].page_seconds) if v.pages > 1 else math.floor(now)
                              for i, v in enumerate(old.tiles) if getattr(v, "kind", "") in AGENT_VIEW_KINDS)
        return (page, tuple(sorted(grids.items())), per_board)

    def _agent_views_to_keep(self, key: tuple, second: int,
                             mono: float) -> tuple[dict[int, Any] | None, set[str] | None, bool]:
        """(agent board views to keep, agents to update in them, whether to update all of them: the clocks
        of a new second), or (None, None, False) to regroup, when ``key`` (``_agent_regroup_key``) changed.
        Other updates in place wait for ``agent_refresh_hz`` (a timer shows them then)."""
        old = self.view
        if old is None or old.page_index != key[0] or self._agent_view_key != key:
            self._agent_view_key = key
            self._agent_view_second = second
            self._agents_pending = set()
            self.agent_views_built += 1
            self._agent_views_shown(mono)
            return None, None, False
        kept = {i: v for i, v in enumerate(old.tiles) if getattr(v, "kind", "") in AGENT_VIEW_KINDS}
        if second != self._agent_view_second:  # every cell (its clock), pending changes included
            self._agent_view_second = second
            self._agents_pending = set()
            self.agent_views_patched += 1
            self._agent_views_shown(mono)
            return kept, None, True
        if not self._agents_pending:
            return kept, None, False
        if mono - self._agent_view_at >= self._agent_min_s:
            patch, self._agents_pending = self._agents_pending, set()
            self.agent_views_patched += 1
            self._agent_views_shown(mono)
            return kept, patch, False
        if not self._agent_timer.isActive():
            wait = self._agent_view_at + self._agent_min_s - mono
            self._agent_timer.start(max(1, math.ceil(wait * 1000)))
        return kept, None, False

    # ------------------------------------------------------------------ live reload
    def reconfigure(self, config: BoardConfig, vm: BoardViewModel, board: BoardWidget | None = None) -> None:
        """A new configuration (wallboard.ui.live_config): its view model (and board, when the pages changed)
        take over; the engine keeps its state, recomputed when the metrics settings changed. The feed's
        pacing follows a new ``max_refresh_hz`` at the next connection."""
        if config.metrics != self.config.metrics:
            self.engine = MetricsEngine.restore(self.engine.snapshot(), config.metrics)
        if "metrics" in config.model_fields_set:  # the site's settings now win over the server's on reconnect
            self._use_server_cfg = False
        if board is not None:
            self.board = board
        self.config = config
        self.vm = vm
        self._min_refresh_s = 0.5 / config.display.max_refresh_hz
        self._agent_min_s = 0.5 / config.display.agent_refresh_hz
        self.view = None  # the next refresh regroups and repaints everything

    # ------------------------------------------------------------------ desktop controls
    def set_queue_filter(self, queue: str | None) -> None:
        self.vm.set_queue_filter(queue)
        self._agents_dirty = True
        self.refresh()

    def pin_page(self, page: int | None) -> None:
        self.vm.pinned_page = page
        self.refresh()

    def set_theme(self, name: str) -> None:
        self.board.set_theme(name)
