"""`wallboard simulate SCENARIO`: run the simulator in real time (× speed) or as fast as possible."""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import datetime, timedelta
from typing import IO, Any

NAME = "simulate"
HELP = "simulate a contact centre from a scenario; print or record its events (docs/simulator.md)"

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")


def parse_duration(text: str) -> float:
    """'8h', '90m', '1h30m', '45s' or plain seconds, to seconds."""
    text = text.strip().lower()
    try:
        value = float(text)
    except ValueError:
        m = _DURATION.fullmatch(text)
        if not text or not m or not any(m.groups()):
            raise ValueError(f"bad duration {text!r} (use e.g. 8h, 90m, 1h30m, 45s)") from None
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        value = h * 3600 + mi * 60 + s
    if value <= 0:
        raise ValueError(f"duration must be > 0, got {text!r}")
    return value


def parse_start(text: str | None, timezone: str) -> float:
    """ISO 8601 (a time without an offset is read in the scenario's zone); default today 08:00 there."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    if text is None:
        today = datetime.now(tz).date()
        return datetime(today.year, today.month, today.day, 8, 0, tzinfo=tz).timestamp()
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad --start {text!r} (use ISO 8601, e.g. 2026-11-23T08:00)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.timestamp()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO",
                        help="a scenario file, or the name of a shipped one (small, site, large, stress)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1): same seed, same events")
    parser.add_argument("--duration", default="8h", help="simulated time to run, e.g. 8h, 90m (default 8h)")
    parser.add_argument("--start", default=None,
                        help="simulated start, ISO 8601 (default today 08:00 in the scenario's time zone)")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, help="real time × X (default 1)")
    pace.add_argument("--fast", action="store_true", help="as fast as possible")
    parser.add_argument("--record", metavar="FILE", default=None,
                        help="write the events to FILE (.jsonl or .jsonl.gz) instead of standard output")


class Progress:
    """A one-line progress bar on a terminal; silent when the stream is not a TTY."""

    def __init__(self, stream: IO[str], total_s: float) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.total_s = total_s
        self._last = 0.0

    def update(self, done_s: float, events: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        frac = min(1.0, max(0.0, done_s / self.total_s))
        bar = "#" * int(frac * 30)
        sim = str(timedelta(seconds=int(done_s)))
        self.stream.write(f"\r[{bar:<30}] {frac * 100:5.1f}%  {sim} simulated  {events:,} events")
        self.stream.flush()

    def finish(self, done_s: float, events: int) -> None:
        if self.enabled:
            self.update(done_s, events, force=True)
            self.stream.write("\n")
            self.stream.flush()


class _StdoutSink:
    def __init__(self) -> None:
        from wallboard.core.protocol import dump_event

        self._dump = dump_event
        self.count = 0

    def write_many(self, events: list[Any]) -> None:
        if events:
            sys.stdout.write("".join(self._dump(e) + "\n" for e in events))
            sys.stdout.flush()
            self.count += len(events)

    def close(self) -> None:
        pass


def run(args: argparse.Namespace) -> int:
    from wallboard.recording import RecordingWriter
    from wallboard.sim import ScenarioError, Simulator, load_scenario

    try:
        scenario = load_scenario(args.scenario)
        duration = parse_duration(args.duration)
        start = parse_start(args.start, scenario.timezone)
    except (ScenarioError, ValueError) as exc:
        print(f"wallboard simulate: {exc}", file=sys.stderr)
        return 2
    if not args.fast and args.speed <= 0:
        print("wallboard simulate: --speed must be > 0", file=sys.stderr)
        return 2
    end = start + duration
    sim = Simulator(scenario, args.seed, start)
    try:
        sink: Any = RecordingWriter(args.record) if args.record else _StdoutSink()
    except OSError as exc:
        print(f"wallboard simulate: cannot write {args.record}: {exc}", file=sys.stderr)
        return 2
    progress = Progress(sys.stderr, duration)
    count = 0
    failed: OSError | None = None
    try:
        if args.fast:
            step = 300.0
            t = start
            while t < end:
                t = min(end, t + step)
                batch = sim.events_until(t)
                sink.write_many(batch)
                count += len(batch)
                progress.update(t - start, count)
        else:
            wall0 = time.monotonic()
            t = start
            while t < end:
                t = min(end, start + (time.monotonic() - wall0) * args.speed)
                batch = sim.events_until(t)
                sink.write_many(batch)
                count += len(batch)
                progress.update(t - start, count)
                if t < end:
                    time.sleep(min(0.1, (end - t) / args.speed))  # pacing, not synchronisation
        progress.finish(t - start, count)
    except BrokenPipeError:  # e.g. `| head`: the reader is gone, nothing is lost that was wanted
        return 0
    except OSError as exc:  # e.g. a full disk: say so, keep what was written (it reads back up to the cut)
        failed = exc
    finally:
        try:
            sink.close()
        except OSError as exc:
            failed = failed or exc
    if failed is not None:
        print(f"wallboard simulate: cannot write {args.record or 'standard output'}: "
              f"{failed.strerror or failed} ({count:,} events generated)", file=sys.stderr)
        return 1
    if args.record:
        print(f"wallboard simulate: {count:,} events written to {args.record}", file=sys.stderr)
    return 0
