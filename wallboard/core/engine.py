"""The metrics engine: a deterministic state machine over protocol events (docs/metrics.md).

- ``apply(event)`` never raises on odd input: anomalies are counted by reason and handled as documented.
- Every query takes ``now``; nothing reads a clock.
- Memory follows what is live (waiting calls, calls being handled, agents, the rolling window), not the
  day's volume: "today" is kept as tallies, the rolling window as a deque of outcomes.
- ``snapshot()`` is JSON-serialisable; ``MetricsEngine.restore(snapshot)`` followed by the rest of a
  stream gives exactly the figures of the whole stream (integer milliseconds throughout).
- ``figures(now)`` is asked for many times a second between a handful of events, so what does not depend on
  ``now`` is cached per queue and window, keyed by the tallies' versions (caches are never snapshotted).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter, deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from wallboard.core import protocol as p
from wallboard.core.day_window import DayClock
from wallboard.core.metrics_config import SL_FORMULA_TEXT, MetricsConfig, ServiceLevelGoal
from wallboard.core.occupancy import AVAILABLE_STATES, BUSY_STATES, OccupancyIntegral, occupancy_pct
from wallboard.core.tally import ABANDON, ANSWER, DEQUEUE, HANDLED, Counts, Tally, derived

SNAPSHOT_VERSION = 1
_RECENT_RESOLVED = 20_000  # call ids remembered to tell "already resolved" from "unknown call"
_BROADCASTS_KEPT = 20
_SWEEP_EVERY_MS = 60_000
_OCC_PRUNE_AT = 512  # how often (in event time) calls past max_call_age_s are looked for
WINDOWS = ("today", "rolling")


def to_ms(ts: float) -> int:
    return int(ts * 1000.0 + 0.5)


@dataclass(slots=True)
class WaitingCall:
    call_id: str
    queue: str
    queued_ms: int
    priority: int
    channel: str
    caller: str | None


@dataclass(slots=True)
class ActiveCall:
    call_id: str
    queue: str
    agent_id: str
    answered_ms: int
    ended_ms: int | None = None
    held_since_ms: int | None = None
    hold_ms: int = 0


@dataclass(slots=True)
class Agent:
    agent_id: str
    name: str | None
    team: str | None
    queues: tuple[str, ...]
    state: str
    reason: str | None
    since_ms: int
    # The per-queue state counters this agent contributes to (derived from queues; not snapshotted).
    counters: list[dict[str, int]] = field(default_factory=list)


@dataclass(slots=True)
class QueueMeta:
    name: str | None = None
    feed_goal: ServiceLevelGoal | None = None


class MetricsEngine:
    def __init__(self, config: MetricsConfig | None = None) -> None:
        self.config = config or MetricsConfig()
        self._clock = DayClock(self.config.timezone, self.config.reset_time)
        self._window_ms = self.config.rolling_minutes * 60_000
        self.queues: dict[str, QueueMeta] = {}
        self.waiting: dict[str, dict[str, WaitingCall]] = {}  # queue -> call_id -> call (arrival order)
        self._waiting_call_queue: dict[str, str] = {}  # call_id -> queue
        self.active: dict[str, ActiveCall] = {}  # answered calls not yet fully handled
        self._wrapping: dict[str, str] = {}  # agent_id -> call_id ended, awaiting end of wrap-up
        self.agents: dict[str, Agent] = {}
        self._state_counts: dict[str, int] = dict.fromkeys(p.AGENT_STATES, 0)
        self._queue_state_counts: dict[str, dict[str, int]] = {}
        self._occ = OccupancyIntegral()
        self._occ_day_base: tuple[int, int] = (0, 0)
        self._today: dict[str, Tally] = {}
        self._rolling: dict[str, Tally] = {}
        self._outcomes: deque[tuple[int, str, int, int]] = deque()  # (ts_ms, queue, kind, dur_ms)
        self._recent: deque[str] = deque()
        self._recent_set: set[str] = set()
        self.broadcasts: deque[p.Broadcast] = deque(maxlen=_BROADCASTS_KEPT)
        self.anomalies: Counter[str] = Counter()
        self.events_applied = 0
        self.latest_ms: int | None = None
        self._day_start_ms = 0
        self._next_reset_ms = 0
        self._next_sweep_ms = 0
        # Caches for figures() (not state: never snapshotted; a restored engine rebuilds them).
        self._wait_order: dict[str, list[int]] = {}  # queue -> sorted queued_ms of its waiting calls, when known
        self._outcomes_version = 0  # bumped whenever _outcomes changes
        self._lost_memo: tuple[int, int, dict[str, list[tuple[int, int]]]] = (-1, 0, {})
        self._window_cache: dict[tuple[str, str], list] = {}  # see _window_counts
        self._total_cache: dict[str, tuple[tuple, dict[str, Any]]] = {}
        self._queue_order: tuple[str, ...] = ()
        self._empty = Tally()
        self._handlers = {
            p.CallQueued: self._on_queued, p.CallAnswered: self._on_answered, p.CallHeld: self._on_held,
            p.CallRetrieved: self._on_retrieved, p.CallEnded: self._on_ended,
            p.CallAbandoned: self._on_abandoned, p.CallDequeued: self._on_dequeued,
            p.AgentState: self._on_agent_state, p.QueueInfo: self._on_queue_info,
            p.Broadcast: self._on_broadcast,
        }

    # ------------------------------------------------------------------ applying events
    def apply(self, event: p.Event) -> None:
        self.apply_many((event,))

    def apply_many(self, events: Iterable[p.Event]) -> None:
        handlers = self._handlers
        n = 0
        for event in events:
            t = int(event.ts * 1000.0 + 0.5)
            latest = self.latest_ms
            if latest is None:
                self._start_day(t)
                self.latest_ms = t
                self._next_sweep_ms = t + _SWEEP_EVERY_MS
            elif t > latest:
                if t >= self._next_reset_ms:
                    self._roll_day(t)
                self.latest_ms = t
                if t >= self._next_sweep_ms:
                    self._sweep(t)
            elif t < latest:
                self.anomalies["out_of_order"] += 1
            handlers[type(event)](event, t)
            n += 1
        self.events_applied += n

    def _sweep(self, t: int) -> None:
        """Drop calls older than max_call_age_s (event time, so deterministic and snapshot-exact)."""
        self._next_sweep_ms = t + _SWEEP_EVERY_MS
        if not self.config.max_call_age_s:
            return
        cutoff = t - self.config.max_call_age_s * 1000
        self._wait_order.clear()
        for calls in self.waiting.values():
            for call_id in [c.call_id for c in calls.values() if c.queued_ms < cutoff]:
                del calls[call_id]
                del self._waiting_call_queue[call_id]
                self.anomalies["expired_waiting"] += 1
        for call_id in [a.call_id for a in self.active.values() if a.answered_ms < cutoff]:
            self._drop_active(call_id)
            self.anomalies["expired_active"] += 1

    def _start_day(self, t: int) -> None:
        self._day_start_ms = to_ms(self._clock.day_start(t / 1000))
        self._next_reset_ms = to_ms(self._clock.next_reset(t / 1000))

    def _roll_day(self, t: int) -> None:
        self._start_day(t)
        self._today.clear()
        self._occ_day_base = self._occ.at(self._day_start_ms)

    def _record(self, t: int, queue: str, kind: int, dur_ms: int) -> None:
        if t >= self._day_start_ms:
            tally = self._today.get(queue)
            if tally is None:
                tally = self._today[queue] = Tally()
            tally.add(kind, dur_ms)
        else:
            self.anomalies["before_day_start"] += 1
        cutoff = self.latest_ms - self._window_ms  # type: ignore[operator]
        if t <= cutoff:
            return  # already outside the rolling window
        rolling = self._rolling.get(queue)
        if rolling is None:
            rolling = self._rolling[queue] = Tally()
        rolling.add(kind, dur_ms)
        self._outcomes_version += 1
        out = self._outcomes
        item = (t, queue, kind, dur_ms)
        if not out or out[-1][0] <= t:
            out.append(item)
        else:  # late outcome: keep the deque in time order
            i = len(out) - 1
            while i > 0 and out[i - 1][0] > t:
                i -= 1
            out.insert(i, item)
        while out and out[0][0] <= cutoff:
            _, q0, k0, d0 = out.popleft()
            self._rolling[q0].add(k0, d0, -1)

    def _duration(self, start: int, end: int) -> int:
        if end < start:
            self.anomalies["negative_duration"] += 1
            return 0
        return end - start

    def _remember(self, call_id: str) -> None:
        if call_id in self._recent_set:
            return
        self._recent.append(call_id)
        self._recent_set.add(call_id)
        if len(self._recent) > _RECENT_RESOLVED:
            self._recent_set.discard(self._recent.popleft())

    def _missing_call(self, call_id: str) -> None:
        self.anomalies["already_resolved" if call_id in self._recent_set else "unknown_call"] += 1

    def _touch_queue(self, queue: str) -> None:
        if queue not in self.queues:
            self.queues[queue] = QueueMeta()
            self.waiting[queue] = {}

    def _take_waiting(self, call_id: str, queue: str) -> WaitingCall | None:
        q = self._waiting_call_queue.pop(call_id, None)
        if q is None:
            self._missing_call(call_id)
            return None
        if q != queue:
            self.anomalies["queue_mismatch"] += 1
        w = self.waiting[q].pop(call_id)
        order = self._wait_order.get(q)
        if order is not None:  # kept sorted in place: a busy queue is not re-sorted at every refresh
            i = bisect_left(order, w.queued_ms)
            if i < len(order) and order[i] == w.queued_ms:
                del order[i]
            else:
                del self._wait_order[q]
        return w

    def _on_queued(self, e: p.CallQueued, t: int) -> None:
        self._touch_queue(e.queue)
        prev = self._waiting_call_queue.get(e.call_id)
        if prev is not None:
            if prev == e.queue:
                self.anomalies["duplicate_queued"] += 1
                return
            # Moved without a call_dequeued: count the first visit as dequeued (transfer).
            self.anomalies["requeued_without_dequeue"] += 1
            w = self._take_waiting(e.call_id, prev)
            if w is not None:
                self._record(t, w.queue, DEQUEUE, 0)
        self.waiting[e.queue][e.call_id] = WaitingCall(e.call_id, e.queue, t, e.priority, e.channel, e.caller)
        self._waiting_call_queue[e.call_id] = e.queue
        order = self._wait_order.get(e.queue)
        if order is not None:
            insort(order, t)

    def _on_answered(self, e: p.CallAnswered, t: int) -> None:
        w = self._take_waiting(e.call_id, e.queue)
        if w is None:
            return
        self._remember(e.call_id)
        self._record(t, w.queue, ANSWER, self._duration(w.queued_ms, t))
        pending = self._wrapping.get(e.agent_id)
        if pending is not None:  # the agent skipped the rest of wrap-up
            self._complete(e.agent_id, t)
        old = self.active.get(e.call_id)
        if old is not None:
            self.anomalies["answered_while_active"] += 1
            self._drop_active(e.call_id)
        self.active[e.call_id] = ActiveCall(e.call_id, w.queue, e.agent_id, t)

    def _on_abandoned(self, e: p.CallAbandoned, t: int) -> None:
        w = self._take_waiting(e.call_id, e.queue)
        if w is None:
            return
        self._remember(e.call_id)
        self._record(t, w.queue, ABANDON, self._duration(w.queued_ms, t))

    def _on_dequeued(self, e: p.CallDequeued, t: int) -> None:
        w = self._take_waiting(e.call_id, e.queue)
        if w is None:
            return
        self._remember(e.call_id)
        self._record(t, w.queue, DEQUEUE, self._duration(w.queued_ms, t))

    def _active_for(self, call_id: str, agent_id: str) -> ActiveCall | None:
        a = self.active.get(call_id)
        if a is None or a.ended_ms is not None:
            self._missing_call(call_id)
            return None
        if a.agent_id != agent_id:
            self.anomalies["agent_mismatch"] += 1
        return a

    def _on_held(self, e: p.CallHeld, t: int) -> None:
        a = self._active_for(e.call_id, e.agent_id)
        if a is None:
            return
        if a.held_since_ms is not None:
            self.anomalies["duplicate_hold"] += 1
            return
        a.held_since_ms = t

    def _on_retrieved(self, e: p.CallRetrieved, t: int) -> None:
        a = self._active_for(e.call_id, e.agent_id)
        if a is None:
            return
        if a.held_since_ms is None:
            self.anomalies["retrieved_not_held"] += 1
            return
        a.hold_ms += self._duration(a.held_since_ms, t)
        a.held_since_ms = None

    def _on_ended(self, e: p.CallEnded, t: int) -> None:
        a = self._active_for(e.call_id, e.agent_id)
        if a is None:
            return
        if a.held_since_ms is not None:
            a.hold_ms += self._duration(a.held_since_ms, t)
            a.held_since_ms = None
        a.ended_ms = t
        if a.agent_id in self._wrapping:  # a second call ended before the first one's wrap-up closed
            self._complete(a.agent_id, t)
        self._wrapping[a.agent_id] = a.call_id
        agent = self.agents.get(a.agent_id)
        if agent is not None and agent.state not in ("on_call", "wrap_up"):
            # The agent already left the call (state arrived first): handling is over now.
            self._complete(a.agent_id, t)

    def _complete(self, agent_id: str, t: int) -> None:
        call_id = self._wrapping.pop(agent_id)
        a = self.active.pop(call_id, None)
        if a is not None:
            self._record(t, a.queue, HANDLED, self._duration(a.answered_ms, t))

    def _drop_active(self, call_id: str) -> None:
        a = self.active.pop(call_id)
        if self._wrapping.get(a.agent_id) == call_id:
            del self._wrapping[a.agent_id]

    def _on_agent_state(self, e: p.AgentState, t: int) -> None:
        agent = self.agents.get(e.agent_id)
        state = e.state
        if agent is None:
            agent = Agent(e.agent_id, e.name, e.team, tuple(e.queues or ()), state, e.reason, t)
            self.agents[e.agent_id] = agent
            self._bind_queues(agent)
            self._count_agent(agent, +1)
            self._occ.change(t, int(state in BUSY_STATES), int(state in AVAILABLE_STATES))
        else:
            if e.name is not None:
                agent.name = e.name
            if e.team is not None:
                agent.team = e.team
            old_state = agent.state
            changed = state != old_state or e.reason != agent.reason
            new_queues = tuple(e.queues) if e.queues is not None else None
            requeued = new_queues is not None and new_queues != agent.queues
            if requeued:
                self._count_agent(agent, -1)
                agent.queues = new_queues  # type: ignore[assignment]
                self._bind_queues(agent)
                agent.state, agent.reason = state, e.reason
                self._count_agent(agent, +1)
            elif changed:  # the hot path: move one count, total and per queue
                if state != old_state:
                    sc = self._state_counts
                    sc[old_state] -= 1
                    sc[state] += 1
                    for qc in agent.counters:
                        qc[old_state] -= 1
                        qc[state] += 1
                agent.reason = e.reason
                agent.state = state
            if state != old_state:
                d_busy = (state in BUSY_STATES) - (old_state in BUSY_STATES)
                d_avail = (state in AVAILABLE_STATES) - (old_state in AVAILABLE_STATES)
                if d_busy or d_avail:
                    self._occ.change(t, d_busy, d_avail)
            if changed:
                agent.since_ms = t
        if state != "wrap_up" and e.agent_id in self._wrapping:
            self._complete(e.agent_id, t)
        if len(self._occ.points) > _OCC_PRUNE_AT:  # a few hundred spare points cost less than pruning each time
            self._occ.prune(self.latest_ms - self._window_ms)  # type: ignore[operator]

    def _bind_queues(self, agent: Agent) -> None:
        counters = []
        for q in agent.queues:
            self._touch_queue(q)
            qc = self._queue_state_counts.get(q)
            if qc is None:
                qc = self._queue_state_counts[q] = dict.fromkeys(p.AGENT_STATES, 0)
            counters.append(qc)
        agent.counters = counters

    def _count_agent(self, agent: Agent, sign: int) -> None:
        state = agent.state
        self._state_counts[state] += sign
        for qc in agent.counters:
            qc[state] += sign

    def _on_queue_info(self, e: p.QueueInfo, t: int) -> None:
        self._touch_queue(e.queue)
        meta = self.queues[e.queue]
        meta.name = e.name
        if e.sl_threshold_s is not None or e.sl_target_pct is not None:
            base = ServiceLevelGoal()
            meta.feed_goal = ServiceLevelGoal(
                threshold_s=e.sl_threshold_s if e.sl_threshold_s is not None else base.threshold_s,
                target_pct=e.sl_target_pct if e.sl_target_pct is not None else base.target_pct,
            )

    def _on_broadcast(self, e: p.Broadcast, t: int) -> None:
        self.broadcasts.append(e)

    # ------------------------------------------------------------------ queries
    def goal(self, queue: str) -> ServiceLevelGoal:
        cfg = self.config
        if queue in cfg.queue_goals:
            return cfg.queue_goals[queue]
        meta = self.queues.get(queue)
        if cfg.use_feed_goals and meta is not None and meta.feed_goal is not None:
            return meta.feed_goal
        return cfg.default_goal

    def effective_now_ms(self, now: float) -> int:
        """Queries never look earlier than the newest event (a client clock slightly behind the feed)."""
        n = to_ms(now)
        return n if self.latest_ms is None or n > self.latest_ms else self.latest_ms

    def _lost_from_window(self, now_ms: int) -> dict[str, list[tuple[int, int]]]:
        """queue -> [(kind, dur_ms)] of the outcomes still in the rolling tallies that ``now`` has pushed out of
        the window (no event has come since to expire them), oldest first."""
        cutoff = now_ms - self._window_ms
        out = self._outcomes
        if not out or out[0][0] > cutoff:
            return {}
        version, k, lost = self._lost_memo
        if (version == self._outcomes_version and out[k - 1][0] <= cutoff
                and (k == len(out) or out[k][0] > cutoff)):
            return lost  # the same outcomes as last time (a silent feed, now moving on)
        lost = {}
        k = 0
        for ts, q, kind, d in out:
            if ts > cutoff:
                break
            items = lost.get(q)
            if items is None:
                lost[q] = [(kind, d)]
            else:
                items.append((kind, d))
            k += 1
        self._lost_memo = (self._outcomes_version, k, lost)
        return lost

    def _live(self, queue: str, now_ms: int, threshold_ms: int) -> tuple[int, int, int]:
        """(waiting, longest wait ms, waiting beyond the threshold) of one queue."""
        order = self._wait_order.get(queue)
        if order is None:
            calls = self.waiting.get(queue)
            order = self._wait_order[queue] = sorted(c.queued_ms for c in calls.values()) if calls else []
        if not order:
            return 0, 0, 0
        return len(order), max(0, now_ms - order[0]), bisect_left(order, now_ms - threshold_ms)

    def queue_ids(self) -> list[str]:
        return list(self._sorted_queues())

    def _sorted_queues(self) -> tuple[str, ...]:
        if len(self._queue_order) != len(self.queues):  # queues are only ever added
            self._queue_order = tuple(sorted(self.queues))
        return self._queue_order

    def _window_counts(self, queue: str, window: str, tally: Tally, lost: list[tuple[int, int]] | None,
                       goal: ServiceLevelGoal, over: int) -> list:
        """[key, Counts, figures other than waiting and longest wait or None until asked for (window_tail)]
        of one queue and window, cached until the tally, the outcomes lost from the window, the goal or the
        callers waiting beyond it change. The board's totals need only the Counts."""
        key = (tally, tally.version, len(lost) if lost else 0, goal, over)
        hit = self._window_cache.get((queue, window))
        if hit is not None and hit[0] == key:
            return hit
        threshold_s, short_s = goal.threshold_s, self.config.short_abandon_s
        c = tally.counts(threshold_s, short_s).copy()
        if lost:
            t_key, s_key = 2 * threshold_s, 2 * short_s
            for kind, d in lost:
                c.add(kind, d, -1, t_key, s_key)
        c.waiting_over_threshold = over
        hit = self._window_cache[(queue, window)] = [key, c, None]
        return hit

    def _window_tail(self, hit: list, goal: ServiceLevelGoal) -> dict[str, Any]:
        """The figures of a _window_counts entry (derived once, then kept with it)."""
        tail = hit[2]
        if tail is None:
            tail = hit[2] = self._figures_tail(hit[1], goal.threshold_s, goal.target_pct)
        return tail

    def _total_tail(self, window: str, parts: list[Counts], common: ServiceLevelGoal | None) -> dict[str, Any]:
        key = (tuple(parts), common)  # each part is a new object whenever its figures change
        hit = self._total_cache.get(window)
        if hit is not None and hit[0] == key:
            return hit[1]
        total = Counts()
        for c in parts:
            total += c
        tail = self._figures_tail(total, common.threshold_s if common else None,
                                  common.target_pct if common else None)
        self._total_cache[window] = (key, tail)
        return tail

    def _figures_tail(self, c: Counts, threshold_s: int | None, target_pct: float | None) -> dict[str, Any]:
        d: dict[str, Any] = derived(c, self.config.sl_formula)
        d["sl_threshold_s"] = threshold_s
        d["sl_target_pct"] = target_pct
        return d

    def figures(self, now: float, *, agent_list: bool = False, queues: bool = True,
                windows: Collection[str] = WINDOWS) -> dict[str, Any]:
        """All figures as of ``now`` in the documented JSON shape (docs/metrics.md). ``queues=False`` leaves
        ``queues`` and the agents' ``by_queue`` empty: the totals alone, for a board that shows nothing
        per queue at this refresh (the totals are the same either way). ``windows`` limits the windows
        ("today", "rolling") computed to those a board shows; the others are left out of the result."""
        now_ms = self.effective_now_ms(now)
        cfg = self.config
        want_today, want_rolling = "today" in windows, "rolling" in windows
        today = self._today if now_ms < self._next_reset_ms else {}
        rolling = self._rolling
        lost = self._lost_from_window(now_ms) if want_rolling else {}
        empty = self._empty
        window_counts = self._window_counts
        window_tail = self._window_tail
        parts_today: list[Counts] = []
        parts_rolling: list[Counts] = []
        total_waiting, total_longest = 0, 0
        common: ServiceLevelGoal | None = None  # the goal every queue shares, if they do
        mixed = False
        per_queue: dict[str, Any] = {}
        for q in self._sorted_queues():
            goal = self.goal(q)
            if common is None:
                common = goal
            elif goal is not common and (goal.threshold_s, goal.target_pct) != (common.threshold_s, common.target_pct):
                # (its two fields: a model's == is dear at every refresh; tests/test_engine_figures_cache.py)
                mixed = True
            waiting, longest_ms, over = self._live(q, now_ms, goal.threshold_s * 1000)
            total_waiting += waiting
            if longest_ms > total_longest:
                total_longest = longest_ms
            entry: dict[str, Any] | None = None
            if queues:
                longest_s = longest_ms / 1000
                entry = per_queue[q] = {}
            if want_today:
                hit = window_counts(q, "today", today.get(q, empty), None, goal, over)
                parts_today.append(hit[1])
                if entry is not None:
                    entry["today"] = {"waiting": waiting, "longest_wait_s": longest_s, **window_tail(hit, goal)}
            if want_rolling:
                hit = window_counts(q, "rolling", rolling.get(q, empty), lost.get(q), goal, over)
                parts_rolling.append(hit[1])
                if entry is not None:
                    entry["rolling"] = {"waiting": waiting, "longest_wait_s": longest_s, **window_tail(hit, goal)}
            if entry is not None:
                entry["name"] = self.queues[q].name or q
        # The total shows a goal only when every queue shares it; otherwise its threshold is mixed.
        if mixed:
            common = None
        total_longest_s = total_longest / 1000
        total = {
            w: {"waiting": total_waiting, "longest_wait_s": total_longest_s, **self._total_tail(w, parts, common)}
            for w, parts, wanted in (("today", parts_today, want_today), ("rolling", parts_rolling, want_rolling))
            if wanted
        }
        return {
            "at": now_ms / 1000,
            "sl_formula": cfg.sl_formula,
            "sl_formula_text": SL_FORMULA_TEXT[cfg.sl_formula],
            "total": total,
            "queues": per_queue,
            "agents": self.agent_figures(now_ms, agent_list, queues),
            "anomalies": dict(sorted(self.anomalies.items())),
            "broadcasts": self.active_broadcasts(now_ms / 1000),
        }

    def agent_figures(self, now_ms: int, agent_list: bool = False, queues: bool = True) -> dict[str, Any]:
        by_state = {s: self._state_counts.get(s, 0) for s in p.AGENT_STATES}
        # Every known queue, so the shape never depends on which agents once served it.
        zero = dict.fromkeys(p.AGENT_STATES, 0)
        by_queue = {q: dict(self._queue_state_counts.get(q, zero)) for q in self.queue_ids()} if queues else {}
        busy_now, avail_now = self._occ.at(now_ms)
        if now_ms >= self._next_reset_ms:
            base = self._occ.at(to_ms(self._clock.day_start(now_ms / 1000)))
        else:
            base = self._occ_day_base
        busy_w, avail_w = self._occ.at(now_ms - self._window_ms)
        out: dict[str, Any] = {
            "by_state": by_state,
            "logged_in": sum(n for s, n in by_state.items() if s != "logged_out"),
            "by_queue": by_queue,
            "occupancy_pct": {
                "today": occupancy_pct(busy_now - base[0], avail_now - base[1]),
                "rolling": occupancy_pct(busy_now - busy_w, avail_now - avail_w),
            },
        }
        if agent_list:
            out["list"] = self.agent_rows(now_ms)
        return out

    def agent_rows(self, now_ms: int) -> list[dict[str, Any]]:
        rows = []
        for a in self.agents.values():
            call = self.active.get(self._wrapping.get(a.agent_id, "")) if a.state == "wrap_up" else None
            rows.append({
                "agent_id": a.agent_id, "name": a.name or a.agent_id, "team": a.team, "queues": list(a.queues),
                "state": a.state, "reason": a.reason, "since": a.since_ms / 1000,
                "time_in_state_s": max(0, now_ms - a.since_ms) / 1000,
                "call_queue": call.queue if call else None,
            })
        return rows

    def active_broadcasts(self, now: float) -> list[dict[str, Any]]:
        return [{"ts": b.ts, "text": b.text, "level": b.level, "expires": b.expires}
                for b in self.broadcasts if b.expires is None or b.expires > now]

    def waiting_calls(self, now: float, queue: str | None = None) -> list[dict[str, Any]]:
        """Callers in queue, longest-waiting first."""
        now_ms = self.effective_now_ms(now)
        qs = [queue] if queue is not None else list(self.waiting)
        calls = [c for q in qs for c in self.waiting.get(q, {}).values()]
        calls.sort(key=lambda c: c.queued_ms)
        return [{"call_id": c.call_id, "queue": c.queue, "wait_s": max(0, now_ms - c.queued_ms) / 1000,
                 "priority": c.priority, "channel": c.channel, "caller": c.caller} for c in calls]

    # ------------------------------------------------------------------ snapshot and restore
    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "latest_ms": self.latest_ms,
            "events_applied": self.events_applied,
            "day_start_ms": self._day_start_ms,
            "next_reset_ms": self._next_reset_ms,
            "next_sweep_ms": self._next_sweep_ms,
            "queues": {q: {"name": m.name,
                           "feed_goal": m.feed_goal.model_dump() if m.feed_goal else None}
                       for q, m in self.queues.items()},
            "waiting": [[c.call_id, c.queue, c.queued_ms, c.priority, c.channel, c.caller]
                        for calls in self.waiting.values() for c in calls.values()],
            "active": [[a.call_id, a.queue, a.agent_id, a.answered_ms, a.ended_ms, a.held_since_ms, a.hold_ms]
                       for a in self.active.values()],
            "wrapping": dict(self._wrapping),
            "agents": [[a.agent_id, a.name, a.team, list(a.queues), a.state, a.reason, a.since_ms]
                       for a in self.agents.values()],
            "occupancy": {"points": [list(x) for x in self._occ.points], "day_base": list(self._occ_day_base)},
            "today": {q: t.to_json() for q, t in self._today.items()},
            "rolling": {q: t.to_json() for q, t in self._rolling.items()},
            "outcomes": [list(o) for o in self._outcomes],
            "recent": list(self._recent),
            "broadcasts": [p.event_to_dict(b) for b in self.broadcasts],
            "anomalies": dict(self.anomalies),
        }

    @classmethod
    def restore(cls, snap: dict[str, Any], config: MetricsConfig | None = None) -> MetricsEngine:
        if snap.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version {snap.get('version')!r}")
        eng = cls(config)
        eng.latest_ms = snap["latest_ms"]
        eng.events_applied = snap["events_applied"]
        eng._day_start_ms = snap["day_start_ms"]
        eng._next_reset_ms = snap["next_reset_ms"]
        eng._next_sweep_ms = snap["next_sweep_ms"]
        for q, m in snap["queues"].items():
            eng._touch_queue(q)
            eng.queues[q] = QueueMeta(m["name"], ServiceLevelGoal(**m["feed_goal"]) if m["feed_goal"] else None)
        for call_id, queue, queued_ms, priority, channel, caller in snap["waiting"]:
            eng._touch_queue(queue)
            eng.waiting[queue][call_id] = WaitingCall(call_id, queue, queued_ms, priority, channel, caller)
            eng._waiting_call_queue[call_id] = queue
        for call_id, queue, agent_id, ans, ended, held, hold in snap["active"]:
            eng.active[call_id] = ActiveCall(call_id, queue, agent_id, ans, ended, held, hold)
        eng._wrapping = dict(snap["wrapping"])
        for agent_id, name, team, queues, state, reason, since in snap["agents"]:
            agent = Agent(agent_id, name, team, tuple(queues), state, reason, since)
            eng.agents[agent_id] = agent
            eng._bind_queues(agent)
            eng._count_agent(agent, +1)
        eng._occ.points = deque(tuple(x) for x in snap["occupancy"]["points"])  # type: ignore[misc]
        eng._occ_day_base = tuple(snap["occupancy"]["day_base"])  # type: ignore[assignment]
        eng._today = {q: Tally.from_json(t) for q, t in snap["today"].items()}
        eng._rolling = {q: Tally.from_json(t) for q, t in snap["rolling"].items()}
        eng._outcomes = deque(tuple(o) for o in snap["outcomes"])  # type: ignore[misc]
        eng._recent = deque(snap["recent"])
        eng._recent_set = set(eng._recent)
        eng.broadcasts.extend(p.EVENT_ADAPTER.validate_python(b) for b in snap["broadcasts"])
        eng.anomalies = Counter(snap["anomalies"])
        return eng
