"""Benchmark: record the `large` scenario's full day as fast as possible (issue 3: ≥ 100,000 events/s).

    python benchmarks/simulator.py [--scenario large] [--hours 24] [--repeat 3] [--gz] [--json]

Times `wallboard simulate large --fast --record FILE --start <local midnight> --duration 24h` in-process
(simulate + serialise + write). Prints the median of the repeats; `--json` prints one object with
events_per_s and wall_s.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from wallboard.cli import main as wallboard_main
from wallboard.sim import load_scenario

TARGET_EVENTS_PER_S = 100_000


def one_run(scenario_name: str, hours: float, seed: int, path: Path) -> tuple[int, float]:
    tz = load_scenario(scenario_name).timezone
    start = datetime(2026, 11, 23, tzinfo=ZoneInfo(tz)).isoformat()  # a full local day from midnight
    argv = ["simulate", scenario_name, "--fast", "--seed", str(seed), "--start", start,
            "--duration", f"{hours * 3600:g}", "--record", str(path)]
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # the command's closing line; keep --json output clean
        status = wallboard_main(argv)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"wallboard simulate failed with status {status}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        count = sum(1 for _ in fh)
    return count, wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="large")
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gz", action="store_true", help="record .jsonl.gz instead of .jsonl")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("day.jsonl.gz" if args.gz else "day.jsonl")
        for _ in range(args.repeat):
            runs.append(one_run(args.scenario, args.hours, args.seed, path))
        size = path.stat().st_size
    events = runs[0][0]
    wall = statistics.median(w for _, w in runs)
    result = {
        "scenario": args.scenario, "hours": args.hours, "events": events, "wall_s": round(wall, 3),
        "events_per_s": round(events / wall), "runs_wall_s": [round(w, 3) for _, w in runs],
        "file_mb": round(size / 1e6, 1), "gzip": args.gz, "target_events_per_s": TARGET_EVENTS_PER_S,
        "meets_target": events / wall >= TARGET_EVENTS_PER_S,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.scenario}, {args.hours:g} h: {events:,} events in {wall:.2f} s"
              f" (median of {args.repeat})"
              f" = {events / wall:,.0f} events/s (target {TARGET_EVENTS_PER_S:,}: "
              f"{'met' if result['meets_target'] else 'NOT met'}); file {result['file_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
