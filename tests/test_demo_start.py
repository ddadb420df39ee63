"""`wallboard demo` shows a busy floor whatever the hour: 'auto' simulates from a morning time at night."""

from __future__ import annotations

from datetime import UTC, datetime

from wallboard.commands.demo import AUTO_START, auto_start, sim_start


def test_auto_start_is_now_in_business_hours_and_a_morning_time_at_night() -> None:
    # The site scenario is in Europe/London (GMT in November).
    assert auto_start("site", datetime(2026, 11, 23, 11, 0, tzinfo=UTC)) is None
    assert auto_start("site", datetime(2026, 11, 23, 22, 0, tzinfo=UTC)) == AUTO_START
    assert auto_start("site", datetime(2026, 11, 23, 6, 59, tzinfo=UTC)) == AUTO_START


def test_sim_start_is_local_time_in_the_scenario_zone() -> None:
    day = datetime(2026, 11, 23).date()
    assert sim_start("site", "09:30", today=day) == datetime(2026, 11, 23, 9, 30, tzinfo=UTC).timestamp()
