"""The sans-I/O stream envelope: frames, seq tracking and resume, clock offset, backoff, data age."""

from __future__ import annotations

import json
import random

import pytest

from wallboard.core import feed_protocol as fp
from wallboard.core.protocol import parse_batch


def hello(feed_id: str = "f1", resume: str = "snapshot", protocol: int = 1) -> fp.Hello:
    return fp.Hello(protocol=protocol, feed_id=feed_id, server_time=100.0, heartbeat_s=2.5,
                    max_frame_bytes=1000, resume=resume)  # type: ignore[arg-type]


def snap(seq: int) -> fp.Snapshot:
    return fp.Snapshot(seq=seq, server_time=100.0, engine={"version": 1})


def batch(first: int, last: int) -> fp.Batch:
    events = [{"n": i} for i in range(first, last + 1)]
    return fp.Batch(first_seq=first, seq=last, server_time=100.0, events=events)


def test_encode_batch_round_trips_through_the_frame_model() -> None:
    raw = fp.encode_batch(3, 4, 1795424400.125, [b'{"type":"x","ts":1}', b'{"type":"y","ts":2}'])
    frame = fp.decode_server_frame(raw)
    assert isinstance(frame, fp.Batch)
    assert (frame.first_seq, frame.seq, frame.server_time) == (3, 4, 1795424400.125)
    assert frame.events == [{"type": "x", "ts": 1}, {"type": "y", "ts": 2}]
    assert len(raw) - len(b'{"type":"x","ts":1},{"type":"y","ts":2}') <= fp.BATCH_OVERHEAD_BYTES


def test_a_batch_of_valid_events_decodes_typed_in_one_pass_and_one_bad_event_keeps_it_raw() -> None:
    good = [b'{"type":"call_queued","ts":1795424400.0,"call_id":"c1","queue":"sales"}',
            b'{"type":"agent_state","ts":1795424400.5,"agent_id":"a1","state":"available"}']
    frame = fp.decode_server_frame(fp.encode_batch(1, 2, 1795424400.5, good))
    assert isinstance(frame, fp.TypedBatch)
    assert [type(e).__name__ for e in frame.events] == ["CallQueued", "AgentState"]
    # One unknown event: the frame still decodes, its events raw, for the client to skip that one alone.
    bad = b'{"type":"nope","ts":1}'
    mixed = fp.decode_server_frame(fp.encode_batch(1, 3, 1795424400.5, [good[0], bad, good[1]]))
    assert type(mixed) is fp.Batch
    assert mixed.events[1] == {"type": "nope", "ts": 1}
    parsed = parse_batch(mixed.events)
    assert [type(e).__name__ for e in parsed.events] == ["CallQueued", "AgentState"]
    assert len(parsed.rejected) == 1


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"type":"bogus"}', b'{"type":"batch","seq":1}',
                                 b'{"type":"heartbeat","seq":-1,"server_time":1}', b"\xff\xfe"])
def test_malformed_frames_are_reported_not_raised(raw: bytes) -> None:
    assert isinstance(fp.decode_server_frame(raw), fp.Malformed)


def test_client_hello_decoding() -> None:
    ok = fp.decode_client_hello(b'{"type":"hello","protocol":1,"feed_id":"f","last_seq":7,"extra":1}')
    assert ok == fp.ClientHello(protocol=1, feed_id="f", last_seq=7)
    assert isinstance(fp.decode_client_hello(b'{"type":"hello"}'), fp.Malformed)
    assert isinstance(fp.decode_client_hello(b"hi"), fp.Malformed)


def test_tracker_first_connection_takes_the_snapshot_then_contiguous_batches() -> None:
    t = fp.SeqTracker()
    assert t.client_hello() == fp.ClientHello(protocol=1, feed_id=None, last_seq=None)
    assert t.on_frame(hello()) == fp.Nothing()
    act = t.on_frame(snap(10))
    assert isinstance(act, fp.DeliverSnapshot) and t.last_seq == 10
    act = t.on_frame(batch(11, 13))
    assert isinstance(act, fp.DeliverEvents) and act.last_seq == 13 and len(act.events) == 3
    assert t.on_frame(fp.Heartbeat(seq=13, server_time=1.0)) == fp.Nothing()
    assert t.client_hello() == fp.ClientHello(protocol=1, feed_id="f1", last_seq=13)


