"""Soak: days of a scenario in accelerated time, simulator → feed server → feed client → engine.

The source runs the simulator as fast as the client keeps up (a window of unacknowledged events, so the run
measures the pipeline, not slow-consumer drops), records every event to a .jsonl.gz as it goes, and samples
memory, open fds and threads each simulated hour. At the end the client's figures must equal those of the
server's engine and of a fresh engine fed the whole recording; fds and threads must be back where they were.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

from wallboard.core import protocol as p
from wallboard.core.engine import MetricsEngine
from wallboard.core.metrics_config import MetricsConfig
from wallboard.feed.client import FeedClient
from wallboard.recording import RecordingWriter, read_chunks
from wallboard.reliability.harness import FAST, EngineSink, ServerThread, open_fds, rss_mb
from wallboard.reliability.hostile import DAY0
from wallboard.reliability.table import Row

WINDOW_EVENTS = 15_000  # unacknowledged events the source lets ahead of the client (< max_pending 20,000)


class AcceleratedSimSource:
    """The simulator at full speed with flow control; its clock is the simulated time."""

    def __init__(self, scenario: str, *, days: float, seed: int, record: Path, sink: EngineSink,
                 step_s: float = 30.0) -> None:
        from wallboard.sim import Simulator, load_scenario

        self.scenario = scenario
        self.start = DAY0 + 6 * 3600  # 2026-11-24 00:00 in Chicago
        self.end = self.start + days * 86400
        self.step_s = step_s
        self.description = f"soak:{scenario}"
        self._sim = Simulator(load_scenario(scenario), seed=seed, start=self.start)
        self._t = self.start
        self._sink = sink
        self._writer = RecordingWriter(record)
        self.published = 0
        self.samples: list[dict] = []
        self.on_hour: list = []

    def clock(self) -> float:
        return self._t

    async def batches(self) -> AsyncIterator[list[p.Event]]:
        next_sample = self.start
        try:
            while self._t < self.end:
                while self.published - (self._sink.seq or 0) > WINDOW_EVENTS:
                    await asyncio.sleep(0.002)  # pacing the producer to the consumer
                self._t = min(self.end, self._t + self.step_s)
                events = self._sim.events_until(self._t)
                if self._t >= next_sample:
                    self.samples.append({"sim_h": round((self._t - self.start) / 3600, 2), "rss_mb": rss_mb(),
                                         "fds": open_fds(), "threads": threading.active_count(),
                                         "events": self.published, "wall_s": time.monotonic()})
                    next_sample += 3600
                if events:
                    self._writer.write_many(events)
                    self.published += len(events)
                    yield events
                else:
                    await asyncio.sleep(0)
        finally:
            self._writer.close()


def soak(scenario: str = "site", days: float = 0.25, seed: int = 7) -> Row:
    """Expected: no data lost (client = server = an engine fed the recording), memory flat once warm (the
    engine's state is bounded: agents, rolling windows, a bounded set of recent call ids), fds and threads
    back to their starting counts."""
    cmd_days = f"{days:g}"
    row = Row(f"soak: {cmd_days} day(s) of '{scenario}' (sim → server → client → engine)",
              command=f"python -m wallboard.reliability --only soak --soak-scenario {scenario} "
                      f"--soak-days {cmd_days}")
    t0 = time.monotonic()
    gc.collect()
    fds0, threads0 = open_fds(), threading.active_count()
    config = MetricsConfig(timezone="America/Chicago")
    with tempfile.TemporaryDirectory() as d:
        rec = Path(d) / "soak.jsonl.gz"
        sink = EngineSink()
        holder: dict = {}

        def make_source() -> AcceleratedSimSource:
            holder["src"] = AcceleratedSimSource(scenario, days=days, seed=seed, record=rec, sink=sink)
            return holder["src"]

        with ServerThread(make_source, metrics_config=config, heartbeat_s=1.0) as srv:
            src: AcceleratedSimSource = holder["src"]
            client = FeedClient(srv.url, sink, **FAST)
            client.start()
            try:
                srv.run(srv.server.source_done.wait(), timeout=days * 86400)
                total = srv.server.seq
                sink.wait_seq(total, timeout=600)
                wall = time.monotonic() - t0
                now = src.end
                got = sink.figures(now)
                server_figs = srv.figures(now)
            finally:
                client.stop()
        if srv.server.source_error is not None:
            row.fail(f"source failed: {srv.server.source_error!r}")
        ref = MetricsEngine(config)
        rejected = 0
        recorded = 0
        for chunk in read_chunks(rec):
            ref.apply_many(chunk.events)
            recorded += len(chunk.events)
            rejected += len(chunk.rejected)
        want = ref.figures(now, agent_list=True)
        rec_mb = rec.stat().st_size / 2**20
    lost = 0
    if got != server_figs:
        lost += 1
        row.fail("client figures differ from the server's")
    if got != want:
        lost += 1
        row.fail("client figures differ from an engine fed the whole recording")
    if recorded != total or rejected:
        lost += abs(total - recorded) + rejected
        row.fail(f"recording holds {recorded:,} events ({rejected} rejected), server published {total:,}")
    if sink.discontinuities:
        lost += sink.discontinuities
        row.fail(f"{sink.discontinuities} seq discontinuities")
    row.data_lost = lost
    gc.collect()
    fds1, threads1 = open_fds(), threading.active_count()
    if fds1 > fds0 or threads1 > threads0:
        row.fail(f"leak: fds {fds0} → {fds1}, threads {threads0} → {threads1}")
    samples = src.samples
    rss = [s["rss_mb"] for s in samples]
    # Flat: after the first quarter (warm-up: agents log in, windows fill), the last quarter's median RSS
    # may not exceed the second quarter's by more than 10 % + 25 MB.
    q = max(1, len(rss) // 4)
    warm = statistics.median(rss[q:2 * q]) if len(rss) >= 4 else rss[0]
    late = statistics.median(rss[-q:])
    growth = late - warm
    if len(rss) >= 8 and growth > 0.10 * warm + 25:
        row.fail(f"memory grew {growth:.0f} MB after warm-up ({warm:.0f} → {late:.0f} MB)")
    fd_samples = [s["fds"] for s in samples]
    thread_samples = [s["threads"] for s in samples]
    rate = total / wall if wall else 0.0
    row.load = (f"{total:,} events, {days * 24:g} simulated h in {wall:.0f} s ({rate:,.0f} events/s, "
                f"{days * 86400 / wall:,.0f}× real time)")
    row.faults = "-"
    row.notes = row.notes or (f"RSS {min(rss):.0f}–{max(rss):.0f} MB (warm {warm:.0f} → end {late:.0f}); "
                              f"fds {min(fd_samples)}–{max(fd_samples)}, threads {min(thread_samples)}–"
                              f"{max(thread_samples)}; after: fds {fds0}→{fds1}, threads {threads0}→{threads1}")
    row.detail = {"events": total, "events_per_s": round(rate), "wall_s": round(wall, 1), "recording_mb":
                  round(rec_mb, 1), "rss_mb": [round(x, 1) for x in rss], "fds": fd_samples,
                  "threads": thread_samples, "fds_before_after": [fds0, fds1],
                  "threads_before_after": [threads0, threads1], "snapshots": client.counters.snapshots,
                  "connects": client.counters.connects}
    row.seconds = time.monotonic() - t0
    return row
