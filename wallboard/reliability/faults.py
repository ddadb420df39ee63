"""Faults, each with the behaviour we expect written down and checked (docs/reliability.md lists them).

Every check streams real simulator events through a real FeedServer to a real FeedClient and ends by
comparing the client's figures with the server engine's (or an engine fed the whole stream): data lost is
the number of checks where they differ plus any seq discontinuity the sink saw.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from wallboard.core import feed_protocol as fp
from wallboard.core import protocol as p
from wallboard.core.engine import MetricsEngine
from wallboard.core.metrics_config import MetricsConfig
from wallboard.feed.client import FeedClient
from wallboard.reliability.harness import FAST, WAIT_S, EngineSink, Proxy, ServerThread, wait_until
from wallboard.reliability.hostile import DAY0
from wallboard.reliability.table import Row

CMD = "python -m wallboard.reliability --only {}"


def sim_stream(n: int, scenario: str = "site", seed: int = 3, start_h: float = 7.0) -> list[p.Event]:
    from wallboard.sim import Simulator, load_scenario

    sim = Simulator(load_scenario(scenario), seed=seed, start=DAY0 + start_h * 3600)
    out: list[p.Event] = []
    for e in sim.run(DAY0 + 30 * 86400, chunk_s=600):
        out.append(e)
        if len(out) >= n:
            break
    return out


def _compare(row: Row, sink: EngineSink, want: dict | None, now: float, what: str) -> None:
    got = sink.figures(now)
    if want is not None and got != want:
        row.data_lost += 1
        row.fail(f"{what}: client figures differ from the server's")
    if sink.discontinuities:
        row.data_lost += sink.discontinuities
        row.fail(f"{what}: {sink.discontinuities} seq discontinuities")


def _batches(events: list[p.Event], rng: random.Random) -> list[list[p.Event]]:
    out, i = [], 0
    while i < len(events):
        k = rng.randint(1, 60)
        out.append(events[i:i + k])
        i += k
    return out


# ---------------------------------------------------------------------------------------------- cut mid-frame
def cut_mid_frame(n_events: int = 20_000, cuts: int = 10, seed: int = 1) -> Row:
    """Expected: the client sees the connection drop, reconnects with backoff, resumes from its last seq
    (the server's ring), and ends with exactly the server's figures; no event twice, none missing."""
    row = Row("fault: connection cut mid-frame", command=CMD.format("cut"))
    t0 = time.monotonic()
    events = sim_stream(n_events)
    rng = random.Random(seed)
    with ServerThread(heartbeat_s=0.2) as srv:
        proxy = Proxy(srv.port)
        sink = EngineSink()
        client = FeedClient(proxy.url, sink, **FAST)
        client.start()
        try:
            sink.wait_for(lambda s: s.snapshots == 1, what="first snapshot")
            batches = _batches(events, rng)
            cut_at = set(rng.sample(range(1, len(batches)), min(cuts, len(batches) - 1)))
            for i, b in enumerate(batches):
                if i not in cut_at:
                    srv.publish(b)
                    continue
                cut0, conn0 = proxy.cuts, client.counters.connects
                proxy.cut_mid_frame()
                srv.publish(b)  # the next bytes towards the client are cut in half
                wait_until(lambda c=cut0: proxy.cuts > c, what="the cut")
                sink.wait_for(lambda s, c=conn0: client.counters.connects > c and s.states[-1] == "live",
                              what="reconnect after the cut")
            sink.wait_seq(len(events))
            now = events[-1].ts + 30
            _compare(row, sink, srv.figures(now), now, "after cuts")
        finally:
            client.stop()
            proxy.close()
    row.load = f"{len(events):,} site events"
    row.faults = f"{proxy.cuts} cuts mid-frame, {client.counters.reconnects} reconnects"
    row.detail = {"cuts": proxy.cuts, "connects": client.counters.connects,
                  "snapshots": client.counters.snapshots, "resumes": srv.server.stats["resumes"]}
    row.notes = f"{srv.server.stats['resumes']} resumes, {client.counters.snapshots} snapshots"
    if proxy.cuts < 1:
        row.fail("no cut happened")
    row.seconds = time.monotonic() - t0
    return row


# ---------------------------------------------------------------------------------------------- half-open
def half_open(rounds: int = 3) -> Row:
    """Expected: when the link goes silent both ways with sockets open, the client notices from missing
    heartbeats (stale after 3 periods, abort after 6) and reconnects; the server notices from unanswered
    pings and drops its side, so no dead client lingers in its list. Data: resumed, nothing lost."""
    row = Row("fault: half-open connection (peer silent)", command=CMD.format("half_open"))
    t0 = time.monotonic()
    events = sim_stream(3000)
    chunks = [events[i::rounds + 1] for i in range(rounds + 1)]
    chunks = [sorted(c, key=lambda e: e.ts) for c in chunks]
    flat = [e for c in chunks for e in c]
    with ServerThread(heartbeat_s=0.1, ping_interval_s=0.3, ping_timeout_s=0.3) as srv:
        proxy = Proxy(srv.port)
        sink = EngineSink()
        client = FeedClient(proxy.url, sink, ping_interval_s=None, **FAST)
        client.start()
        detect: list[float] = []
        try:
            srv.publish(chunks[0])
            sink.wait_seq(len(chunks[0]))
            seq = len(chunks[0])
            for r in range(rounds):
                connects = client.counters.connects
                t = time.monotonic()
                proxy.silence()
                sink.wait_for(lambda s, c=connects: client.counters.connects > c and s.states[-1] == "live",
                              what="reconnect after silence")
                detect.append(time.monotonic() - t)
                if "stale" not in sink.states:
                    row.fail("the client never said its data was stale")
                srv.publish(chunks[r + 1])
                seq += len(chunks[r + 1])
                sink.wait_seq(seq)
            wait_until(lambda: len(srv.server._clients) == 1, what="server dropping dead peers")
            now = flat[-1].ts + 30
            _compare(row, sink, srv.figures(now), now, "after silences")
        finally:
            client.stop()
            proxy.close()
    row.load = f"{len(flat):,} site events"
    row.faults = f"{rounds} silent links detected (client in {max(detect):.1f} s max)"
    row.detail = {"detect_s": [round(d, 2) for d in detect], "server_disconnects": srv.server.stats["disconnects"]}
    row.notes = "heartbeat 0.1 s: stale after 0.3 s, reconnect after 0.6 s; server pings 0.3 s"
    row.seconds = time.monotonic() - t0
    return row


# ---------------------------------------------------------------------------------------------- slow consumer
def slow_consumer(n_events: int = 6000) -> Row:
    """Expected: a client that stops reading is dropped (4008) once its queue passes max_pending_events,
    without holding up anyone; it reconnects, resumes (or takes a snapshot) and ends with the server's
    figures. A client reading normally alongside keeps its single connection."""
    row = Row("fault: slow consumer", command=CMD.format("slow"))
    t0 = time.monotonic()
    events = sim_stream(n_events)
    big = p.Broadcast(ts=events[0].ts, text="x" * 1900, expires=events[0].ts + 1)
    with ServerThread(max_pending_events=300) as srv:
        proxy = Proxy(srv.port)
        slow, fast = EngineSink(), EngineSink()
        slow_client = FeedClient(proxy.url, slow, **FAST)
        fast_client = FeedClient(srv.url, fast, **FAST)
        slow_client.start()
        fast_client.start()
        try:
            slow.wait_for(lambda s: s.snapshots == 1, what="snapshot")
            fast.wait_for(lambda s: s.snapshots == 1, what="snapshot")
            proxy.stall(True)
            stream: list[p.Event] = []
            # Socket buffers on loopback hold megabytes: feed 2 kB events until the server gives up on it.
            while srv.server.stats["slow_consumers"] == 0 and len(stream) < 200_000:
                srv.publish([big] * 50)
                stream += [big] * 50
                fast.wait_seq(len(stream))  # the fast client keeps up all along
            for i in range(0, len(events), 50):
                srv.publish(events[i:i + 50])
            stream += events
            proxy.stall(False)
            slow.wait_seq(len(stream))
            fast.wait_seq(len(stream))
            now = events[-1].ts + 30
            want = srv.figures(now)
            _compare(row, slow, want, now, "slow client")
            _compare(row, fast, want, now, "fast client")
            if fast_client.counters.connects != 1:
                row.fail("the fast client was disturbed")
        finally:
            slow_client.stop()
            fast_client.stop()
            proxy.close()
    row.load = f"{len(stream):,} events ({len(stream) - len(events):,} of 2 kB)"
    row.faults = f"{srv.server.stats['slow_consumers']} slow consumer dropped (4008), reconnected"
    row.detail = {"slow_connects": slow_client.counters.connects, "fast_connects": fast_client.counters.connects}
    row.seconds = time.monotonic() - t0
    return row


# ---------------------------------------------------------------------------------------------- clock steps
class _SteppedTime:
    """Stands in for the ``time`` module inside wallboard.feed.client: wall time plus a step we set.
    (Stepping the machine's real clock would disturb everything else running here.)"""

    def __init__(self) -> None:
        self.step = 0.0

    def time(self) -> float:
        return time.time() + self.step

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def clock_steps(step_s: float = 3600.0) -> Row:
    """Expected: an NTP step of either clock (either way) changes no figure (counts come from event
    timestamps), does not trigger a reconnect (the watchdog runs on the monotonic clock), and within a few
    frames the client's server-clock estimate follows, so data age stays near zero and the board never
    shows "stale" for healthy data."""
    import wallboard.feed.client as client_mod

    row = Row("fault: clock steps (NTP) on client and server", command=CMD.format("clock"))
    t0 = time.monotonic()
    events = sim_stream(2000)
    stepped = _SteppedTime()
    real_time = client_mod.time
    client_mod.time = stepped  # type: ignore[assignment]
    steps = 0
    ages: list[float] = []
    try:
        with ServerThread(heartbeat_s=0.1) as srv:
            sink = EngineSink()
            client = FeedClient(srv.url, sink, status_interval_s=0.05, **FAST)
            client.start()
            try:
                srv.publish(events[:500])
                sink.wait_seq(500)
                src = srv.server.source
                plan = [("client", step_s), ("client", -step_s), ("server", step_s), ("server", -step_s),
                        ("client", -step_s), ("client", 0.0)]
                seq = 500
                for who, value in plan:
                    if who == "client":
                        stepped.step = value
                    else:
                        srv.call(lambda s=value: setattr(src, "clock", lambda: time.time() + s))
                    steps += 1
                    n0 = client.counters.frames
                    sink.wait_for(lambda s, n=n0: client.counters.frames >= n + 5, what="frames after step")
                    status = client.status
                    age = fp.data_age(status, stepped.time())
                    ages.append(age.age_s or 0.0)
                    if age.stale or (age.age_s or 0.0) > 2.0:
                        row.fail(f"{who} step {value:+.0f} s: data age {age.age_s:.1f} s, stale={age.stale}")
                    chunk = events[seq:seq + 250]
                    srv.publish(chunk)
                    seq += len(chunk)
                    sink.wait_seq(seq)
                if client.counters.connects != 1:
                    row.fail(f"clock steps caused {client.counters.connects - 1} reconnects")
                now = events[seq - 1].ts + 30
                _compare(row, sink, srv.figures(now), now, "after clock steps")
            finally:
                client.stop()
    finally:
        client_mod.time = real_time  # type: ignore[assignment]
    dst = _dst_reset_check(row)
    row.load = f"{seq:,} site events + {dst} across two DST changes"
    row.faults = f"{steps} steps of ±{step_s:.0f} s; DST change at the daily reset (spring, autumn)"
    row.detail = {"ages_s": [round(a, 2) for a in ages]}
    row.notes = f"data age after each step ≤ {max(ages):.2f} s; client clock stepped via a stand-in time module"
    row.seconds = time.monotonic() - t0
    return row


def _dst_reset_check(row: Row) -> int:
    """Daily reset at 02:00 America/Chicago across 2026-03-08 (02:00 does not exist) and 2026-11-01 (01:00
    to 02:00 happens twice): through the feed, 'today' restarts exactly at each reset, and the client's
    figures equal an engine fed everything, at every hour."""
    from wallboard.core.day_window import DayClock

    config = MetricsConfig(timezone="America/Chicago", reset_time="02:00")
    clock = DayClock("America/Chicago", "02:00")
    total = 0
    for day_start in (1772870400.0, 1793404800.0):  # 2026-03-07 08:00Z and 2026-10-31 08:00Z (~02:00/03:00 local)
        events: list[p.Event] = [p.QueueInfo(ts=day_start, queue="q", name="Q")]
        t = day_start + 60
        n = 0
        while t < day_start + 2 * 86400:
            events.append(p.CallQueued(ts=t, call_id=f"c{n}", queue="q"))
            events.append(p.CallAbandoned(ts=t + 5, call_id=f"c{n}", queue="q"))
            t += 600
            n += 1
        total += len(events)
        with ServerThread(metrics_config=config) as srv:
            sink = EngineSink()
            client = FeedClient(srv.url, sink, **FAST)
            client.start()
            try:
                half = len(events) // 2
                srv.publish(events[:half])
                sink.wait_seq(half)
                srv.publish(events[half:])
                sink.wait_seq(len(events))
                ref = MetricsEngine(config)
                ref.apply_many(events)
                now = events[-1].ts + 1
                got = sink.figures(now)
                _compare(row, sink, ref.figures(now, agent_list=True), now, "DST reset")
                start = clock.day_start(now)
                offered = sum(1 for e in events if isinstance(e, p.CallQueued) and e.ts >= start)
                if got["total"]["today"]["offered"] != offered:
                    row.data_lost += 1
                    row.fail(f"today after the DST reset counts {got['total']['today']['offered']}, "
                             f"expected {offered}")
            finally:
                client.stop()
    return total


# ---------------------------------------------------------------------------------------------- source stall
def source_stall(stall_heartbeats: int = 12) -> Row:
    """Expected: a source that goes quiet without failing is indistinguishable from a quiet centre: the
    server keeps heartbeating, clients stay live (not stale, no reconnect), ticking figures keep moving on
    the clock; when events come again they flow with nothing lost. (A source that *fails* is reported:
    `wallboard serve` exits 1 and clients see the server go away; tests/test_feed_live.py.)"""
    row = Row("fault: a source that stalls", command=CMD.format("stall"))
    t0 = time.monotonic()
    events = sim_stream(3000)
    hb = 0.1
    with ServerThread(heartbeat_s=hb) as srv:
        sink = EngineSink()
        client = FeedClient(srv.url, sink, status_interval_s=0.05, **FAST)
        client.start()
        try:
            srv.publish(events[:1500])
            sink.wait_seq(1500)
            n0 = client.counters.frames
            sink.wait_for(lambda s: client.counters.frames >= n0 + stall_heartbeats, what="heartbeats")
            if "stale" in sink.states or sink.states[-1] != "live":
                row.fail(f"states during the stall: {sink.states}")
            srv.publish(events[1500:])
            sink.wait_seq(len(events))
            now = events[-1].ts + 30
            _compare(row, sink, srv.figures(now), now, "after the stall")
            if client.counters.connects != 1:
                row.fail("the stall caused a reconnect")
        finally:
            client.stop()
    row.load = f"{len(events):,} site events"
    row.faults = f"source silent for {stall_heartbeats} heartbeats"
    row.seconds = time.monotonic() - t0
    return row


# ---------------------------------------------------------------------------------------------- server killed
def server_killed(kills: int = 2, n_events: int = 20_000) -> Row:
    """Expected: SIGKILL (no goodbye): the client notices the dead connection, keeps retrying with capped
    backoff while saying "reconnecting", and when a server comes back on the same port (a new feed id) it
    takes a fresh snapshot and ends with exactly the figures of an engine fed the whole recording."""
    from wallboard.recording import RecordingWriter

    row = Row("fault: server killed (SIGKILL) and restarted", command=CMD.format("kill"))
    t0 = time.monotonic()
    events = sim_stream(n_events)
    with tempfile.TemporaryDirectory() as d:
        rec = Path(d) / "day.jsonl.gz"
        with RecordingWriter(rec) as w:
            w.write_many(events)
        speed = str((events[-1].ts - events[0].ts) / 3.0)  # each replay lasts ~3 s

        def start(port: str) -> tuple[subprocess.Popen[str], str]:
            proc = subprocess.Popen([sys.executable, "-m", "wallboard", "serve", "--source", f"replay:{rec}",
                                     "--speed", speed, "--port", port], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("listening "):
                raise AssertionError(f"server did not start: {line!r}")
            return proc, line.split()[1]

        proc, url = start("0")
        port = url.rsplit(":", 1)[1].strip("/")
        sink = EngineSink()
        client = FeedClient(url, sink, **FAST)
        client.start()
        try:
            for k in range(kills):
                sink.wait_for(lambda s, k=k: s.snapshots == k + 1 and (s.seq or 0) > len(events) // 4,
                              what="stream under way")
                proc.kill()
                proc.wait(10)
                sink.wait_for(lambda s: s.states[-1] == "reconnecting", what="reconnecting")
                proc, url_b = start(port)
                if url_b != url:
                    row.fail("restarted server on another address")
            sink.wait_seq(len(events))
            now = events[-1].ts + 60
            ref = MetricsEngine()
            ref.apply_many(events)
            _compare(row, sink, ref.figures(now, agent_list=True), now, "after kills")
        finally:
            client.stop()
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)
    row.load = f"{len(events):,} site events replayed"
    row.faults = f"{kills} SIGKILLs + restarts on the same port"
    row.detail = {"snapshots": client.counters.snapshots, "connects": client.counters.connects}
    if client.counters.snapshots != kills + 1:
        row.fail(f"expected {kills + 1} snapshots, got {client.counters.snapshots}")
    row.seconds = time.monotonic() - t0
    return row


# ---------------------------------------------------------------------------------------------- disk full
def _tiny_tmpfs(kb: int) -> tuple[Path, bool]:
    """A tmpfs of ``kb`` KiB when we may mount (root), else a plain temp dir (the caller then simulates)."""
    d = Path(tempfile.mkdtemp(prefix="wb-full-"))
    if os.geteuid() == 0:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kb}k", "tmpfs", str(d)],
                           capture_output=True, check=False)
        if r.returncode == 0:
            return d, True
    return d, False


