"""Load: many clients on the `stress` scenario, connection floods, oversize frames, the board at stress rate.

The stress stream is the `stress` scenario (50,000 agents, ~1,200 events/s at peak): a pre-roll of simulated
time up to 10:00 local is published at once (the centre is busy when clients arrive), then the simulator's
next seconds are paced at real speed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import statistics
import subprocess
import sys
import time

from wallboard.feed.client import FeedClient
from wallboard.reliability.harness import FAST, EngineSink, LoopThread, ServerThread, open_fds, wait_until
from wallboard.reliability.hostile import DAY0
from wallboard.reliability.table import Row

CMD = "python -m wallboard.reliability --only {}"
PEAK = DAY0 + 6 * 3600 + 10 * 3600  # 10:00 in Chicago


class StressSource:
    """The `stress` scenario from 10:00 local: ``preroll_s`` of simulated time published at once (the centre
    already busy when clients arrive), then ``seconds`` paced at real speed once ``go`` is set."""

    def __init__(self, preroll_s: float, seconds: float, target_rate: float = 1300.0) -> None:
        import threading

        from wallboard.sim import Simulator, load_scenario

        sim = Simulator(load_scenario("stress"), seed=11, start=PEAK - preroll_s)
        self.preroll = sim.events_until(PEAK)
        # The simulated centre takes a while to reach its peak mix (calls ending, wrap-ups): when its own
        # rate is below the target, its events are played faster so the feed carries the stress rate.
        recent = sum(1 for e in self.preroll if e.ts > PEAK - 30) / 30
        self.speed = max(1.0, target_rate / recent) if recent else 1.0
        self.paced = sim.events_until(PEAK + seconds * self.speed)
        self.description = "stress"
        self.seconds = seconds
        self.preroll_done = threading.Event()
        self.go = threading.Event()
        self._m0: float | None = None
        self._last = PEAK

    def clock(self) -> float:
        if self._m0 is None:
            return self._last
        return PEAK + (time.monotonic() - self._m0) * self.speed

    async def batches(self):  # an async iterator of event lists
        for i in range(0, len(self.preroll), 5000):
            yield self.preroll[i:i + 5000]
            await asyncio.sleep(0)
        self.preroll_done.set()
        await asyncio.to_thread(self.go.wait)
        self._m0 = time.monotonic()
        i = 0
        while i < len(self.paced):
            now = self.clock()
            j = i
            while j < len(self.paced) and self.paced[j].ts <= now:
                j += 1
            if j > i:
                yield self.paced[i:j]
                i = j
            else:
                await asyncio.sleep(max(0.0, (self.paced[i].ts - now) / self.speed))

    def rate_text(self) -> str:
        played = f", played at {self.speed:.1f}× to reach it" if self.speed > 1 else ""
        return (f"{len(self.paced) / self.seconds:,.0f} events/s for {self.seconds:g} s{played}, after "
                f"{len(self.preroll):,} events of pre-roll")


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "wallboard.reliability.children", *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def many_clients(lean: int = 100, full: int = 2, seconds: float = 10.0, preroll_s: float = 600.0) -> Row:
    """Expected: every client (lean ones in a child process, full FeedClients here) receives every event of
    the stress stream exactly once and in order; no slow-consumer drops; full clients end with the server's
    figures."""
    row = Row(f"load: {lean + full} clients on the stress scenario", command=CMD.format("clients"))
    t0 = time.monotonic()
    holder: dict = {}

    def source() -> StressSource:
        holder["src"] = StressSource(preroll_s, seconds)
        return holder["src"]

    if True:
        with ServerThread(source) as srv:
            src: StressSource = holder["src"]
            n = len(src.preroll) + len(src.paced)
            if not src.preroll_done.wait(300):
                row.fail("pre-roll not published")
            children = _child("lean", srv.url, str(lean))
            sinks = [EngineSink() for _ in range(full)]
            clients = [FeedClient(srv.url, s, **FAST) for s in sinks]
            try:
                assert children.stdout is not None and children.stdin is not None
                if children.stdout.readline().strip() != "ready":
                    row.fail("lean clients did not connect")
                for c in clients:
                    c.start()
                for sk in sinks:
                    sk.wait_for(lambda x: x.snapshots == 1, what="snapshot")
                src.go.set()
                srv.run(srv.server.source_done.wait(), timeout=seconds * 4 + 60)
                final = srv.server.seq
                children.stdin.write(f"{final}\n")
                children.stdin.flush()
                result = json.loads(children.stdout.readline())
                children.wait(60)
                for sk in sinks:
                    sk.wait_seq(final)
                now = src.clock() + 1
                want = srv.figures(now)
                for sk in sinks:
                    if sk.figures(now) != want or sk.discontinuities:
                        row.data_lost += 1
                        row.fail("a full client's figures differ from the server's")
            finally:
                src.go.set()
                for c in clients:
                    c.stop()
                if children.poll() is None:
                    children.kill()
            stats = dict(srv.server.stats)
    wall = seconds
    if result["at_final"] != lean or result["gaps"]:
        row.data_lost += (lean - result["at_final"]) + result["gaps"]
        row.fail(f"lean clients: {result['at_final']}/{lean} at the final seq, {result['gaps']} gaps, "
                 f"{result['errors']}")
    if stats["slow_consumers"]:
        row.fail(f"{stats['slow_consumers']} slow consumers dropped")
    del wall
    row.load = f"{lean + full} clients × stress ({src.rate_text()})"
    row.faults = "-"
    row.detail = {"events": n, "final_seq": final, "lean": result, "server": stats}
    row.notes = f"{result['frames']:,} frames to lean clients; 0 slow-consumer drops" if row.ok else row.notes
    row.seconds = time.monotonic() - t0
    return row


async def _flood(url: str, port: int, idle: int, busy: int, oversize: int, bad_hello: int,
                 limit: int) -> dict:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    from wallboard.core import feed_protocol as fp

    out = {"idle_tcp": 0, "busy_503": 0, "oversize_1009": 0, "bad_hello_4003": 0, "other": []}
    socks = []
    for _ in range(idle):  # connections that never say anything (a port scan, a slowloris)
        s = socket.socket()
        s.setblocking(False)
        await asyncio.get_running_loop().sock_connect(s, ("127.0.0.1", port))
        socks.append(s)
    out["idle_tcp"] = len(socks)

    async def too_big() -> None:
        try:
            async with connect(url, max_size=None) as ws:
                await ws.send(fp.encode(fp.ClientHello(protocol=1)), text=True)
                await ws.send(b"x" * (1 << 20))
                async for _ in ws:
                    pass
        except ConnectionClosed as exc:
            if exc.rcvd and exc.rcvd.code == 1009:
                out["oversize_1009"] += 1
        except InvalidStatus as exc:
            out["other"].append(exc.response.status_code)
        else:
            out["other"].append("closed without 1009")

    async def no_hello() -> None:
        try:
            async with connect(url) as ws:
                async for _ in ws:
                    pass
            code = ws.close_code
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
        except InvalidStatus as exc:
            out["other"].append(exc.response.status_code)
            return
        if code == fp.CLOSE_BAD_HELLO:
            out["bad_hello_4003"] += 1

    await asyncio.gather(*(too_big() for _ in range(oversize)), *(no_hello() for _ in range(bad_hello)))
    holders = await _hold(url, limit - 1)  # the live client holds one slot

    async def refused() -> None:
        try:
            async with connect(url):
                out["other"].append("accepted beyond the limit")
        except InvalidStatus as exc:
            if exc.response.status_code == 503:
                out["busy_503"] += 1
            else:
                out["other"].append(exc.response.status_code)

    await asyncio.gather(*(refused() for _ in range(busy)))
    await _release(holders)
    for s in socks:
        s.close()
    return out


def flood_and_oversize(idle: int = 500, busy: int = 200, oversize: int = 20, bad_hello: int = 20) -> Row:
    """Expected: idle TCP connections, hello-less websockets, 1 MB client frames (limit 64 KiB) and
    handshakes beyond max_connections are each refused or closed (1009, 4003 after hello_timeout, 503 with
    Retry-After) without disturbing a real client, whose stream stays complete; afterwards the server's
    open fds return to their level before the flood."""
    row = Row("load: connection flood and oversize frames", command=CMD.format("flood"))
    t0 = time.monotonic()
    from wallboard.reliability.faults import sim_stream

    events = sim_stream(4000)
    with ServerThread(max_connections=50, hello_timeout_s=1.0) as srv:
        sink = EngineSink()
        client = FeedClient(srv.url, sink, **FAST)
        client.start()
        loop = LoopThread()
        try:
            sink.wait_for(lambda s: s.snapshots == 1, what="snapshot")
            fds0 = open_fds()
            srv.publish(events[:2000])
            result = loop.run(_flood(srv.url, srv.port, idle, busy, oversize, bad_hello, 50), timeout=180)
            srv.publish(events[2000:])
            sink.wait_seq(len(events))
            wait_until(lambda: open_fds() <= fds0 + 2, timeout=30, what="fds back to their level")
            fds1 = open_fds()
            now = events[-1].ts + 30
            if sink.figures(now) != srv.figures(now) or sink.discontinuities:
                row.data_lost += 1
                row.fail("the real client's figures differ from the server's")
            if client.counters.connects != 1:
                row.fail("the real client was disconnected by the flood")
        finally:
            client.stop()
            loop.close()
        stats = dict(srv.server.stats)
    if result["busy_503"] != busy or result["oversize_1009"] != oversize or result["bad_hello_4003"] != bad_hello:
        row.fail(f"flood outcomes: {result}")
    row.bad_inputs = idle + busy + oversize + bad_hello
    row.load = f"{idle} idle TCP + 49 held connections (the limit: 50) + {busy} more, 1 live client"
    row.faults = f"{oversize} × 1 MB client frames (1009), {bad_hello} without hello (4003), {busy} × 503"
    row.notes = f"fds {fds0} before, {fds1} after" if row.ok else row.notes
    row.detail = {"flood": result, "server": stats, "fds": [fds0, fds1]}
    row.seconds = time.monotonic() - t0
    return row


async def _hold(url: str, n: int) -> list:
    from websockets.asyncio.client import connect

    from wallboard.core import feed_protocol as fp

    out = []
    for _ in range(n):
        ws = await connect(url, max_size=None)
        await ws.send(fp.encode(fp.ClientHello(protocol=1)), text=True)
        out.append(ws)
        asyncio.get_running_loop().create_task(_drain(ws))
    return out


async def _drain(ws: object) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        async for _ in ws:  # type: ignore[attr-defined]
            pass
    except ConnectionClosed:
        pass


async def _release(holders: list) -> None:
    await asyncio.gather(*(ws.close() for ws in holders))


def gui_under_stress(seconds: float = 12.0, preroll_s: float = 600.0) -> Row:
    """Expected: the real board (offscreen, a child process: FeedClient → bridge → controller → widgets)
    fed the stress stream keeps its 4 Hz tick on time while events flow (p99 interval ≤ 2× nominal, ≥ 90 %
    of the ticks due), and holds exactly the server's figures at the end. The snapshot of a 50,000-agent
    centre on connecting is a one-off: its stall is reported, not held to the tick."""
    row = Row("load: the board at the stress rate (GUI tick keeps time)", command=CMD.format("gui"))
    t0 = time.monotonic()
    holder: dict = {}

    def source() -> StressSource:
        holder["src"] = StressSource(preroll_s, seconds)
        return holder["src"]

    with ServerThread(source) as srv:
        src: StressSource = holder["src"]
        if not src.preroll_done.wait(300):
            row.fail("pre-roll not published")
        child = _child("gui", srv.url, str(seconds + 1))
        try:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":  # connected, snapshot shown
                row.fail("the board did not come up")
            paced_from = time.monotonic()
            src.go.set()
            out, _ = child.communicate(timeout=seconds * 4 + 120)
        finally:
            src.go.set()
            if child.poll() is None:
                child.kill()
        res = json.loads(out.strip().splitlines()[-1])
        final = srv.server.seq
        want = srv.figures(res["now"])
    ticks_all = res["ticks"]
    nominal = res["interval_ms"]
    warm = [b - a for a, b in itertools.pairwise([t for t in ticks_all if t < paced_from])]
    ticks = [t for t in ticks_all if paced_from <= t <= paced_from + seconds]
    iv = sorted((b - a) * 1000 for a, b in itertools.pairwise(ticks))
    p50 = statistics.median(iv) if iv else float("nan")
    p99 = iv[int(len(iv) * 0.99)] if iv else float("nan")
    due = seconds * 1000 / nominal
    if not iv or p99 > 2 * nominal or len(iv) < 0.9 * due - 1:
        row.fail(f"tick while streaming: p50 {p50:.0f} ms, p99 {p99:.0f} ms, {len(iv)} of {due:.0f} due")
    if res["last_seq"] != final:
        row.data_lost += final - (res["last_seq"] or 0)
        row.fail(f"board at seq {res['last_seq']}, server at {final}")
    elif res["figures"] != want:
        row.data_lost += 1
        row.fail("board figures differ from the server's")
    row.load = f"stress into the board: {src.rate_text()}"
    row.faults = "-"
    warm_max = max(warm) * 1000 if warm else 0.0
    row.notes = row.notes or (f"tick every {nominal} ms while streaming: p50 {p50:.0f}, p99 {p99:.0f}, max "
                              f"{max(iv):.0f} ms; longest tick gap on connecting (snapshot) {warm_max:.0f} ms; "
                              f"board CPU {100 * res['cpu_s'] / res['seconds']:.0f} % of a core ("
                              f"{time.strftime('%Y-%m-%d %H:%M')} UTC)")
    row.detail = {"paced_events": len(src.paced), "ticks": len(ticks), "p50_ms": p50, "p99_ms": p99,
                  "max_ms": max(iv) if iv else None, "warm_max_ms": warm_max, "refreshes": res["refreshes"],
                  "cpu_s": res["cpu_s"]}
    row.seconds = time.monotonic() - t0
    return row


__all__ = ["flood_and_oversize", "gui_under_stress", "many_clients"]
