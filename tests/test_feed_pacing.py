"""Pacing (docs/protocol.md, "Pacing"): a client that asks for batch_interval_ms gets at most one batch frame
per interval, every event in order, no event held much longer than an interval, and the first batch after a
quiet spell at once. The rule itself (fp.paced_send_at) on hand-worked times; then a real server and clients."""

from __future__ import annotations

import itertools
import random
import time

import pytest
from feed_support import EngineSink, ServerThread, sim_events

from wallboard.core import feed_protocol as fp
from wallboard.core import protocol as p
from wallboard.feed.client import FeedClient

FAST = {"backoff_base_s": 0.05, "backoff_cap_s": 0.5}


def test_paced_send_at_on_hand_worked_times() -> None:
    interval = 0.04
    # Quiet: the last frame went 0.5 s ago, an event comes at 10.0: it goes at once.
    assert fp.paced_send_at(9.5, 10.0, interval) == 10.0
    # Exactly one interval after the last frame still counts as quiet.
    assert fp.paced_send_at(9.96, 10.0, interval) == 10.0
    # Busy: the last frame went at 10.0, an event comes at 10.01: it waits one interval, less the 1 ms a timer
    # may be late: 10.049 (not 10.04, one interval after the last frame, which would leave the events
    # after it only 30 ms to gather).
    assert fp.paced_send_at(10.0, 10.01, interval) == pytest.approx(10.049)
    assert fp.paced_send_at(10.0, 10.01, interval, early=0.0) == pytest.approx(10.05)
    # Queued while the last frame was still being sent (before the send finished at 10.0): one interval after
    # that frame, never sooner.
    assert fp.paced_send_at(10.0, 9.999, interval) == pytest.approx(10.04)


def _schedule(arrivals: list[float], interval: float) -> tuple[list[float], list[float]]:
    """(send times, each event's wait) of a paced writer that sends instantly, by fp.paced_send_at."""
    sends: list[float] = []
    waits: list[float] = []
    last, i = -1e9, 0
    while i < len(arrivals):
        at = fp.paced_send_at(last, arrivals[i], interval)
        j = i
        while j < len(arrivals) and arrivals[j] <= at:
            waits.append(at - arrivals[j])
            j += 1
        sends.append(at)
        last, i = at, j
    return sends, waits


@pytest.mark.parametrize("rate", [30, 300, 2000])
def test_pacing_bounds_every_wait_and_spaces_frames_by_an_interval(rate: int) -> None:
    rng = random.Random(rate)
    arrivals, t = [], 0.0
    while t < 20.0:  # events at random moments (a Poisson stream), as an ACD sends them
        t += rng.expovariate(rate)
        arrivals.append(t)
    interval = 0.04
    sends, waits = _schedule(arrivals, interval)
    assert len(waits) == len(arrivals)  # every event sent once, in order
    assert max(waits) <= interval + 1e-9  # none waits longer than an interval (the board's latency bound)
    assert min(b - a for a, b in itertools.pairwise(sends)) >= interval - 1e-9  # at most 25 a second
    frames_per_s = len(sends) / arrivals[-1]
    # Fewer frames than one an interval after the last: the next frame's interval starts with its first event.
    # (One an interval after the last would be ~20, 25 and 25 a second.)
    expected = {30: (15, 18), 300: (23.0, 24.2), 2000: (24.5, 25.01)}[rate]
    assert expected[0] <= frames_per_s <= expected[1], frames_per_s


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