def _unmount(d: Path, mounted: bool) -> None:
    if mounted:
        subprocess.run(["umount", str(d)], capture_output=True, check=False)
    with __import__("contextlib").suppress(OSError):
        d.rmdir()


class _FullDisk:
    """A file object whose writes fail with ENOSPC after ``room`` bytes (when no tmpfs can be mounted)."""

    def __init__(self, path: Path, room: int) -> None:
        self._fh = open(path, "wb")  # noqa: SIM115
        self.room = room

    def write(self, b: bytes) -> int:
        if len(b) > self.room:
            self._fh.write(bytes(b[: self.room]))
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(b)
        return self._fh.write(b)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def disk_full(kb: int = 32) -> Row:
    """Expected: RecordingWriter raises OSError(ENOSPC) to its caller (no silent loss); every complete line
    that reached the disk reads back (plain: the lines before the cut; .gz: the lines before the damage,
    then a Rejected saying where reading stopped); `wallboard simulate --record` on a full disk exits
    non-zero with a message naming the problem."""
    from wallboard.recording import RecordingWriter, read_chunks

    row = Row("fault: disk full while recording", command=CMD.format("disk"))
    t0 = time.monotonic()
    events = sim_stream(20_000)
    d, mounted = _tiny_tmpfs(kb)
    how = f"tmpfs of {kb} KiB" if mounted else "file object raising ENOSPC (no tmpfs: not root)"
    tried = 0
    try:
        for suffix in (".jsonl", ".jsonl.gz"):
            path = d / f"rec{suffix}"
            raised = None
            writer = None
            try:
                writer = RecordingWriter(path)
                if not mounted:
                    writer._raw = _FullDisk(path, kb * 1024)  # type: ignore[assignment]
                for e in events:
                    writer.write(e)
                writer.close()
            except OSError as exc:
                raised = exc
                if writer is not None:
                    with __import__("contextlib").suppress(OSError, ValueError):
                        writer.close()
            tried += 1
            if suffix == ".jsonl.gz" and not mounted:
                continue  # the stand-in file object is not behind the gzip layer; checked via tmpfs only
            if raised is None or raised.errno != errno.ENOSPC:
                row.fail(f"{suffix}: no ENOSPC raised ({raised!r})")
            got: list[p.Event] = []
            rejected = 0
            for chunk in read_chunks(path):
                got.extend(chunk.events)
                rejected += len(chunk.rejected)
            if got != events[: len(got)] or not got:
                row.data_lost += 1
                row.fail(f"{suffix}: what reached the disk does not read back as a prefix")
            row.detail[suffix] = {"events_on_disk": len(got), "rejected_tail": rejected}
            path.unlink()
        if mounted:
            r = subprocess.run([sys.executable, "-m", "wallboard", "simulate", "site", "--fast", "--duration",
                                "8h", "--record", str(d / "sim.jsonl")], capture_output=True, text=True,
                               timeout=WAIT_S, check=False)
            tried += 1
            row.detail["simulate"] = {"rc": r.returncode, "stderr": r.stderr.strip()[-200:]}
            if r.returncode == 0 or "space" not in r.stderr.lower():
                row.fail(f"simulate --record on a full disk: rc={r.returncode} {r.stderr.strip()[-120:]!r}")
            if "Traceback" in r.stderr:
                row.fail("simulate --record on a full disk printed a traceback")
    finally:
        _unmount(d, mounted)
    row.load = f"{len(events):,} events written"
    row.faults = f"{tried} writes into a full disk ({how})"
    row.seconds = time.monotonic() - t0
    return row


