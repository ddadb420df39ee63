"""Shared by benchmarks/refresh.py and benchmarks/tile_paint.py: the `large` scenario's events, and a shown
board's real controller set up to replay them on a clock the benchmark moves."""

from __future__ import annotations

import dataclasses
from typing import Any

T0 = 1_800_000_000.0  # the replay's board time at its start


def large_events(n: int) -> tuple[list, list]:
    """(the first half hour of the `large` scenario's day: logins and the state a board starts from, then at
    least ``n`` events of the day after it)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from wallboard.sim import Simulator, load_scenario

    scen = load_scenario("large")
    start = datetime(2026, 3, 10, 8, 0, tzinfo=ZoneInfo(scen.timezone)).timestamp()
    sim = Simulator(scen, seed=1, start=start)
    init = sim.events_until(start + 1800)
    pool: list = []
    t = start + 1800
    while len(pool) < n:
        t += 600
        pool.extend(sim.events_until(t))
    return init, pool


def replaying_controller(win: Any, init: list) -> tuple[Any, dict[str, float]]:
    """``win``'s controller, stopped (the benchmark refreshes), on an engine holding ``init`` (restamped to
    T0), live, its clock the returned dict's "now" (set it before each refresh)."""
    from wallboard.core.engine import MetricsEngine
    from wallboard.core.view_model import LinkStatus

    ctl = win.controller
    ctl.stop()
    eng = MetricsEngine(ctl.config.metrics)
    eng.apply_many([dataclasses.replace(e, ts=T0) for e in init])
    ctl.use_engine(eng)
    clock = {"now": T0}
    ctl._clock = lambda: clock["now"]
    ctl.set_link(LinkStatus("live", last_data_at=T0))
    return ctl, clock
