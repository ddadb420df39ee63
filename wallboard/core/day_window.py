"""When 'today' starts: the daily reset at a wall-clock time in the site's time zone.

Resets are computed on local calendar dates, so a day is 23 or 25 hours long across a DST change.
A reset time that does not exist on a date (skipped by a DST jump) resolves as Python's ``fold=0`` does:
with the offset in force before the jump.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator


def check_timezone(value: str) -> str:
    """An IANA time zone name that this machine's tz database knows (e.g. Europe/London)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


# A validated time zone name, for every config model that names one.
TimeZoneName = Annotated[str, AfterValidator(check_timezone)]


class DayClock:
    def __init__(self, timezone: str = "UTC", reset_time: str = "00:00") -> None:
        self.zone = ZoneInfo(timezone)
        hh, mm = reset_time.split(":")
        self.reset = time(int(hh), int(mm))

    @lru_cache(maxsize=64)  # noqa: B019 - few distinct dates; the clock lives as long as its engine
    def _reset_on(self, day: date) -> float:
        return datetime.combine(day, self.reset, tzinfo=self.zone).timestamp()

    def day_start(self, ts: float) -> float:
        """Epoch seconds of the latest reset at or before ``ts``."""
        local_day = datetime.fromtimestamp(ts, self.zone).date()
        for offset in (0, -1, -2):
            start = self._reset_on(local_day + timedelta(days=offset))
            if start <= ts:
                return start
        raise AssertionError("unreachable: a reset lies within two days")  # pragma: no cover

    def next_reset(self, ts: float) -> float:
        """Epoch seconds of the first reset strictly after ``ts``."""
        local_day = datetime.fromtimestamp(ts, self.zone).date()
        for offset in (0, 1, 2):
            start = self._reset_on(local_day + timedelta(days=offset))
            if start > ts:
                return start
        raise AssertionError("unreachable: a reset lies within two days")  # pragma: no cover
