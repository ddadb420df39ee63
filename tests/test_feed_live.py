"""The feed server and client end to end: real websocket servers on 127.0.0.1 (port 0), real clients."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import shutil
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
from feed_support import (
    WAIT_S,
    EngineSink,
    LoopThread,
    ServerThread,
    reference_figures,
    self_signed,
    sim_events,
)
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed, InvalidStatus

from wallboard.core import feed_protocol as fp
from wallboard.core import protocol as p
from wallboard.core.engine import MetricsEngine
from wallboard.feed.client import FeedClient, FeedStatus
from wallboard.feed.logs import websockets_logger
from wallboard.feed.settings import client_ssl_context, server_ssl_context
from wallboard.feed.sources import ReplaySource
from wallboard.recording import RecordingWriter

FAST = {"backoff_base_s": 0.05, "backoff_cap_s": 0.5}


@pytest.fixture(scope="module")
def stream() -> list[p.Event]:
    return sim_events(6000)


def started(client: FeedClient) -> FeedClient:
    client.start()
    return client


# ---------------------------------------------------------------------------------------------- auth
def test_auth_refused_without_or_with_wrong_token_accepted_with_right_one_and_never_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    token = "tok-" + "s3cr3t" * 4
    caplog.set_level(logging.DEBUG)  # websockets logs handshake headers at DEBUG
    with ServerThread(token=token) as srv:
        for given, detail in ((None, "requires a token"), ("wrong-" + token, "refused our token")):
            sink = EngineSink()
            client = started(FeedClient(srv.url, sink, token=given, **FAST))
            try:
                sink.wait_state("auth_failed")
            finally:
                client.stop()
            assert detail in sink.statuses[1].detail and sink.snapshots == 0

        async def raw_status(headers: dict | None) -> int:
            try:
                # The test's own raw client logs through the same redacting logger as FeedClient.
                async with connect(srv.url, additional_headers=headers,
                                   logger=websockets_logger("wallboard.feed.ws.client")):
                    return 101
            except InvalidStatus as exc:
                return exc.response.status_code

        loop = LoopThread()
        try:
            assert loop.run(raw_status(None)) == 401
            assert loop.run(raw_status({"Authorization": "Basic " + token})) == 401
            assert loop.run(raw_status({"Authorization": f"Bearer {token}x"})) == 401
            assert loop.run(raw_status({"Authorization": f"Bearer {token}"})) == 101
        finally:
            loop.close()

        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, token=token, **FAST))
        try:
            sink.wait_state("live")
        finally:
            client.stop()
        assert srv.server.stats["auth_refused"] >= 5
    messages = [r.getMessage() for r in caplog.records]
    assert any("auth_refused" in m and "wrong token" in m for m in messages)
    assert any("Authorization" in m for m in messages), "websockets should have logged the header (redacted)"
    assert not any("s3cr3t" in m for m in messages)
    assert "s3cr3t" not in caplog.text


# ---------------------------------------------------------------------------------------------- correctness
def test_mid_stream_connect_ends_identical_to_an_engine_fed_the_whole_stream(stream: list[p.Event]) -> None:
    half = len(stream) // 2
    with ServerThread() as srv:
        for i in range(0, half, 250):
            srv.publish(stream[i:min(i + 250, half)])
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, **FAST))
        try:
            sink.wait_for(lambda s: s.snapshots == 1)
            assert sink.seq == half  # the snapshot carries the state after the first half
            for i in range(half, len(stream), 7):
                srv.push(stream[i:i + 7])
            sink.wait_seq(len(stream))
        finally:
            client.stop()
    now = stream[-1].ts + 30
    assert sink.errors == []
    assert sink.figures(now) == reference_figures(stream, now)
    assert sink.states[:2] == ["connecting", "live"] and sink.states[-1] == "stopped"
    assert client.counters.snapshots == 1 and client.counters.events == len(stream) - half


def _random_disconnects(events: list[p.Event], disconnects: int, seed: int) -> None:
    rng = random.Random(seed)
    cut_points = sorted(rng.sample(range(1, len(events) // 100), disconnects))
    with ServerThread(history_events=len(events)) as srv:
        sink = EngineSink()
        # Short backoff: the point is resuming, not waiting (backoff has its own test).
        client = started(FeedClient(srv.url, sink, backoff_base_s=0.02, backoff_cap_s=0.05))
        try:
            sink.wait_state("live")
            done = 0
            for k, i in enumerate(range(0, len(events), 100)):
                srv.push(events[i:i + 100])
                if done < disconnects and k == cut_points[done]:
                    connects = client.counters.connects
                    client.disconnect()  # events pushed now are in flight on a dying connection
                    done += 1
                    # Keep publishing while it is down; only wait before the next cut so each one counts.
                    if done < disconnects:
                        sink.wait_for(
                            lambda s, c=connects: client.counters.connects > c and s.states[-1] == "live")
            sink.wait_seq(len(events), timeout=120)
        finally:
            client.stop()
    assert done == disconnects
    assert client.counters.connects == disconnects + 1
    assert client.counters.snapshots == 1, "every reconnect resumed from the ring"
    assert client.counters.duplicates == 0 and client.counters.resyncs == 0
    assert sink.errors == []
    assert sink.events == len(events)
    now = events[-1].ts + 30
    assert sink.figures(now) == reference_figures(events, now)


def test_random_disconnects_lose_and_duplicate_nothing(stream: list[p.Event]) -> None:
    _random_disconnects(stream, disconnects=20, seed=7)


def test_fifty_random_disconnects_during_a_100k_event_replay(tmp_path: Path) -> None:
    events = sim_events(100_000)
    rec = tmp_path / "week.jsonl"
    with RecordingWriter(rec) as w:
        w.write_many(events)
    span = events[-1].ts - events[0].ts
    rng = random.Random(5)
    # Paced so that the replay lasts ~8 s: the 50 disconnects all happen while it runs.
    with ServerThread(lambda: ReplaySource(rec, speed=span / 8.0), history_events=len(events)) as srv:
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, backoff_base_s=0.02, backoff_cap_s=0.05))
        try:
            sink.wait_state("live")
            for n in range(50):
                time.sleep(rng.uniform(0.0, 0.04))  # random moments, not synchronisation
                client.disconnect()
                sink.wait_for(lambda s, n=n: client.counters.connects == n + 2 and s.states[-1] == "live")
            seq_at_last_cut = srv.server.seq
            sink.wait_seq(len(events), timeout=60)
        finally:
            client.stop()
    assert 0 < seq_at_last_cut < len(events), "the disconnects happened during the replay"
    assert client.counters.connects == 51 and client.counters.snapshots == 1
    assert client.counters.duplicates == 0 and client.counters.resyncs == 0 and sink.errors == []
    assert sink.events == len(events) - sink.snapshot_seqs[0]  # every event after the snapshot, once
    now = events[-1].ts + 30
    assert sink.figures(now) == reference_figures(events, now)


def test_resume_decision_ring_or_snapshot(stream: list[p.Event]) -> None:
    async def ask(url: str, feed_id: str | None, last_seq: int | None) -> list[dict]:
        async with connect(url, compression=None) as ws:
            hello = fp.ClientHello(protocol=1, feed_id=feed_id, last_seq=last_seq)
            await ws.send(fp.encode(hello), text=True)
            hello = json.loads(await ws.recv())
            nxt = json.loads(await ws.recv())
            return [hello, nxt]

    with ServerThread(history_events=30) as srv:
        for i in range(0, 80, 10):
            srv.publish(stream[i:i + 10])
        feed = srv.server.feed_id
        loop = LoopThread()
        try:
            hello, nxt = loop.run(ask(srv.url, feed, 55))  # still in the ring (seqs 51..80 kept)
            assert hello["resume"] == "resumed" and (nxt["first_seq"], nxt["seq"]) == (56, 80)
            assert len(nxt["events"]) == 25
            hello, nxt = loop.run(ask(srv.url, feed, 20))  # too old
            assert hello["resume"] == "snapshot" and nxt["type"] == "snapshot" and nxt["seq"] == 80
            hello, nxt = loop.run(ask(srv.url, "another-feed", 79))  # a restarted server's old position
            assert hello["resume"] == "snapshot" and nxt["seq"] == 80
            hello, nxt = loop.run(ask(srv.url, feed, 81))  # ahead of the feed: cannot be ours
            assert hello["resume"] == "snapshot"
        finally:
            loop.close()


def test_resuming_an_idle_feed_with_nothing_missed_then_heartbeats(stream: list[p.Event]) -> None:
    with ServerThread(heartbeat_s=0.1) as srv:
        srv.publish(stream[:10])
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, status_interval_s=0.05, **FAST))
        try:
            sink.wait_seq(10)
            client.disconnect()
            sink.wait_for(lambda s: client.counters.connects == 2 and s.states[-1] == "live")
            beats = len(sink.statuses)
            sink.wait_for(lambda s: len(s.statuses) >= beats + 3)  # heartbeats keep refreshing the status
        finally:
            client.stop()
    assert client.counters.resyncs == 0 and client.counters.snapshots == 1
    assert srv.server.stats["resumes"] == 1


# ---------------------------------------------------------------------------------------------- faults
class FakeServer(LoopThread):
    """A raw websocket server speaking the envelope by script: each connection gets the next list of frames
    (bytes sent as text; a list of str: one message sent in fragments), then stays open. Records the client
    hellos it received."""

    def __init__(self, scripts: list[list[bytes]]) -> None:
        super().__init__()
        self.scripts = scripts
        self.hellos: list[dict] = []
        self.close_codes: list[int | None] = []

        async def handler(ws) -> None:  # type: ignore[no-untyped-def]
            self.hellos.append(json.loads(await ws.recv()))
            script = self.scripts[min(len(self.hellos), len(self.scripts)) - 1]
            try:
                for frame in script:
                    await ws.send(frame) if isinstance(frame, list) else await ws.send(frame, text=True)
                await ws.wait_closed()
            except ConnectionClosed:
                pass
            self.close_codes.append(ws.close_code)

        async def start():  # type: ignore[no-untyped-def]
            return await serve(handler, "127.0.0.1", 0, compression=None, max_size=None)

        self.server = self.run(start())
        self.url = f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/"

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()
        self.run(stop())
        super().close()


def _hello(feed_id: str = "fake", resume: str = "snapshot", protocol: int = 1) -> bytes:
    return fp.encode(fp.Hello(protocol=protocol, feed_id=feed_id, server_time=time.time(), heartbeat_s=2.5,
                              max_frame_bytes=2**20, resume=resume))  # type: ignore[arg-type]


def _snapshot(seq: int, events: list[p.Event] = ()) -> bytes:  # type: ignore[assignment]
    from wallboard.core.engine import MetricsEngine

    eng = MetricsEngine()
    eng.apply_many(list(events))
    return fp.encode(fp.Snapshot(seq=seq, server_time=time.time(), engine=eng.snapshot()))


def _batch(first: int, events: list[p.Event]) -> bytes:
    return fp.encode_batch(first, first + len(events) - 1, time.time(),
                           [p.EVENT_ADAPTER.dump_json(e, exclude_none=True) for e in events])


def _client_until_seq(fake: FakeServer, seq: int) -> tuple[FeedClient, EngineSink]:
    """A client of ``fake`` run until its sink holds ``seq``; then the client and the server are stopped."""
    sink = EngineSink()
    client = started(FeedClient(fake.url, sink, **FAST))
    try:
        sink.wait_seq(seq)
    finally:
        client.stop()
        fake.close()
    return client, sink


def test_injected_seq_gap_triggers_a_resync_with_a_fresh_snapshot(stream: list[p.Event]) -> None:
    ev = stream[:10]
    first = [_hello(), _snapshot(0), _batch(1, ev[0:2]), _batch(5, ev[4:6])]  # seqs 3-4 never sent
    second = [_hello(), _snapshot(10, ev), _batch(11, stream[10:12])]
    fake = FakeServer([first, second])
    client, sink = _client_until_seq(fake, 12)
    assert client.counters.resyncs == 1 and sink.snapshots == 2
    assert fake.hellos[0]["last_seq"] is None
    assert fake.hellos[1]["last_seq"] is None and fake.hellos[1]["feed_id"] == "fake"  # asks for a snapshot
    assert fake.close_codes[0] == fp.CLOSE_RESYNC
    now = stream[11].ts
    assert sink.figures(now) == reference_figures(stream[:12], now)


def test_a_message_sent_in_fragments_is_applied_whole_and_in_order(stream: list[p.Event]) -> None:
    # The client takes each message as the connection parses it (_CallbackConnection), fragments joined.
    ev = stream[:9]
    text = _batch(4, ev[3:6]).decode()
    pieces = [text[:10], text[10:50], text[50:]]
    fake = FakeServer([[_hello(), _snapshot(0), _batch(1, ev[0:3]), pieces, _batch(7, ev[6:9])]])
    client, sink = _client_until_seq(fake, 9)
    assert client.counters.malformed == 0 and client.counters.resyncs == 0
    now = ev[-1].ts
    assert sink.figures(now) == reference_figures(ev, now)


def test_malformed_frames_are_counted_and_skipped_and_the_connection_survives(stream: list[p.Event]) -> None:
    ev = stream[:6]
    bad_event = b'{"type":"call_queued","ts":"never"}'
    unknown = b'{"type":"call_teleported","ts":1}'
    script = [_hello(), _snapshot(0), _batch(1, ev[:2]), b"not json", b'{"type":"bogus"}',
              b'{"type":"batch","first_seq":3}',
              fp.encode_batch(3, 5, time.time(), [p.EVENT_ADAPTER.dump_json(ev[2]), bad_event, unknown]),
              _batch(6, ev[3:6])]
    fake = FakeServer([script])
    sink = EngineSink()
    sink.strict = False  # rejected events are skipped, so counts and seqs legitimately differ
    client = started(FeedClient(fake.url, sink, **FAST))
    try:
        sink.wait_seq(8)
    finally:
        client.stop()
        fake.close()
    assert client.counters.malformed == 3
    assert client.counters.rejected_events == 2  # skipped inside an otherwise good batch; seq still advances
    assert client.counters.connects == 1 and client.counters.resyncs == 0
    assert sink.events == 6  # 2 + 1 + 3 valid events (bad ones never reach the sink)
    now = ev[-1].ts
    assert sink.figures(now) == reference_figures(ev, now)


def test_oversize_frame_from_the_server_is_refused_counted_and_the_client_reconnects(
        stream: list[p.Event]) -> None:
    huge = p.Broadcast(ts=stream[0].ts, text="x" * 2000)
    oversize = _batch(1, [huge] * 10)  # ~20 kB
    fake = FakeServer([[_hello(), _snapshot(0), oversize], [_hello(), _snapshot(0), _batch(1, stream[:3])]])
    sink = EngineSink()
    client = started(FeedClient(fake.url, sink, max_frame_bytes=8000, **FAST))
    try:
        sink.wait_seq(3)
    finally:
        client.stop()
        fake.close()
    assert client.counters.oversize == 1 and client.counters.connects == 2
    assert fake.close_codes[0] == fp.CLOSE_TOO_BIG
    assert "reconnecting" in sink.states


def test_oversize_and_malformed_client_messages_close_only_that_connection(stream: list[p.Event]) -> None:
    with ServerThread(max_client_frame_bytes=4096, hello_timeout_s=1.0) as srv:
        sink = EngineSink()
        good = started(FeedClient(srv.url, sink, **FAST))
        loop = LoopThread()

        async def misbehave(first: bytes | None, then: bytes | None = None) -> int | None:
            async with connect(srv.url, compression=None) as ws:
                if first is not None:
                    await ws.send(first, text=True)
                if then is not None:
                    await ws.send(then, text=True)
                with pytest.raises(ConnectionClosed):
                    while True:
                        await ws.recv()
                return ws.close_code

        try:
            sink.wait_state("live")
            hello = fp.encode(fp.ClientHello(protocol=1))
            assert loop.run(misbehave(hello, b"x" * 10_000)) == fp.CLOSE_TOO_BIG
            assert loop.run(misbehave(b"hello?")) == fp.CLOSE_BAD_HELLO
            assert loop.run(misbehave(None)) == fp.CLOSE_BAD_HELLO  # said nothing within hello_timeout_s
            assert loop.run(misbehave(fp.encode(fp.ClientHello(protocol=2)))) == fp.CLOSE_INCOMPATIBLE
            srv.push(stream[:50])
            sink.wait_seq(50)
        finally:
            good.stop()
            loop.close()
        assert srv.server.stats["bad_hello"] == 2 and srv.server.stats["incompatible"] == 1
        assert good.counters.connects == 1


def test_incompatible_versions_are_reported_by_the_client() -> None:
    fake = FakeServer([[_hello(protocol=2)]])
    sink = EngineSink()
    client = started(FeedClient(fake.url, sink, **FAST))
    try:
        sink.wait_state("incompatible")
    finally:
        client.stop()
        fake.close()
    assert "protocol 2" in sink.statuses[-2].detail

    with ServerThread() as srv:
        loop = LoopThread()

        async def offer(protocols: list[str]) -> int:
            try:
                async with connect(srv.url, subprotocols=protocols):  # type: ignore[arg-type]
                    return 101
            except InvalidStatus as exc:
                return exc.response.status_code

        try:
            assert loop.run(offer(["wallboard.v2"])) == fp.HTTP_UPGRADE_REQUIRED
            assert loop.run(offer(["wallboard.v2", "wallboard.v1"])) == 101
        finally:
            loop.close()


def test_connection_limit_refuses_with_503_and_the_client_keeps_trying() -> None:
    with ServerThread(max_connections=1) as srv:
        first, second = EngineSink(), EngineSink()
        c1 = started(FeedClient(srv.url, first, **FAST))
        first.wait_state("live")
        c2 = started(FeedClient(srv.url, second, **FAST))
        try:
            second.wait_for(lambda s: any("connection limit" in st.detail for st in s.statuses))
            c1.stop()
            second.wait_state("live")  # a slot freed: it got in by itself
        finally:
            c2.stop()
        assert srv.server.stats["busy_refused"] >= 1


def test_heartbeats_keep_an_idle_feed_live_and_silence_makes_it_stale_then_reconnect() -> None:
    with ServerThread(heartbeat_s=0.1) as srv:
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, status_interval_s=0.05, **FAST))
        try:
            sink.wait_state("live")
            sink.wait_for(lambda s: s.statuses[-1].last_data_server_time is not None and len(s.statuses) >= 4)
            status = client.status
            assert status.state == "live" and not fp.data_age(status, time.time()).stale
        finally:
            client.stop()
    # A server that goes quiet after the snapshot (no heartbeats): stale, then the client gives up on it.
    fake = FakeServer([[fp.encode(fp.Hello(protocol=1, feed_id="q", server_time=time.time(), heartbeat_s=0.1,
                                           max_frame_bytes=2**20, resume="snapshot")), _snapshot(0)]])
    sink = EngineSink()
    client = started(FeedClient(fake.url, sink, **FAST))
    try:
        sink.wait_for(lambda s: s.states[-3:] == ["live", "stale", "reconnecting"])
    finally:
        client.stop()
        fake.close()
    assert fp.data_age(sink.statuses[-1], time.time()).stale


# ---------------------------------------------------------------------------------------------- flow control
def _slow_reader(url: str, connected: threading.Event, release: threading.Event, codes: list) -> None:
    async def main() -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", int(url.rsplit(":", 1)[1].strip("/"))))
        async with connect(url, sock=sock, compression=None, max_queue=1, max_size=None) as ws:
            await ws.send(fp.encode(fp.ClientHello(protocol=1)), text=True)
            connected.set()
            await asyncio.to_thread(release.wait, WAIT_S)
            try:
                while True:
                    await ws.recv()
            except ConnectionClosed:
                codes.append(ws.close_code)
    asyncio.run(main())


def test_a_slow_consumer_is_dropped_while_a_fast_client_keeps_its_latency() -> None:
    with ServerThread(max_pending_events=200) as srv:
        fast = EngineSink()
        fast.track_latency = True
        client = started(FeedClient(srv.url, fast, **FAST))
        fast.wait_state("live")
        connected, release, codes = threading.Event(), threading.Event(), []
        slow = threading.Thread(target=_slow_reader, args=(srv.url, connected, release, codes))
        slow.start()
        assert connected.wait(WAIT_S)
        sent = 0
        try:
            deadline = time.monotonic() + WAIT_S
            while srv.server.stats["slow_consumers"] == 0 and time.monotonic() < deadline:
                # 2 kB events, 20 per 10 ms: far more than a reader that never reads can absorb.
                srv.push([p.Broadcast(ts=time.time(), text="x" * 2000) for _ in range(20)])
                sent += 20
                time.sleep(0.01)  # pacing the producer, not synchronisation
            fast.wait_seq(sent)
        finally:
            release.set()
            slow.join(WAIT_S)
            client.stop()
    assert srv.server.stats["slow_consumers"] == 1
    assert codes == [fp.CLOSE_SLOW_CONSUMER]
    assert client.counters.connects == 1 and fast.errors == []
    lat = sorted(fast.latencies)
    # Not a benchmark: a fast client held up by the slow one would see seconds, not milliseconds.
    assert lat[len(lat) * 99 // 100] < 0.5, f"p99 {lat[len(lat) * 99 // 100]:.3f} s"


def test_coalescing_sends_events_that_arrive_during_a_send_in_one_frame(stream: list[p.Event]) -> None:
    with ServerThread() as srv:
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, **FAST))
        try:
            sink.wait_state("live")
            frames0 = client.counters.frames
            srv.call(lambda: [srv.server.publish([e]) for e in stream[:500]])  # 500 batches in one go
            sink.wait_seq(500)
            frames = client.counters.frames - frames0
        finally:
            client.stop()
    assert 1 <= frames < 10, frames  # one frame at once, the rest coalesced into the next


def test_runs_larger_than_the_frame_limit_are_split_into_frames_that_fit() -> None:
    with ServerThread(max_frame_bytes=5000) as srv:
        sink = EngineSink()
        # The client refuses anything over 5000 bytes, so one oversize frame would show as a reconnect.
        client = started(FeedClient(srv.url, sink, max_frame_bytes=5000, **FAST))
        try:
            sink.wait_state("live")
            t = time.time()
            srv.publish([p.Broadcast(ts=t, text=f"{i:04d}" + "x" * 1500) for i in range(40)])  # ~60 kB
            sink.wait_seq(40)
        finally:
            client.stop()
    assert client.counters.oversize == 0 and client.counters.connects == 1 and sink.errors == []
    assert client.counters.frames >= 2 + 40 * 1500 // 5000  # hello + snapshot + the split batch frames
    assert sink.engine is not None and sink.engine.events_applied == 40


# ---------------------------------------------------------------------------------------------- sources, TLS
def test_replay_source_serves_a_recording_to_a_client(tmp_path: Path, stream: list[p.Event]) -> None:
    rec = tmp_path / "day.jsonl.gz"
    with RecordingWriter(rec) as w:
        w.write_many(stream[:2000])
    with ServerThread(lambda: ReplaySource(rec, speed=0)) as srv:
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, **FAST))
        try:
            sink.wait_seq(2000)
        finally:
            client.stop()
    now = stream[1999].ts + 1
    assert sink.figures(now) == reference_figures(stream[:2000], now)


def test_replay_loop_moves_time_forward_with_new_call_ids(tmp_path: Path, stream: list[p.Event]) -> None:
    rec = tmp_path / "short.jsonl"
    with RecordingWriter(rec) as w:
        w.write_many(stream[:300])

    async def take(n: int) -> list[p.Event]:
        out: list[p.Event] = []
        async for b in ReplaySource(rec, speed=0, loop=True).batches():
            out.extend(b)
            if len(out) >= n:
                return out
        return out

    loop = LoopThread()
    try:
        evs = loop.run(take(900))
    finally:
        loop.close()
    assert all(b.ts >= a.ts for a, b in itertools.pairwise(evs))
    calls = [e.call_id for e in evs[300:600] if hasattr(e, "call_id")]
    assert calls and all(c.endswith("~1") for c in calls)
    assert evs[300].ts == evs[0].ts + (evs[299].ts - evs[0].ts) + 1.0


def test_sim_source_streams_live_simulated_events() -> None:
    from wallboard.feed.sources import SimSource

    with ServerThread(lambda: SimSource("small", speed=3000, seed=2)) as srv:
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, **FAST))
        try:
            sink.wait_for(lambda s: s.events >= 30)
        finally:
            client.stop()
        # The feed clock runs 3000x: the client's offset estimate sees the server ahead of local time.
        assert client.status.clock_offset_s > 1.0
        assert sink.errors == []


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI to make a certificate")
def test_tls_with_a_self_signed_certificate_and_a_client_trusting_it(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with ServerThread(ssl_context=server_ssl_context(cert, key), token="t") as srv:
        assert srv.url.startswith("wss://")
        srv.push([p.AgentState(ts=time.time(), agent_id="a1", state="available")])
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, token="t", ssl_context=client_ssl_context(cert), **FAST))
        try:
            sink.wait_seq(1)
        finally:
            client.stop()
        # Without the CA the certificate is not trusted: no connection, an honest reason.
        untrusting = EngineSink()
        client = started(FeedClient(srv.url, untrusting, token="t", ssl_context=client_ssl_context(None),
                                    **FAST))
        try:
            untrusting.wait_for(lambda s: any("CERTIFICATE_VERIFY_FAILED" in st.detail for st in s.statuses))
        finally:
            client.stop()
        assert untrusting.snapshots == 0


# ---------------------------------------------------------------------------------------------- lifecycle
def test_stop_does_not_wait_for_a_handshake_that_never_completes() -> None:
    silent = socket.socket()  # accepts TCP connections (backlog) and never answers the HTTP upgrade
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        sink = EngineSink()
        client = started(FeedClient(f"ws://127.0.0.1:{silent.getsockname()[1]}/", sink, open_timeout_s=60))
        sink.wait_state("connecting")
        client.stop(timeout=10)
        assert client._thread is not None and not client._thread.is_alive()
        assert sink.states[-1] == "stopped"
    finally:
        silent.close()


def test_a_failing_source_is_reported_not_hidden_behind_heartbeats() -> None:
    class Broken:
        description = "broken"

        def clock(self) -> float:
            return time.time()

        async def batches(self):  # type: ignore[no-untyped-def]
            yield [p.AgentState(ts=time.time(), agent_id="a1", state="available")]
            raise RuntimeError("bridge lost the PBX")

    with ServerThread(Broken) as srv:
        srv.run(srv.server.source_done.wait())
        assert isinstance(srv.server.source_error, RuntimeError) and srv.server.seq == 1


# ---------------------------------------------------------------------------------------------- review fixes
def test_a_snapshot_larger_than_the_frame_limit_is_still_delivered(stream: list[p.Event]) -> None:
    # Batches are split to fit max_frame_bytes; a snapshot cannot be, and has its own (larger) limit.
    with ServerThread(max_frame_bytes=64 * 1024) as srv:
        srv.publish(stream[:5000])
        assert len(srv.call(srv.server._snapshot_frame)) > 64 * 1024
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, max_frame_bytes=64 * 1024, **FAST))
        try:
            sink.wait_seq(5000)
            srv.publish(stream[5000:5010])
            sink.wait_seq(5010)
        finally:
            client.stop()
    assert client.counters.connects == 1 and client.counters.oversize == 0 and sink.snapshots == 1
    now = stream[5009].ts
    assert sink.figures(now) == reference_figures(stream[:5010], now)


def _waits_incompatible_without_data(sink: EngineSink, client: FeedClient) -> str:
    sink.wait_for(lambda s: "incompatible" in s.states and client.counters.reconnects >= 2)
    assert sink.snapshots == 0
    # Every wait between attempts (with backoff, not a tight loop) says what it is, not a passing fault.
    waits = [st for st in sink.statuses if st.retry_in_s is not None]
    assert len(waits) >= 2 and all(st.state == "incompatible" for st in waits), waits
    return waits[-1].detail


def test_a_snapshot_over_the_servers_limit_is_refused_with_a_reason_not_sent(stream: list[p.Event]) -> None:
    with ServerThread(max_snapshot_bytes=10_000) as srv:
        srv.publish(stream[:2000])
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, **FAST))
        try:
            detail = _waits_incompatible_without_data(sink, client)
        finally:
            client.stop()
        assert srv.server.stats["snapshot_too_large"] >= 2 and srv.server.stats["snapshots"] == 0
    assert "snapshot too large" in detail and "10000" in detail


def test_a_snapshot_over_the_clients_limit_is_reported_from_the_hello(stream: list[p.Event]) -> None:
    with ServerThread() as srv:
        srv.publish(stream[:2000])
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, max_frame_bytes=5000, max_snapshot_bytes=10_000, **FAST))
        try:
            detail = _waits_incompatible_without_data(sink, client)
        finally:
            client.stop()
    assert "snapshot too large" in detail and "our limit is 10000" in detail
    assert client.counters.oversize == 0  # decided from the hello's snapshot_bytes, before any refusal


def test_an_oversize_snapshot_from_a_server_that_does_not_announce_its_size_is_incompatible(
        stream: list[p.Event]) -> None:
    fake = FakeServer([[_hello(), _snapshot(0, stream[:2000])]])  # the hello has no snapshot_bytes
    sink = EngineSink()
    client = started(FeedClient(fake.url, sink, max_frame_bytes=5000, max_snapshot_bytes=10_000, **FAST))
    try:
        detail = _waits_incompatible_without_data(sink, client)
    finally:
        client.stop()
        fake.close()
    assert "snapshot too large" in detail and client.counters.oversize >= 2
    assert fake.close_codes[0] == fp.CLOSE_TOO_BIG


def test_proxy_settings_in_the_environment_are_not_used_for_the_feed(
        monkeypatch: pytest.MonkeyPatch, stream: list[p.Event]) -> None:
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(var, "bogus://proxy.invalid:1")  # websockets would refuse this one outright
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with ServerThread() as srv:
        srv.publish(stream[:10])
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, **FAST))
        try:
            sink.wait_seq(10)
        finally:
            client.stop()
    assert client.counters.connects == 1


def test_an_unexpected_error_is_logged_and_retried_the_feed_thread_lives_on(
        caplog: pytest.LogCaptureFixture) -> None:
    # A TLS context for a ws:// URL makes websockets raise ValueError: an error outside the ones the client
    # expects from a connection attempt.
    with ServerThread() as srv:
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, ssl_context=ssl.create_default_context(), **FAST))
        try:
            sink.wait_for(lambda s: client.counters.reconnects >= 3)
            assert client._thread is not None and client._thread.is_alive()
        finally:
            client.stop()
    assert sink.states[-1] == "stopped" and "live" not in sink.states
    assert any("unexpected error: ValueError" in st.detail for st in sink.statuses)
    assert any(r.name == "wallboard.feed.client" and r.exc_info for r in caplog.records)


class _SinkFailingOnce(EngineSink):
    def __init__(self) -> None:
        super().__init__()
        self.fail_next_events = False

    def on_events(self, events: list[p.Event], last_seq: int) -> None:
        if self.fail_next_events:
            self.fail_next_events = False
            raise RuntimeError("a bug in the sink")
        super().on_events(events, last_seq)


def test_a_sink_can_ask_for_a_fresh_snapshot(stream: list[p.Event]) -> None:
    with ServerThread() as srv:
        srv.push(stream[:100])
        sink = EngineSink()
        client = started(FeedClient(srv.url, sink, **FAST))
        try:
            sink.wait_seq(100)
            assert sink.snapshots == 1
            client.resync()  # e.g. the board could not restore what it was sent
            sink.wait_for(lambda s: s.snapshots == 2)
            srv.push(stream[100:150])
            sink.wait_seq(150)
        finally:
            client.stop()
    assert client.counters.resyncs == 1 and client.counters.connects == 2 and sink.errors == []
    assert sink.snapshot_seqs == [100, 100]  # a snapshot, not a resume, after the resync


def test_a_batch_the_sink_failed_to_apply_is_not_lost_the_client_resyncs(stream: list[p.Event]) -> None:
    with ServerThread() as srv:
        srv.publish(stream[:100])
        sink = _SinkFailingOnce()
        client = started(FeedClient(srv.url, sink, **FAST))
        try:
            sink.wait_seq(100)
            sink.fail_next_events = True
            srv.publish(stream[100:110])  # lost by the sink
            sink.wait_for(lambda s: s.snapshots == 2)  # a fresh snapshot replaces the state
            srv.publish(stream[110:120])
            sink.wait_seq(120)
        finally:
            client.stop()
    assert client.counters.sink_errors == 1 and sink.errors == []
    assert sink.snapshot_seqs == [100, 110]
    now = stream[119].ts
    assert sink.figures(now) == reference_figures(stream[:120], now)


def test_resuming_a_large_backlog_while_events_keep_coming_is_not_a_slow_consumer() -> None:
    t0 = time.time()
    agents = (p.AgentState(ts=t0 + i * 1e-3, agent_id=f"a{i % 40}", state="available" if i % 2 else "on_call")
              for i in itertools.count())
    with ServerThread(max_pending_events=100) as srv:
        srv.publish(list(itertools.islice(agents, 10)))
        # A board that held seq 10 (its state taken from the server directly: a client connected before
        # might still be registered when the backlog is published, and be dropped itself).
        frame = json.loads(srv.call(srv.server._snapshot_frame))
        sink = EngineSink()
        sink.on_snapshot({**frame["engine"], "metrics_config": frame["metrics_config"]}, frame["seq"])
        srv.publish(list(itertools.islice(agents, 300)))  # missed while away: 3x the pending limit

        async def trickle() -> None:
            # One event per loop iteration while the client comes back, so that the first events after its
            # registration (the server counts the resume in the same step) come before its writer's first
            # step; then a few more, far fewer than the pending limit.
            after = 0
            while after < 5:
                srv.server.publish([next(agents)])
                after += srv.server.stats["resumes"] > 0
                await asyncio.sleep(0)

        trickling = asyncio.run_coroutine_threadsafe(trickle(), srv.loop)
        second = FeedClient(srv.url, sink, **FAST)
        second.tracker.feed_id, second.tracker.last_seq = srv.server.feed_id, 10
        started(second)
        try:
            trickling.result(WAIT_S)
            sink.wait_seq(srv.server.seq)
        finally:
            second.stop()
        assert srv.server.stats["slow_consumers"] == 0 and srv.server.stats["resumes"] == 1
    assert second.counters.connects == 1 and second.counters.snapshots == 0 and sink.errors == []


def test_a_new_feed_id_drops_the_old_feeds_data_time_from_the_status(stream: list[p.Event]) -> None:
    old_feed_time = time.time() + 3600  # the old feed ran ahead (a replay), the new one is live
    hello_a = fp.encode(fp.Hello(protocol=1, feed_id="A", server_time=old_feed_time, heartbeat_s=2.5,
                                 max_frame_bytes=2**20, resume="snapshot"))
    snap_a = fp.encode(fp.Snapshot(seq=0, server_time=old_feed_time, engine=MetricsEngine().snapshot()))
    # Feed B's first connection breaks off after its hello (a batch where the snapshot should be: resync);
    # the status the client shows then must not pair feed B with feed A's data time.
    fake = FakeServer([[hello_a, snap_a], [_hello(feed_id="B"), _batch(1, stream[:1])],
                       [_hello(feed_id="B"), _snapshot(0)]])
    sink = EngineSink()
    client = started(FeedClient(fake.url, sink, **FAST))
    try:
        sink.wait_for(lambda s: s.snapshots == 1)
        client.disconnect()
        sink.wait_for(lambda s: s.snapshots == 2)
        sink.wait_state("live")
    finally:
        client.stop()
        fake.close()
    assert client.counters.resyncs == 1
    for st in sink.statuses:
        if st.feed_id == "B":
            assert st.last_data_server_time is None or st.last_data_server_time < old_feed_time - 60, st
    last = sink.statuses[-2]  # before "stopped"
    assert last.feed_id == "B" and last.state == "live"
    assert fp.data_age(last, time.time()).age_s is not None and not fp.data_age(last, time.time()).stale


def test_the_watchdog_wakes_at_its_next_deadline_not_on_a_short_period() -> None:
    client = FeedClient("ws://127.0.0.1:9/", EngineSink())
    assert client._watchdog_check() == 0.25  # not connected: a short poll
    client._live, client._ws = True, object()  # type: ignore[assignment]
    client._status = FeedStatus("live", "")
    stale_after = client._heartbeat_s * fp.STALE_AFTER_HEARTBEATS
    client._last_frame_mono = time.monotonic()
    assert client._watchdog_check() == 1.0  # data just came: the next look in a second, not 4 times a second
    client._last_frame_mono = time.monotonic() - (stale_after - 0.3)
    assert 0.05 < client._watchdog_check() <= 0.31  # just past the stale deadline, not a second later
    client._last_frame_mono = time.monotonic() - (stale_after + 0.1)
    client._watchdog_check()
    assert client.status.state == "stale"