def alert_log_full(kb: int = 16) -> Row:
    """Expected (wallboard/ui/alert_history.py): on a full disk each failed write is counted and dropped,
    the board carries on and keeps the recent transitions in memory; when space returns, writing resumes
    and every line in the log is a whole JSON record (no torn line glued to the next)."""
    import json

    from wallboard.core.alerts import Transition
    from wallboard.ui.alert_history import AlertHistory

    row = Row("fault: disk full under the alert log", command=CMD.format("alert_log"))
    t0 = time.monotonic()
    d, mounted = _tiny_tmpfs(kb)
    try:
        if not mounted:
            row.notes = "skipped: needs root to mount a tmpfs"
            return row
        hist = AlertHistory(d / "alerts.jsonl", max_bytes=1 << 20, backups=2, keep=100)

        def transition(i: int) -> Transition:
            return Transition(key=(i % 3, "sales"), kind="raised", level="warning", previous="ok", rule="sl",
                              figure="service_level", queue="sales", queue_name="Sales", window="today",
                              value=61.5 + i, at=DAY0 + i, since=DAY0 + i, text="Service level under 80 %" * 3)

        (d / "filler").write_bytes(b"\0" * (kb // 2 * 1024))  # removed later: the space that comes back
        tried = 0
        for i in range(400):  # ~100 kB of records into what is left
            hist.append(transition(i))
            tried += 1
        full_errors = hist.write_errors
        (d / "filler").unlink()  # space comes back
        for i in range(400, 410):
            hist.append(transition(i))
            tried += 1
        lines = (d / "alerts.jsonl").read_bytes().splitlines()
        torn = 0
        for ln in lines:
            try:
                json.loads(ln)
            except ValueError:
                torn += 1
        if full_errors == 0:
            row.fail("no write failed: the disk never filled")
        if hist.write_errors != full_errors:
            row.fail("writes kept failing after space came back")
        if len(hist.recent) != 100:
            row.fail("recent transitions not kept in memory")
        if torn:
            row.data_lost += torn
            row.fail(f"{torn} torn line(s) in the log after the disk filled")
        row.detail = {"write_errors": full_errors, "written": hist.written, "torn_lines": torn}
        row.load = f"{tried} alert transitions"
        row.faults = f"{full_errors} writes refused by a full tmpfs of {kb} KiB, then space freed"
    finally:
        _unmount(d, mounted)
    row.seconds = time.monotonic() - t0
    return row
