"""`wallboard demo` shows a busy floor whatever the hour: 'auto' simulates from a morning time at night."""

from __future__ import annotations

from datetime import UTC, datetime

from wallboard.commands.demo import AUTO_START, DEFAULT_WARM_UP_MIN, auto_start, sim_start, warm_up_minutes


def test_auto_start_is_now_in_business_hours_and_a_morning_time_at_night() -> None:
    # The site scenario is in Europe/London (GMT in November).
    assert auto_start("site", datetime(2026, 11, 23, 11, 0, tzinfo=UTC)) is None
    assert auto_start("site", datetime(2026, 11, 23, 22, 0, tzinfo=UTC)) == AUTO_START
    assert auto_start("site", datetime(2026, 11, 23, 6, 59, tzinfo=UTC)) == AUTO_START


def test_sim_start_is_local_time_in_the_scenario_zone() -> None:
    day = datetime(2026, 11, 23).date()
    assert sim_start("site", "09:30", today=day) == datetime(2026, 11, 23, 9, 30, tzinfo=UTC).timestamp()


def test_a_warm_up_opens_on_a_working_floor_then_runs_live() -> None:
    """SimSource(warm_up_s=...): the simulation starts that long before ``start``; its events up to ``start``
    come at once, in chunks; then the clock runs from ``start``."""
    import asyncio

    from wallboard.core.engine import MetricsEngine
    from wallboard.feed.sources import SimSource

    start = sim_start("site", "10:00", today=datetime(2026, 11, 24).date())

    async def first_batches(source: SimSource, n: int) -> list[list]:
        out: list[list] = []
        async for batch in source.batches():
            out.append(batch)
            if len(out) == n:
                return out
        return out

    warm = SimSource("site", start=start, warm_up_s=3600)
    warm.WARM_UP_CHUNK = 1000  # (small chunks: the test sees more than one)
    batches = asyncio.run(first_batches(warm, 3))
    assert all(0 < len(b) <= 1000 for b in batches)
    history = [e for b in batches for e in b]
    assert start - 3600 <= min(e.ts for e in history) and max(e.ts for e in history) <= start
    engine = MetricsEngine()
    engine.apply_many(history)
    fig = engine.figures(start)["total"]["today"]
    assert fig["offered"] > 100 and fig["handled"] > 50  # an hour of a working morning
    by_state = engine.figures(start)["agents"]["by_state"]
    assert by_state.get("available", 0) > 0 and by_state.get("on_call", 0) > 0 and len(by_state) >= 4
    cold = SimSource("site", start=start)  # no warm-up: nothing before the start
    first = asyncio.run(first_batches(cold, 1))[0]
    assert min(e.ts for e in first) >= start


def test_the_demo_warms_up_by_default_except_before_an_incident() -> None:
    assert warm_up_minutes(None, None) == warm_up_minutes("09:30", None) == DEFAULT_WARM_UP_MIN > 0
    assert warm_up_minutes("incident", None) == 0
    assert warm_up_minutes("incident", 30) == 30 and warm_up_minutes(None, 0) == 0 and warm_up_minutes("now", -5) == 0
