"""Outcome tallies for one queue and one window, and the figures derived from them.

Durations are integer milliseconds so that adding and removing outcomes (the rolling window) is exact.
Waits are kept in sparse half-second histograms: key ``2s`` holds waits of exactly ``s`` whole seconds,
key ``2s+1`` waits strictly between ``s`` and ``s+1``. For whole-second thresholds this makes both tests
exact at query time, whatever the threshold in force:  wait ≤ T  ⇔  key ≤ 2T,  and  wait < S  ⇔  key < 2S.

A tally keeps, as a cache (never serialised, never compared), the Counts of the (T, S) it was last asked
for, updated in O(1) by every ``add``; ``version`` changes on every ``add`` so that callers can cache
what they derive from it. Both exist because the wallboard asks for figures many times a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ANSWER, ABANDON, DEQUEUE, HANDLED = 0, 1, 2, 3
OUTCOME_KINDS = ("answer", "abandon", "dequeue", "handled")
_MAX_KEY = 2 * 3600 + 1  # waits beyond an hour share one bucket; thresholds are capped at 3600 s


def wait_key(wait_ms: int) -> int:
    s, rem = divmod(wait_ms, 1000)
    key = 2 * s + (1 if rem else 0)
    return key if key < _MAX_KEY else _MAX_KEY


@dataclass(slots=True)
class Tally:
    answered: int = 0
    answered_wait_ms: int = 0
    answered_hist: dict[int, int] = field(default_factory=dict)  # key -> count
    abandoned_all: int = 0  # short abandons included; they are split out at query time
    abandoned_hist: dict[int, list[int]] = field(default_factory=dict)  # key -> [count, wait_ms]
    dequeued: int = 0
    handled: int = 0
    handle_ms: int = 0
    # Caches, not state: bumped on every add; the Counts of the last (2T, 2S) asked for, kept up to date.
    version: int = field(default=0, compare=False, repr=False)
    _memo_keys: tuple[int, int] = field(default=(-1, -1), compare=False, repr=False)
    _memo: Counts | None = field(default=None, compare=False, repr=False)

    def add(self, kind: int, dur_ms: int, sign: int = 1) -> None:
        self.version += 1
        if kind == ANSWER:
            self.answered += sign
            self.answered_wait_ms += sign * dur_ms
            k = wait_key(dur_ms)
            n = self.answered_hist.get(k, 0) + sign
            if n:
                self.answered_hist[k] = n
            else:
                del self.answered_hist[k]
        elif kind == ABANDON:
            self.abandoned_all += sign
            k = wait_key(dur_ms)
            cell = self.abandoned_hist.get(k)
            if cell is None:
                self.abandoned_hist[k] = [sign, sign * dur_ms]
            else:
                cell[0] += sign
                cell[1] += sign * dur_ms
                if not cell[0]:
                    del self.abandoned_hist[k]
        elif kind == DEQUEUE:
            self.dequeued += sign
        else:
            self.handled += sign
            self.handle_ms += sign * dur_ms
        if self._memo is not None:
            t_key, s_key = self._memo_keys
            self._memo.add(kind, dur_ms, sign, t_key, s_key)

    def counts(self, threshold_s: int, short_abandon_s: int) -> Counts:
        """``count(self, threshold_s, short_abandon_s, 0)``, cached: the result is shared and kept up to date
        by later adds, so callers copy it before changing it or keeping it."""
        keys = (2 * threshold_s, 2 * short_abandon_s)
        if self._memo is None or self._memo_keys != keys:
            self._memo = count(self, threshold_s, short_abandon_s, 0)
            self._memo_keys = keys
        return self._memo

    def copy(self) -> Tally:
        return Tally(self.answered, self.answered_wait_ms, dict(self.answered_hist), self.abandoned_all,
                     {k: list(v) for k, v in self.abandoned_hist.items()}, self.dequeued, self.handled,
                     self.handle_ms)

    def to_json(self) -> dict:
        return {
            "answered": self.answered, "answered_wait_ms": self.answered_wait_ms,
            "answered_hist": [[k, v] for k, v in self.answered_hist.items()],
            "abandoned_all": self.abandoned_all,
            "abandoned_hist": [[k, c, w] for k, (c, w) in self.abandoned_hist.items()],
            "dequeued": self.dequeued, "handled": self.handled, "handle_ms": self.handle_ms,
        }

    @classmethod
    def from_json(cls, d: dict) -> Tally:
        return cls(d["answered"], d["answered_wait_ms"], {k: v for k, v in d["answered_hist"]},
                   d["abandoned_all"], {k: [c, w] for k, c, w in d["abandoned_hist"]}, d["dequeued"],
                   d["handled"], d["handle_ms"])


@dataclass(slots=True)
class Counts:
    """Whole-number figures of one queue and window for a given T and S, before averaging."""

    answered: int = 0
    answered_within: int = 0
    answered_wait_ms: int = 0
    abandoned: int = 0
    abandoned_within: int = 0
    abandoned_wait_ms: int = 0
    short_abandoned: int = 0
    dequeued: int = 0
    handled: int = 0
    handle_ms: int = 0
    waiting_over_threshold: int = 0

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned + self.dequeued

    def __iadd__(self, other: Counts) -> Counts:
        self.answered += other.answered
        self.answered_within += other.answered_within
        self.answered_wait_ms += other.answered_wait_ms
        self.abandoned += other.abandoned
        self.abandoned_within += other.abandoned_within
        self.abandoned_wait_ms += other.abandoned_wait_ms
        self.short_abandoned += other.short_abandoned
        self.dequeued += other.dequeued
        self.handled += other.handled
        self.handle_ms += other.handle_ms
        self.waiting_over_threshold += other.waiting_over_threshold
        return self

    def copy(self) -> Counts:
        return Counts(self.answered, self.answered_within, self.answered_wait_ms, self.abandoned,
                      self.abandoned_within, self.abandoned_wait_ms, self.short_abandoned, self.dequeued,
                      self.handled, self.handle_ms, self.waiting_over_threshold)

    def add(self, kind: int, dur_ms: int, sign: int, t_key: int, s_key: int) -> None:
        """Count one outcome in (sign=-1: out of) these Counts, exactly as ``count`` would (keys 2T and 2S)."""
        if kind == ANSWER:
            self.answered += sign
            self.answered_wait_ms += sign * dur_ms
            if wait_key(dur_ms) <= t_key:
                self.answered_within += sign
        elif kind == ABANDON:
            k = wait_key(dur_ms)
            if k < s_key:
                self.short_abandoned += sign
            else:
                self.abandoned += sign
                self.abandoned_wait_ms += sign * dur_ms
                if k <= t_key:
                    self.abandoned_within += sign
        elif kind == DEQUEUE:
            self.dequeued += sign
        else:
            self.handled += sign
            self.handle_ms += sign * dur_ms


def count(tally: Tally, threshold_s: int, short_abandon_s: int, waiting_over: int) -> Counts:
    t_key, s_key = 2 * threshold_s, 2 * short_abandon_s
    c = Counts(answered=tally.answered, answered_wait_ms=tally.answered_wait_ms, dequeued=tally.dequeued,
               handled=tally.handled, handle_ms=tally.handle_ms, waiting_over_threshold=waiting_over)
    c.answered_within = sum(n for k, n in tally.answered_hist.items() if k <= t_key)
    for k, (n, w) in tally.abandoned_hist.items():
        if k < s_key:
            c.short_abandoned += n
        else:
            c.abandoned += n
            c.abandoned_wait_ms += w
            if k <= t_key:
                c.abandoned_within += n
    return c


def _ratio(num: float, den: float, scale: float = 1.0) -> float | None:
    return None if den <= 0 else scale * num / den


def service_level_pct(c: Counts, formula: str) -> float | None:
    """The four service-level formulas of docs/metrics.md.

    A caller still waiting beyond T joins every denominator until the call leaves the queue.
    """
    w = c.waiting_over_threshold
    if formula == "answered_of_offered":
        return _ratio(c.answered_within, c.offered + w, 100.0)
    if formula == "answered_of_answered":
        return _ratio(c.answered_within, c.answered + w, 100.0)
    if formula == "abandons_ignored":
        return _ratio(c.answered_within, c.offered - c.abandoned_within + w, 100.0)
    if formula == "abandons_positive":
        return _ratio(c.answered_within + c.abandoned_within, c.offered + w, 100.0)
    raise ValueError(f"unknown service-level formula {formula!r}")


def derived(c: Counts, formula: str) -> dict[str, float | int | None]:
    """The published figures of one window (names fixed by docs/metrics.md)."""
    return {
        "offered": c.offered,
        "answered": c.answered,
        "answered_within": c.answered_within,
        "abandoned": c.abandoned,
        "abandoned_within": c.abandoned_within,
        "short_abandoned": c.short_abandoned,
        "dequeued": c.dequeued,
        "handled": c.handled,
        "waiting_over_threshold": c.waiting_over_threshold,
        "asa_s": _ratio(c.answered_wait_ms, c.answered, 0.001),
        "ata_s": _ratio(c.abandoned_wait_ms, c.abandoned, 0.001),
        "aht_s": _ratio(c.handle_ms, c.handled, 0.001),
        "abandon_rate_pct": _ratio(c.abandoned, c.offered, 100.0),
        "service_level_pct": service_level_pct(c, formula),
    }
