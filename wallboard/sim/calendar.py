"""Local wall-clock times of a scenario's time zone, and piecewise-constant arrival rates through the day."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)


class LocalClock:
    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)

    def date_of(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.tz).date()

    def at(self, day: date, minutes: float) -> float:
        """Epoch of ``minutes`` after local midnight of ``day`` on the wall clock (DST-aware)."""
        base = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return (base + timedelta(minutes=minutes)).timestamp()

    def next_at(self, ts: float, minutes: float) -> float:
        """First time strictly after ``ts`` at which the wall clock shows ``minutes`` after midnight."""
        day = self.date_of(ts) - DAY
        while True:
            t = self.at(day, minutes)
            if t > ts:
                return t
            day += DAY

    def last_at(self, ts: float, minutes: float) -> tuple[float, date]:
        """Latest time at or before ``ts`` showing ``minutes`` after midnight, and its local date."""
        day = self.date_of(ts) + DAY
        while True:
            t = self.at(day, minutes)
            if t <= ts:
                return t, day
            day -= DAY


class RateSchedule:
    """Arrivals per second of one queue, piecewise constant: profile slots × active surges.

    Built lazily one local day at a time, so a live feed can run for weeks.
    """

    def __init__(self, clock: LocalClock, per_hour: float, profile: list[float] | None,
                 surges: list[tuple[float, float, float]]) -> None:
        self.clock = clock
        self.per_second = per_hour / 3600.0
        self.profile = profile or [1.0]
        self.surges = surges  # (start minute of day, duration minutes, multiplier)
        self._day: date | None = None
        self._starts: list[float] = []
        self._rates: list[float] = []
        self._day_end = 0.0

    def _build(self, day: date) -> None:
        clock = self.clock
        start, end = clock.at(day, 0), clock.at(day + DAY, 0)
        step = 1440 / len(self.profile)
        # On a DST day a wall time can be skipped or repeated: keep slot starts monotonic.
        slot_times = list(accumulate((clock.at(day, i * step) for i in range(len(self.profile))), max))
        windows = []
        for d in (day - DAY, day):
            for s_min, dur, mult in self.surges:
                s = clock.at(d, s_min)
                windows.append((s, s + dur * 60, mult))
        cuts = {start, *slot_times}
        for s, e, _ in windows:
            for x in (s, e):
                if start < x < end:
                    cuts.add(x)
        starts = sorted(cuts)
        rates = []
        for t in starts:
            slot = max(0, bisect_right(slot_times, t) - 1)
            r = self.per_second * self.profile[slot]
            for s, e, mult in windows:
                if s <= t < e:
                    r *= mult
            rates.append(r)
        self._day, self._starts, self._rates, self._day_end = day, starts, rates, end

    def segment(self, ts: float) -> tuple[float, float]:
        """(rate per second at ``ts``, time at which it next changes)."""
        if self._day is None or not (self._starts[0] <= ts < self._day_end):
            self._build(self.clock.date_of(ts))
        i = bisect_right(self._starts, ts) - 1
        end = self._starts[i + 1] if i + 1 < len(self._starts) else self._day_end
        return self._rates[i], end
