"""Pacing (docs/protocol.md, "Pacing"): a client that asks for batch_interval_ms gets at most one batch frame
per interval, every event in order, and the first batch after a quiet spell at once. Real server and clients."""

from __future__ import annotations

import time

import pytest
from feed_support import EngineSink, ServerThread, sim_events

from wallboard.core import feed_protocol as fp
from wallboard.core import protocol as p
from wallboard.feed.client import FeedClient

FAST = {"backoff_base_s": 0.05, "backoff_cap_s": 0.5}


class TimedSink(EngineSink):
    """Also notes when each batch arrived (monotonic), to check the spacing of frames."""

    def __init__(self) -> None:
        super().__init__()
        self.batch_times: list[float] = []

    def on_events(self, events: list[p.Event], last_seq: int) -> None:
        self.batch_times.append(time.monotonic())
        super().on_events(events, last_seq)


def test_a_paced_client_gets_one_frame_per_interval_with_every_event_in_order() -> None:
    stream = sim_events(400)
    interval = 0.2
    with ServerThread() as srv:
        paced, unpaced = TimedSink(), TimedSink()
        clients = [FeedClient(srv.url, paced, batch_interval_s=interval, **FAST), FeedClient(srv.url, unpaced, **FAST)]
        for c in clients:
            c.start()
        try:
            paced.wait_state("live")
            unpaced.wait_state("live")
            began = time.monotonic()
            for i in range(0, len(stream), 4):  # a source pushing a few events every 5 ms, for about 0.5 s
                srv.push(stream[i:i + 4])
                time.sleep(0.005)  # the producer's pace, not a synchronisation
            took = time.monotonic() - began
            paced.wait_seq(len(stream))
            unpaced.wait_seq(len(stream))
        finally:
            for c in clients:
                c.stop()
    assert paced.errors == [] and unpaced.errors == []  # seq continuity: nothing lost, duplicated or reordered
    now = stream[-1].ts
    assert paced.figures(now) == unpaced.figures(now)
    # At most one frame per interval while the source pushed (+1 for the frame after the last push). Counted,
    # not timed at the client: a client thread held up by a busy machine reads two frames back to back.
    assert len(paced.batch_times) <= took / interval + 2, (len(paced.batch_times), took)
    assert len(unpaced.batch_times) > 2 * len(paced.batch_times)  # unpaced: a frame per push, or nearly


def test_the_first_batch_after_a_quiet_spell_is_not_held_back() -> None:
    stream = sim_events(3)
    with ServerThread() as srv:
        sink = TimedSink()
        client = FeedClient(srv.url, sink, batch_interval_s=1.0, **FAST)  # the longest interval allowed
        client.start()
        try:
            sink.wait_state("live")
            srv.push(stream[:1])
            sink.wait_seq(1)
            # Quiet for longer than the interval (the snapshot and the first batch were sent before).
            quiet_until = time.monotonic() + 1.1
            while time.monotonic() < quiet_until:
                time.sleep(0.05)  # waiting out the interval itself, not for something to happen
            sent = time.monotonic()
            srv.push(stream[1:2])
            sink.wait_seq(2)
            latency = sink.batch_times[-1] - sent
        finally:
            client.stop()
    assert latency < 0.5, latency  # at once, not after up to a second of pacing


def test_a_paced_client_gets_its_snapshot_at_once() -> None:
    with ServerThread() as srv:
        srv.push(sim_events(50))
        sink = TimedSink()
        began = time.monotonic()
        client = FeedClient(srv.url, sink, batch_interval_s=1.0, **FAST)
        client.start()
        try:
            sink.wait_seq(50)
            took = time.monotonic() - began
        finally:
            client.stop()
    assert sink.snapshots == 1 and took < 0.9, took  # not a pacing interval (1 s) after connecting


def test_the_pacing_a_client_may_ask_for_is_bounded() -> None:
    with pytest.raises(ValueError, match="batch_interval_s"):
        FeedClient("ws://127.0.0.1:9/", EngineSink(), batch_interval_s=5.0)
    hello = fp.decode_client_hello(b'{"type":"hello","protocol":1,"batch_interval_ms":5000}')
    assert isinstance(hello, fp.Malformed) and "batch_interval_ms" in hello.reason
    ok = fp.decode_client_hello(b'{"type":"hello","protocol":1,"batch_interval_ms":30}')
    assert not isinstance(ok, fp.Malformed) and ok.batch_interval_ms == 30
    old = fp.decode_client_hello(b'{"type":"hello","protocol":1}')  # clients that do not ask: unpaced
    assert not isinstance(old, fp.Malformed) and old.batch_interval_ms is None
