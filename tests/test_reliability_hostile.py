"""Hostile input: the short fuzzing runs (the long ones: `python -m wallboard.reliability --long`), and the
regressions they found. Every run must lose no data and crash nothing."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

from wallboard.core import feed_protocol as fp
from wallboard.core import protocol as p
from wallboard.feed.client import FeedClient
from wallboard.recording import RecordingWriter, read_chunks
from wallboard.reliability import hostile


@pytest.mark.parametrize("target", ["protocol", "frames", "recordings", "config"])
def test_short_fuzz_run_crashes_nothing_and_loses_nothing(target: str) -> None:
    run = {"protocol": lambda: hostile.fuzz_protocol(3000, 300),
           "frames": lambda: hostile.fuzz_frames(3000, 300),
           "recordings": lambda: hostile.fuzz_recordings(600),
           "config": lambda: hostile.fuzz_config(3000, 300)}[target]
    row = run()
    assert row.ok, row.notes
    assert row.data_lost == 0
    assert row.bad_inputs >= 600


def test_a_timestamp_beyond_2100_is_rejected_not_a_crash_downstream() -> None:
    # Found by fuzzing: ts=1.8e12 (milliseconds sent as seconds) passed validation and crashed the engine's
    # day arithmetic ("year 58865 is out of range").
    r = p.parse_event('{"type":"agent_state","ts":1795424400000,"agent_id":"a","state":"available"}')
    assert isinstance(r, p.Rejected) and "ts" in r.reason
    assert isinstance(p.parse_event('{"type":"agent_state","ts":4102444800,"agent_id":"a","state":"on_call"}'),
                      p.AgentState)


def test_a_cut_or_corrupt_gz_recording_gives_every_line_before_the_damage_then_says_so(tmp_path: Path) -> None:
    events = hostile.seed_events(300)
    path = tmp_path / "r.jsonl.gz"
    with RecordingWriter(path) as w:
        w.write_many(events)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])  # a writer killed mid-file
    chunks = list(read_chunks(path, chunk_lines=5000))
    got = [e for c in chunks for e in c.events]
    rejected = [r for c in chunks for r in c.rejected]
    assert got == events[: len(got)] and len(got) > len(events) // 3
    assert rejected and "damaged" in rejected[-1].reason
    with gzip.open(path, "rb") as fh, pytest.raises(EOFError):
        fh.read()  # what the reader used to let escape


class _RefusingSink:
    def __init__(self) -> None:
        self.events = 0

    def on_snapshot(self, snapshot: dict, seq: int) -> None:
        raise KeyError("engine")  # a snapshot the sink cannot restore

    def on_events(self, events: list, last_seq: int) -> None:
        self.events += len(events)

    def on_status(self, status: object) -> None:
        pass


def test_a_snapshot_the_sink_cannot_restore_forces_a_reconnect_not_batches_on_stale_state(
        caplog: pytest.LogCaptureFixture) -> None:
    # Found by fuzzing: a well-formed snapshot frame whose engine state is broken used to be counted as
    # delivered, and the batches after it were applied on top of whatever the sink held before.
    caplog.set_level(logging.CRITICAL)
    sink = _RefusingSink()
    client = FeedClient("ws://127.0.0.1:9/", sink)
    client.tracker.client_hello()
    hello = fp.encode(fp.Hello(protocol=1, feed_id="f", server_time=1.0, heartbeat_s=2.5,
                               max_frame_bytes=2**20, resume="snapshot"))
    assert client._on_frame(hello) is None
    outcome = client._on_frame(fp.encode(fp.Snapshot(seq=5, server_time=1.0, engine={"version": 99})))
    assert outcome is not None and outcome.state == "reconnecting"
    assert client.tracker.last_seq is None  # the next connection asks for a snapshot again
    assert client.counters.sink_errors == 1 and sink.events == 0