def test_tracker_detects_gaps_in_batches_and_heartbeats() -> None:
    t = fp.SeqTracker()
    t.client_hello()
    t.on_frame(hello())
    t.on_frame(snap(10))
    assert isinstance(t.on_frame(batch(12, 12)), fp.Resync)
    t2 = fp.SeqTracker()
    t2.client_hello()
    t2.on_frame(hello())
    t2.on_frame(snap(10))
    assert isinstance(t2.on_frame(fp.Heartbeat(seq=11, server_time=1.0)), fp.Resync)


def test_tracker_drops_overlapping_events_exactly_once() -> None:
    t = fp.SeqTracker()
    t.client_hello()
    t.on_frame(hello())
    t.on_frame(snap(10))
    t.on_frame(batch(11, 12))
    act = t.on_frame(batch(11, 14))
    assert isinstance(act, fp.DeliverEvents)
    assert act.events == [{"n": 13}, {"n": 14}] and act.duplicates == 2 and t.last_seq == 14
    assert t.on_frame(batch(13, 14)) == fp.Nothing(duplicates=2)


def test_tracker_resume_and_feed_restart() -> None:
    t = fp.SeqTracker()
    t.client_hello()
    t.on_frame(hello("f1"))
    t.on_frame(snap(5))
    # Same feed, resumed: batches continue without a snapshot.
    assert t.client_hello().last_seq == 5
    assert t.on_frame(hello("f1", "resumed")) == fp.Nothing()
    assert isinstance(t.on_frame(batch(6, 6)), fp.DeliverEvents)
    # A "resumed" hello from another feed cannot be right.
    t.client_hello()
    assert isinstance(t.on_frame(hello("f2", "resumed")), fp.Resync)
    # The server restarted (new feed id): a snapshot must come before any batch.
    t.client_hello()
    t.on_frame(hello("f3", "snapshot"))
    assert isinstance(t.on_frame(batch(7, 7)), fp.Resync)
    t.client_hello()
    t.on_frame(hello("f3", "snapshot"))
    assert isinstance(t.on_frame(snap(2)), fp.DeliverSnapshot) and t.last_seq == 2


def test_a_new_feed_id_drops_the_old_position_even_before_its_snapshot_arrives() -> None:
    t = fp.SeqTracker()
    t.client_hello()
    t.on_frame(hello("f1"))
    t.on_frame(snap(500))
    t.client_hello()
    t.on_frame(hello("f2", "snapshot"))  # the server restarted; the connection drops before the snapshot
    assert t.client_hello() == fp.ClientHello(protocol=1, feed_id="f2", last_seq=None)


def test_tracker_refuses_other_protocol_versions_and_frames_before_hello() -> None:
    t = fp.SeqTracker()
    t.client_hello()
    assert isinstance(t.on_frame(batch(1, 1)), fp.Resync)
    t.client_hello()
    assert isinstance(t.on_frame(hello(protocol=2)), fp.Incompatible)


def test_batch_whose_seq_range_disagrees_with_its_events_forces_resync() -> None:
    t = fp.SeqTracker()
    t.client_hello()
    t.on_frame(hello())
    t.on_frame(snap(0))
    bad = fp.Batch(first_seq=1, seq=3, server_time=1.0, events=[{}])
    assert isinstance(t.on_frame(bad), fp.Resync)


def test_clock_offset_takes_the_fastest_sample() -> None:
    c = fp.ClockOffset(window=4)
    # True offset +10 s; transit delays 0.050, 0.002, 0.030 s.
    for local, delay in ((1000.0, 0.050), (1001.0, 0.002), (1002.0, 0.030)):
        c.add(local + 10.0 - delay, local)
    assert c.offset_s == pytest.approx(10.0 - 0.002)
    for i in range(4):  # the old best sample leaves the window
        c.add(1003.0 + i + 10.0 - 0.020, 1003.0 + i)
    assert c.offset_s == pytest.approx(10.0 - 0.020)


