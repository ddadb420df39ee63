"""``wallboard demo``: the simulator and a feed server on loopback in the background, and the board."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import threading
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

NAME = "demo"
HELP = "run the board against the built-in simulator (nothing else to start)"
DEFAULT_SCENARIO = "site"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", default=None,
                        help=f"simulator scenario name or file (default: {DEFAULT_SCENARIO}, else small)")
    parser.add_argument("--kiosk", action="store_true",
                        help="full screen wall display (no cursor, no chrome)")
    parser.add_argument("--screen", default=None, help="kiosk: screen name or 0-based index")
    parser.add_argument("--theme", choices=("dark", "light", "high-contrast"), default=None)
    parser.add_argument("--config", default=None, help="board config (pages, theme); its feed is ignored")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", default="auto", metavar="HH:MM|incident|now|auto",
                        help="start the simulation at this local time today (the scenario's time zone), "
                             "'incident': 2 minutes before the scenario's first incident, 'now', or 'auto' "
                             "(default: now during business hours, else 09:30, so the floor is busy)")
    parser.add_argument("--warm-up", type=float, default=None, metavar="MINUTES",
                        help="simulate this many minutes before the start at once, so the board opens on a "
                             f"floor that has been working (default {DEFAULT_WARM_UP_MIN:g}; with --start "
                             "incident 0, so the incident's surge is what sets alerts off; 0: everyone has just "
                             "logged in)")
    parser.add_argument("--port", type=int, default=0, help="loopback port of the embedded feed (0: any)")
    parser.add_argument("--quit-after", type=float, default=None, help=argparse.SUPPRESS)  # tests


def pick_scenario(name: str | None) -> str:
    if name:
        return name
    from wallboard.sim import shipped_scenarios
    names = set(shipped_scenarios())
    return DEFAULT_SCENARIO if DEFAULT_SCENARIO in names else "small"


class EmbeddedFeed:
    """A FeedServer on its own asyncio thread, serving ``source`` on 127.0.0.1."""

    def __init__(self, source: Any, port: int = 0, **server_options: Any) -> None:
        from wallboard.feed.server import FeedServer, ServerConfig
        self.server = FeedServer(source, ServerConfig(host="127.0.0.1", port=port, **server_options))
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="wallboard-demo-feed", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            async with self.server:
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    def start(self) -> str:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self.server.url

    def call(self, fn: Any, *args: Any) -> None:
        """Run ``fn(*args)`` on the feed's loop thread (e.g. PushSource.push)."""
        self._loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        if self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


BUSINESS_HOURS = (7, 19)  # local hours in which 'auto' simulates from now
DEFAULT_WARM_UP_MIN = 90.0  # long enough for today's figures and every agent state to look like a working day
AUTO_START = "09:30"


def auto_start(scenario: str, now: datetime | None = None) -> str | None:
    """None (start now) during the scenario's business hours; otherwise a busy morning time."""
    from wallboard.sim import load_scenario
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(load_scenario(scenario).timezone))
    return None if BUSINESS_HOURS[0] <= local.hour < BUSINESS_HOURS[1] else AUTO_START


def warm_up_minutes(start: str | None, given: float | None) -> float:
    """--warm-up as given, else the default: none before an incident (its surge should be what sets the alerts
    off, not the morning before it), DEFAULT_WARM_UP_MIN otherwise."""
    if given is not None:
        return max(0.0, given)
    return 0.0 if start == "incident" else DEFAULT_WARM_UP_MIN


def sim_start(scenario: str, hh_mm: str, today: date | None = None) -> float:
    """Epoch seconds of HH:MM today (or ``today``) in the scenario's time zone; "incident": two minutes
    before the scenario's first incident."""
    from wallboard.sim import load_scenario
    scen = load_scenario(scenario)
    lead = 0
    if hh_mm.strip() == "incident":
        if not scen.incidents:
            raise ValueError(f"scenario {scenario!r} has no incidents")
        hh_mm, lead = scen.incidents[0].at, 120
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", hh_mm.strip())
    if not m:
        raise ValueError(f"--start must be HH:MM (24 h) or incident, got {hh_mm!r}")
    zone = ZoneInfo(scen.timezone)
    day = today or datetime.now(zone).date()
    return datetime.combine(day, time(int(m.group(1)), int(m.group(2))), zone).timestamp() - lead


def run(args: argparse.Namespace) -> int:
    from wallboard.ui.display import display_problem
    problem = display_problem("demo")
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from wallboard.commands.run import load_config
    from wallboard.feed.sources import SimSource, SourceError
    try:
        config = load_config(args.config)
    except (OSError, ValueError) as exc:
        print(f"wallboard demo: {exc}", file=sys.stderr)
        return 2
    scenario = pick_scenario(args.scenario)
    try:
        choice = args.start
        if choice == "auto":
            choice = auto_start(scenario)
            if choice is not None:
                print(f"wallboard demo: the simulated centre is quiet at this hour; simulating from {choice} "
                      "local time (--start now to simulate the current time)", file=sys.stderr)
        start = sim_start(scenario, choice) if choice and choice != "now" else None
        source = SimSource(scenario, speed=args.speed, seed=args.seed, start=start,
                           warm_up_s=warm_up_minutes(choice, args.warm_up) * 60)
    except (SourceError, ValueError, OSError, KeyError) as exc:
        print(f"wallboard demo: {exc}", file=sys.stderr)
        return 2
    if "metrics" not in config.model_fields_set:  # figures reset at midnight where the centre is
        from wallboard.sim import load_scenario
        zone = load_scenario(scenario).timezone
        config = config.model_copy(update={"metrics": config.metrics.model_copy(update={"timezone": zone})})
    feed = EmbeddedFeed(source, args.port, metrics_config=config.metrics)
    url = feed.start()
    from wallboard.ui.app import run_board
    try:
        return run_board(config, url, kiosk=args.kiosk, screen=args.screen, theme_name=args.theme,
                         quit_after_s=args.quit_after,
                         config_path=Path(args.config) if args.config else None)
    finally:
        feed.stop()
