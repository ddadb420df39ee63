"""Benchmark: the metrics engine on 1,000,000 events of a realistic mix (issue 2).

    python benchmarks/engine.py [--events 1000000] [--repeat 3] [--json]

The events are the `large` scenario (12 queues, 5,000 agents) recorded by the simulator from 07:00 local,
so the mix is a real floor's: agent states, queued/answered/ended calls, holds, abandons, overflows.
Measured:
- events_per_s: read the recording in chunks, parse + validate (pydantic) + apply, streamed from the file;
- apply_events_per_s: apply alone, on events parsed beforehand;
- peak_mb: the process's peak resident memory during the streamed run (interpreter and libraries included;
  the engine holds only what is live, the events are streamed).
The process runs with the garbage-collector thresholds the `wallboard` command sets (wallboard/tuning.py).
Target on a 2-core machine: events_per_s ≥ 250,000 and peak_mb < 300. Figures are medians of the repeats.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from wallboard.core.engine import MetricsEngine
from wallboard.recording import RecordingWriter, read_chunks
from wallboard.sim import Simulator, load_scenario
from wallboard.tuning import GC_THRESHOLDS, tune_gc

TARGET_EVENTS_PER_S = 250_000
TARGET_PEAK_MB = 300


def make_recording(path: Path, n_events: int, seed: int = 7) -> int:
    scenario = load_scenario("large")
    start = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo(scenario.timezone)).timestamp()
    sim = Simulator(scenario, seed=seed, start=start)
    written = 0
    with RecordingWriter(path) as w:
        for event in sim.run(start + 3 * 86_400):
            w.write(event)
            written += 1
            if written >= n_events:
                break
    return written


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def streamed_run(path: Path) -> tuple[int, float, MetricsEngine]:
    engine = MetricsEngine()
    t0 = time.perf_counter()
    for chunk in read_chunks(path):
        if chunk.rejected:
            raise SystemExit(f"recording has rejected lines: {chunk.rejected[0].describe()}")
        engine.apply_many(chunk.events)
    return engine.events_applied, time.perf_counter() - t0, engine


def apply_run(events: list) -> float:
    engine = MetricsEngine()
    t0 = time.perf_counter()
    engine.apply_many(events)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    tune_gc()  # as the `wallboard` command does at start (wallboard/tuning.py)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.jsonl"
        n = make_recording(path, args.events)
        log(f"recorded {n:,} events of the large scenario ({path.stat().st_size / 1e6:.0f} MB)")
        gc.collect()
        rss_before = peak_rss_mb()

        rates, engine = [], None
        for _ in range(args.repeat):
            engine = None
            gc.collect()
            count, wall, engine = streamed_run(path)
            rates.append(count / wall)
        peak = peak_rss_mb()
        log(f"parse+validate+apply: {statistics.median(rates):,.0f} events/s (runs: "
            + ", ".join(f"{r:,.0f}" for r in rates) + ")")
        log(f"peak RSS during streamed runs: {peak:.0f} MB (before: {rss_before:.0f} MB)")
        assert engine is not None
        anomalies = dict(engine.anomalies)
        engine = None

        events = [e for chunk in read_chunks(path) for e in chunk.events]
        apply_rates = []
        for _ in range(args.repeat):
            gc.collect()
            apply_rates.append(len(events) / apply_run(events))
        log(f"apply alone: {statistics.median(apply_rates):,.0f} events/s (runs: "
            + ", ".join(f"{r:,.0f}" for r in apply_rates) + ")")

    result = {
        "events": n,
        "events_per_s": round(statistics.median(rates)),
        "apply_events_per_s": round(statistics.median(apply_rates)),
        "peak_mb": round(peak, 1),
        "runs_events_per_s": [round(r) for r in rates],
        "anomalies": anomalies,
        "cpu_count": os.cpu_count(),
        "gc_thresholds": list(GC_THRESHOLDS),
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "target_peak_mb": TARGET_PEAK_MB,
        "meets_target": statistics.median(rates) >= TARGET_EVENTS_PER_S and peak < TARGET_PEAK_MB,
    }
    if args.json:
        print(json.dumps(result))
    else:
        log(f"target: ≥ {TARGET_EVENTS_PER_S:,} events/s and < {TARGET_PEAK_MB} MB: "
            + ("met" if result["meets_target"] else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