def test_backoff_is_capped_exponential_with_full_jitter_and_resets() -> None:
    b = fp.Backoff(base_s=0.5, cap_s=8.0, rng=random.Random(1))
    ceilings = [0.5, 1, 2, 4, 8, 8, 8]
    delays = [b.next_delay() for _ in ceilings]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    many = [b.next_delay() for _ in range(2000)]
    assert max(many) <= 8.0 and min(many) < 0.5 and sum(many) / len(many) == pytest.approx(4.0, rel=0.1)
    b.reset()
    assert b.next_delay() <= 0.5


def test_data_age_and_staleness() -> None:
    live = fp.FeedStatus("live", clock_offset_s=5.0, last_data_server_time=1005.0, stale_after_s=7.5)
    assert fp.data_age(live, now=1001.0) == fp.DataAge(1.0, False)
    assert fp.data_age(live, now=1008.0).stale  # 8 s old
    reconnecting = fp.FeedStatus("reconnecting", clock_offset_s=5.0, last_data_server_time=1005.0)
    assert fp.data_age(reconnecting, now=1001.0) == fp.DataAge(1.0, True)
    assert fp.data_age(fp.FeedStatus("connecting"), now=1.0) == fp.DataAge(None, True)


def test_frames_are_plain_json_with_documented_fields() -> None:
    h = json.loads(fp.encode(hello()))
    assert set(h) == {"type", "protocol", "feed_id", "server_time", "heartbeat_s", "max_frame_bytes",
                      "resume", "source", "snapshot_bytes"}
    assert json.loads(fp.encode(fp.Heartbeat(seq=3, server_time=1.5))) == {
        "type": "heartbeat", "seq": 3, "server_time": 1.5}


@pytest.mark.parametrize("server_time", ["NaN", "Infinity", "-Infinity", "1e400", "-1", "1e300"])
@pytest.mark.parametrize("template", [
    '{"type":"heartbeat","seq":0,"server_time":%s}',
    '{"type":"batch","first_seq":1,"seq":1,"server_time":%s,"events":[{}]}',
    '{"type":"snapshot","seq":0,"server_time":%s,"engine":{}}',
    '{"type":"hello","protocol":1,"feed_id":"f","server_time":%s,"heartbeat_s":2.5,"max_frame_bytes":1,'
    '"resume":"snapshot"}',
])
def test_frames_with_a_non_finite_negative_or_absurd_server_time_are_malformed(
        template: str, server_time: str) -> None:
    assert isinstance(fp.decode_server_frame((template % server_time).encode()), fp.Malformed)
    assert not isinstance(fp.decode_server_frame((template % "1795424400.5").encode()), fp.Malformed)


@pytest.mark.parametrize("heartbeat_s", ["NaN", "Infinity", "0", "-2.5"])
def test_a_hello_with_a_useless_heartbeat_period_is_malformed(heartbeat_s: str) -> None:
    raw = ('{"type":"hello","protocol":1,"feed_id":"f","server_time":1,"heartbeat_s":' + heartbeat_s
           + ',"max_frame_bytes":1,"resume":"snapshot"}').encode()
    assert isinstance(fp.decode_server_frame(raw), fp.Malformed)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_clock_offset_ignores_non_finite_samples(bad: float) -> None:
    c = fp.ClockOffset()
    c.add(bad, 1000.0)  # first
    c.add(1010.0, 1000.0)
    c.add(bad, 1001.0)  # later
    assert c.offset_s == 10.0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_data_age_is_never_fresh_for_a_non_finite_data_time_or_offset(bad: float) -> None:
    assert fp.data_age(fp.FeedStatus("live", last_data_server_time=bad), now=1000.0) == fp.DataAge(None, True)
    status = fp.FeedStatus("live", clock_offset_s=bad, last_data_server_time=1000.0)
    assert fp.data_age(status, now=1000.0) == fp.DataAge(None, True)
