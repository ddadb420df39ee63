"""A discrete-event contact-centre simulator emitting docs/protocol.md events in ts order.

One heap of future happenings ``(time, seq, kind, a, b)`` and one ``random.Random(seed)``: the same scenario,
seed and start give the same events, byte for byte once recorded. Every handler emits events only at its own
time, so output is in ts order by construction.

Per call the order is the one the metrics engine relies on (docs/simulator.md): call_queued; agent_state
ringing (if ringing > 0); call_answered then agent_state on_call; call_held/call_retrieved; call_ended;
agent_state wrap_up (if wrap-up > 0); agent_state available (or not_ready / logged_out when due).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from heapq import heappop, heappush
from typing import Any

from wallboard.core.protocol import Event
from wallboard.sim import wire
from wallboard.sim.calendar import LocalClock, RateSchedule
from wallboard.sim.names import agent_name
from wallboard.sim.scenario import Scenario, minute_of_day

# Kinds of scheduled happenings (index into Simulator._handlers).
INIT, ARRIVE, ABANDON, TIMEOUT, ANSWER, HOLD, RETRIEVE, END, WRAP_END = range(9)
LOGIN, LOGOUT, BREAK, BREAK_END, INCIDENT_START, INCIDENT_END, BROADCAST = range(9, 16)

# Call status
WAITING, CONNECTED, DONE = 0, 1, 2

_INF = math.inf


def _ts(t: float) -> float:
    """Millisecond resolution, rounded down so an event never lands after the time it was due."""
    return int(t * 1000.0) / 1000.0


class _Queue:
    __slots__ = ("channel", "hold", "hold_p", "id", "idle", "n_idle_serving", "n_waiting", "overflow",
                 "patience", "priority", "rates", "spec", "talk", "timeout", "waiting", "wrap")

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.id: str = spec.id
        self.priority: int = spec.priority
        self.channel: str = spec.channel
        self.waiting: list[tuple[int, int, _Call, int]] = []  # (-priority, seq, call, visit), lazy deletion
        self.n_waiting = 0  # calls really waiting (the heap also holds calls that left, until they surface)
        self.idle: list[tuple[float, int, _Agent, int]] = []  # (idle since, seq, agent, token), lazy
        self.n_idle_serving = 0  # agents serving this queue (bounds the idle heap before compaction)
        self.overflow: _Queue | None = None


class _Call:
    __slots__ = ("call_id", "deadline", "q", "rest", "status", "visit")

    def __init__(self, call_id: str, q: _Queue, deadline: float) -> None:
        self.call_id = call_id
        self.q = q
        self.visit = 0
        self.status = WAITING
        self.deadline = deadline  # when the caller hangs up if still waiting (inf: never)
        self.rest = 0.0  # talk remaining after a hold


class _Agent:
    __slots__ = ("agent_id", "break_seq", "breaks", "call", "introduced", "name", "on_shift", "pending",
                 "queue_ids", "queues", "ring", "shift_day", "shift_len", "shift_min", "shift_no", "state",
                 "team", "token")

    def __init__(self, agent_id: str, name: str, team: Any, queues: list[_Queue]) -> None:
        self.agent_id = agent_id
        self.name = name
        self.team = team
        self.queues = queues  # preference order
        self.queue_ids = [q.id for q in queues]
        self.state = "logged_out"
        self.token = 0  # bumped whenever the agent stops being idle: stale idle-heap entries are skipped
        self.call: _Call | None = None
        self.pending: tuple[str, Any] | None = None  # ("break", (reason, seconds)) or ("logout", None)
        self.on_shift = False
        self.shift_no = 0
        self.shift_min = 0.0
        self.shift_len = 0.0
        self.shift_day: Any = None
        self.break_seq = 0
        self.breaks: list[Any] = []
        self.introduced = False
        self.ring: Any = None


class Simulator:
    """``events_until(ts)`` for a live feed paced in real time; ``run(until)`` to go as fast as possible."""

    def __init__(self, scenario: Scenario, seed: int, start: float, *, call_id_prefix: str = "c") -> None:
        self.scenario = scenario
        self.seed = seed
        self.start = float(start)
        self.now = self.start  # everything due at or before this has been processed
        self.rng = rng = random.Random(seed)
        self.clock = LocalClock(scenario.timezone)
        self._heap: list[tuple[float, int, int, Any, Any]] = []
        self._seq = 0
        self._out: list[Event] = []
        self._call_prefix = call_id_prefix
        self._calls = 0
        self._expo = rng.expovariate
        self._random = rng.random
        self._handlers = (self._on_init, self._on_arrive, self._on_abandon, self._on_timeout,
                          self._on_answer, self._on_hold, self._on_retrieve, self._on_end, self._on_wrap_end,
                          self._on_login, self._on_logout, self._on_break, self._on_break_end,
                          self._on_incident_start, self._on_incident_end, self._on_broadcast)
        self.queues: dict[str, _Queue] = {}
        for spec in scenario.queues:
            q = _Queue(spec)
            q.talk = spec.talk.sampler(rng)
            q.wrap = spec.wrap_up.sampler(rng)
            q.hold = spec.hold.sampler(rng)
            q.hold_p = spec.hold_probability
            q.patience = spec.patience.sampler(rng) if spec.patience is not None else None
            q.timeout = spec.timeout_s
            surges = [(minute_of_day(i.at), i.duration_minutes, i.multiplier) for i in scenario.incidents
                      if i.kind == "surge" and (not i.queues or spec.id in i.queues)]
            q.rates = RateSchedule(self.clock, spec.rate_per_hour, scenario.profile_of(spec), surges)
            self.queues[spec.id] = q
        for q in self.queues.values():
            if q.spec.overflow_to is not None:
                q.overflow = self.queues[q.spec.overflow_to]
        self.agents: list[_Agent] = []
        self.teams: dict[str, list[_Agent]] = {}
        width = max(4, len(str(scenario.agent_count)))
        for team in scenario.teams:
            members = self.teams[team.name] = []
            ring = team.ringing.sampler(rng)
            breaks = [(b.after_minutes, b.jitter_minutes, b.reason, b.duration.sampler(rng))
                      for b in team.breaks]
            for _ in range(team.agents):
                n = len(self.agents)
                skills = [self.queues[i] for i in team.queues]
                a = _Agent(f"A{n + 1:0{width}d}", agent_name(n), team.name, skills)
                a.ring = ring
                a.breaks = breaks
                if team.shift is not None:
                    a.shift_min = minute_of_day(team.shift.start) + rng.uniform(0, team.shift.stagger_minutes)
                    a.shift_len = team.shift.hours * 3600.0
                for q in a.queues:
                    q.n_idle_serving += 1
                self.agents.append(a)
                members.append(a)
        self._push(self.start, INIT, None, None)

    # ------------------------------------------------------------------ driving
    def _push(self, t: float, kind: int, a: Any, b: Any) -> None:
        self._seq += 1
        heappush(self._heap, (t, self._seq, kind, a, b))

    def _advance(self, until: float) -> None:
        heap, handlers = self._heap, self._handlers
        while heap and heap[0][0] <= until:
            t, _, kind, a, b = heappop(heap)
            handlers[kind](t, a, b)
        if until > self.now:
            self.now = until

    def events_until(self, ts: float) -> list[Event]:
        """All events with ts <= ``ts`` not yet returned, in ts order."""
        self._advance(ts)
        out, self._out = self._out, []
        return out

    def run(self, until: float, chunk_s: float = 60.0) -> Iterator[Event]:
        """Every event up to ``until`` (inclusive), generated in chunks of simulated time."""
        t = self.now
        while True:
            t = min(until, t + chunk_s)
            yield from self.events_until(t)
            if t >= until:
                return

    # ------------------------------------------------------------------ emitting
    def _agent_state(self, t: float, a: _Agent, state: str, reason: str | None = None) -> None:
        a.state = state
        if a.introduced:
            self._out.append(wire.agent_state(_ts(t), a.agent_id, state, reason))
        else:  # the agent's first event carries who they are
            a.introduced = True
            self._out.append(wire.agent_state(_ts(t), a.agent_id, state, reason, a.name, a.team,
                                              list(a.queue_ids)))

    # ------------------------------------------------------------------ start
    def _on_init(self, t: float, _a: Any, _b: Any) -> None:
        out = self._out
        for q in self.queues.values():
            s = q.spec
            out.append(wire.queue_info(_ts(t), s.id, s.name or s.id, s.sl_threshold_s, s.sl_target_pct))
        for a in self.agents:
            if not a.shift_len:
                self._login(t, a, t)
                continue
            start, day = self.clock.last_at(t, a.shift_min)
            if t < start + a.shift_len:  # mid-shift at the start of the run
                a.shift_day = day
                self._login(t, a, start)
            else:
                self._agent_state(t, a, "logged_out")
            self._push(self.clock.next_at(t, a.shift_min), LOGIN, a, None)
        for q in self.queues.values():
            self._schedule_arrival(q, t)
        for i, inc in enumerate(self.scenario.incidents):
            self._push(self.clock.next_at(t, minute_of_day(inc.at)), INCIDENT_START, i, None)
        for i, b in enumerate(self.scenario.broadcasts):
            self._push(self.clock.next_at(t, minute_of_day(b.at)), BROADCAST, i, None)

    # ------------------------------------------------------------------ arrivals and routing
    def _schedule_arrival(self, q: _Queue, t: float) -> None:
        # Non-homogeneous Poisson: within a constant-rate segment draw an exponential gap; past the segment's
        # end restart from there (memorylessness makes this exact).
        expo, rates = self._expo, q.rates
        while True:
            rate, end = rates.segment(t)
            if rate > 0:
                nt = t + expo(rate)
                if nt < end:
                    self._push(nt, ARRIVE, q, None)
                    return
            t = end

    def _on_arrive(self, t: float, q: _Queue, _b: Any) -> None:
        self._calls += 1
        patience = q.patience
        call = _Call(f"{self._call_prefix}{self._calls}", q, t + patience() if patience is not None else _INF)
        self._out.append(wire.call_queued(_ts(t), call.call_id, q.id, q.priority, q.channel))
        self._enqueue(t, call, q)
        self._schedule_arrival(q, t)

    def _enqueue(self, t: float, call: _Call, q: _Queue) -> None:
        agent = self._take_idle(q)
        if agent is not None:
            self._connect(t, call, agent)
            return
        self._seq += 1
        heappush(q.waiting, (-q.priority, self._seq, call, call.visit))
        q.n_waiting += 1
        if len(q.waiting) > 2 * q.n_waiting + 64:
            # Callers who left are only dropped when they reach the head; a queue nobody answers for
            # hours (a night, a live feed running for months) would otherwise keep them all.
            q.waiting = [w for w in q.waiting if self._is_waiting(w, q)]
            heapq.heapify(q.waiting)
        limit = t + q.timeout if q.timeout is not None else _INF
        if limit < call.deadline:
            self._push(limit, TIMEOUT, call, call.visit)
        elif call.deadline < _INF:
            self._push(call.deadline, ABANDON, call, call.visit)

    def _take_idle(self, q: _Queue) -> _Agent | None:
        """The longest-idle available agent serving ``q``."""
        idle = q.idle
        while idle:
            _, _, agent, token = heappop(idle)
            if agent.token == token and agent.state == "available":
                return agent
        return None

    @staticmethod
    def _is_waiting(item: tuple[int, int, _Call, int], q: _Queue) -> bool:
        call = item[2]
        return call.status == WAITING and call.visit == item[3] and call.q is q

    def _head(self, q: _Queue) -> tuple[int, int, _Call, int] | None:
        waiting = q.waiting
        while waiting:
            item = waiting[0]
            call = item[2]
            if call.status == WAITING and call.visit == item[3] and call.q is q:
                return item
            heappop(waiting)
        return None

    def _make_available(self, t: float, a: _Agent) -> None:
        self._agent_state(t, a, "available")
        # Highest priority call among the agent's queues; ties go to the queue the agent prefers.
        best, best_q = None, None
        for q in a.queues:
            head = self._head(q)
            if head is not None and (best is None or head[0] < best[0]):
                best, best_q = head, q
        if best is not None:
            heappop(best_q.waiting)  # type: ignore[union-attr]
            best_q.n_waiting -= 1  # type: ignore[union-attr]
            self._connect(t, best[2], a)
            return
        a.token += 1
        self._seq += 1
        entry = (t, self._seq, a, a.token)
        for q in a.queues:
            idle = q.idle
            heappush(idle, entry)
            if len(idle) > 4 * q.n_idle_serving + 64:  # drop stale entries left by multi-skilled agents
                q.idle = [e for e in idle if e[2].token == e[3] and e[2].state == "available"]
                heapq.heapify(q.idle)

    def _connect(self, t: float, call: _Call, a: _Agent) -> None:
        a.token += 1
        a.call = call
        call.status = CONNECTED
        ring = a.ring()
        if ring > 0:
            self._agent_state(t, a, "ringing")
            self._push(t + ring, ANSWER, call, a)
        else:
            self._on_answer(t, call, a)

    # ------------------------------------------------------------------ conversation
    def _on_answer(self, t: float, call: _Call, a: _Agent) -> None:
        q = call.q
        self._out.append(wire.call_answered(_ts(t), call.call_id, q.id, a.agent_id))
        self._agent_state(t, a, "on_call")
        talk = q.talk()
        if q.hold_p and self._random() < q.hold_p:
            before = talk * self._random()
            call.rest = talk - before
            self._push(t + before, HOLD, call, a)
        else:
            self._push(t + talk, END, call, a)

    def _on_hold(self, t: float, call: _Call, a: _Agent) -> None:
        self._out.append(wire.call_held(_ts(t), call.call_id, a.agent_id))
        self._push(t + call.q.hold(), RETRIEVE, call, a)

    def _on_retrieve(self, t: float, call: _Call, a: _Agent) -> None:
        self._out.append(wire.call_retrieved(_ts(t), call.call_id, a.agent_id))
        self._push(t + call.rest, END, call, a)

    def _on_end(self, t: float, call: _Call, a: _Agent) -> None:
        self._out.append(wire.call_ended(_ts(t), call.call_id, a.agent_id))
        call.status = DONE
        a.call = None
        wrap = call.q.wrap()
        if wrap > 0:
            self._agent_state(t, a, "wrap_up")
            self._push(t + wrap, WRAP_END, a, None)
        else:
            self._free(t, a)

    def _on_wrap_end(self, t: float, a: _Agent, _b: Any) -> None:
        self._free(t, a)

    def _free(self, t: float, a: _Agent) -> None:
        """The agent finished a call: take what is due (logout, break) or the next call."""
        pending, a.pending = a.pending, None
        if pending is None:
            self._make_available(t, a)
        elif pending[0] == "logout":
            self._logout(t, a)
        else:
            self._start_break(t, a, *pending[1])

    # ------------------------------------------------------------------ leaving the queue unanswered
    def _waiting_visit(self, call: _Call, visit: int) -> bool:
        return call.status == WAITING and call.visit == visit

    def _on_abandon(self, t: float, call: _Call, visit: int) -> None:
        if self._waiting_visit(call, visit):
            call.status = DONE
            call.q.n_waiting -= 1
            self._out.append(wire.call_abandoned(_ts(t), call.call_id, call.q.id))

    def _on_timeout(self, t: float, call: _Call, visit: int) -> None:
        if not self._waiting_visit(call, visit):
            return
        q = call.q
        q.n_waiting -= 1
        target = q.overflow
        if target is None:
            call.status = DONE
            self._out.append(wire.call_dequeued(_ts(t), call.call_id, q.id, "timeout"))
            return
        self._out.append(wire.call_dequeued(_ts(t), call.call_id, q.id, "overflow"))
        call.visit += 1
        call.q = target
        self._out.append(wire.call_queued(_ts(t), call.call_id, target.id, target.priority, target.channel))
        self._enqueue(t, call, target)

    # ------------------------------------------------------------------ shifts and breaks
    def _login(self, t: float, a: _Agent, shift_start: float) -> None:
        a.on_shift = True
        a.shift_no += 1
        a.pending = None
        if a.shift_len:
            self._push(shift_start + a.shift_len, LOGOUT, a, a.shift_no)
            uniform = self.rng.uniform
            for i, (after, jitter, _, _) in enumerate(a.breaks):
                bt = shift_start + after * 60 + (uniform(-jitter, jitter) * 60 if jitter else 0.0)
                if t <= bt < shift_start + a.shift_len:
                    self._push(bt, BREAK, a, (a.shift_no, i))
        self._make_available(t, a)

    def _on_login(self, t: float, a: _Agent, _b: Any) -> None:
        self._push(self.clock.next_at(t, a.shift_min), LOGIN, a, None)
        if a.on_shift:  # still finishing yesterday's last call: this login is skipped
            return
        self._login(t, a, t)

    def _on_logout(self, t: float, a: _Agent, shift_no: int) -> None:
        if not a.on_shift or shift_no != a.shift_no:
            return
        if a.state in ("available", "not_ready"):
            self._logout(t, a)
        else:
            a.pending = ("logout", None)

    def _logout(self, t: float, a: _Agent) -> None:
        a.on_shift = False
        a.token += 1
        a.break_seq += 1  # a break in progress ends with the shift
        self._agent_state(t, a, "logged_out")

    def _on_break(self, t: float, a: _Agent, key: tuple[int, int]) -> None:
        shift_no, i = key
        if not a.on_shift or shift_no != a.shift_no:
            return
        _, _, reason, duration = a.breaks[i]
        self._request_break(t, a, reason, duration())

    def _request_break(self, t: float, a: _Agent, reason: str, seconds: float) -> None:
        if a.state == "available":
            self._start_break(t, a, reason, seconds)
        elif a.state in ("ringing", "on_call", "wrap_up") and a.pending is None:
            a.pending = ("break", (reason, seconds))
        # Already not ready (another break or a meeting): this one is skipped, as floors do.

    def _start_break(self, t: float, a: _Agent, reason: str, seconds: float) -> None:
        a.token += 1
        a.break_seq += 1
        self._agent_state(t, a, "not_ready", reason)
        self._push(t + seconds, BREAK_END, a, a.break_seq)

    def _on_break_end(self, t: float, a: _Agent, break_seq: int) -> None:
        if a.state == "not_ready" and a.break_seq == break_seq and a.on_shift:
            self._make_available(t, a)

    # ------------------------------------------------------------------ incidents and broadcasts
    def _on_incident_start(self, t: float, i: int, _b: Any) -> None:
        inc = self.scenario.incidents[i]
        self._push(self.clock.next_at(t, minute_of_day(inc.at)), INCIDENT_START, i, None)
        self._push(t + inc.duration_minutes * 60, INCIDENT_END, i, None)
        if inc.broadcast:
            self._out.append(wire.broadcast(_ts(t), inc.broadcast, "warning",
                                            _ts(t + inc.duration_minutes * 60)))
        if inc.kind == "meeting":
            teams = inc.teams or list(self.teams)
            pool = [a for name in teams for a in self.teams[name] if a.on_shift and a.state != "not_ready"]
            for a in self.rng.sample(pool, round(len(pool) * inc.fraction)):
                self._request_break(t, a, inc.reason, inc.duration_minutes * 60)
        # A surge needs nothing here: the queues' rate schedules already include it.

    def _on_incident_end(self, t: float, i: int, _b: Any) -> None:
        inc = self.scenario.incidents[i]
        if inc.broadcast:
            self._out.append(wire.broadcast(_ts(t), f"Resolved: {inc.broadcast}", "info", _ts(t + 600)))

    def _on_broadcast(self, t: float, i: int, _b: Any) -> None:
        b = self.scenario.broadcasts[i]
        expires = _ts(t + b.expires_minutes * 60) if b.expires_minutes else None
        self._out.append(wire.broadcast(_ts(t), b.text, b.level, expires))
        first = minute_of_day(b.at)
        nxt = self.clock.next_at(t, first)  # tomorrow's first
        if b.every_minutes:
            # Repeats through the day up to `until` (default midnight), then from `at` again tomorrow.
            day_first, day = self.clock.last_at(t, first)
            last = self.clock.at(day, minute_of_day(b.until)) if b.until else self.clock.at(day, 1440)
            if last < day_first:  # an `until` before `at` means after midnight
                last = self.clock.at(day, minute_of_day(b.until) + 1440)  # type: ignore[arg-type]
            repeat = t + b.every_minutes * 60
            if repeat <= last:
                nxt = min(nxt, repeat)
        self._push(nxt, BROADCAST, i, None)
