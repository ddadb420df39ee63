"""Hostile input: generated inputs against the four parsers a stranger can reach.

Each target runs ``mutations`` seeded byte mutations of valid inputs (wallboard.reliability.mutate) plus
``generated`` hypothesis examples (structured: right shape, wrong values). Any exception escaping a parser
is a crash and fails the row; so does a rejected input that changed a figure.

Why not atheris: the parsers are thin Python over pydantic-core (Rust, not instrumented), so coverage
guidance sees almost nothing; seeded mutation + hypothesis reach the same branches at a fraction of the set-up.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wallboard.core import feed_protocol as fp
from wallboard.core import protocol as p
from wallboard.core.engine import MetricsEngine
from wallboard.reliability.mutate import mutate
from wallboard.reliability.table import Row

DAY0 = 1795424400.0  # 2026-11-24 00:00 UTC


def seed_events(n: int = 400, scenario: str = "small", seed: int = 5) -> list[p.Event]:
    from wallboard.sim import Simulator, load_scenario

    sim = Simulator(load_scenario(scenario), seed=seed, start=DAY0 + 8 * 3600)
    out: list[p.Event] = []
    for e in sim.run(DAY0 + 2 * 86400, chunk_s=600):
        out.append(e)
        if len(out) >= n:
            break
    out.append(p.QueueInfo(ts=out[-1].ts, queue="q1", name="Q one", sl_threshold_s=20, sl_target_pct=80))
    out.append(p.Broadcast(ts=out[-1].ts, text="hello floor", level="warning", expires=out[-1].ts + 60))
    return out


def _hypothesis_run(strategy: Any, check: Callable[[Any], None], n: int, seed: int) -> int:
    """Run ``check`` on ``n`` examples of ``strategy``; returns how many ran."""
    if n <= 0:
        return 0
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    count = [0]

    @hseed(seed)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(x: Any) -> None:
        count[0] += 1
        check(x)

    run()
    return count[0]


def _json_values() -> Any:
    from hypothesis import strategies as st

    scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
               | st.text(max_size=30) | st.sampled_from(["", "x" * 250, "voice", "available", "1e3"]))
    return st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c,
                                                                                       max_size=4), max_leaves=8)


def _event_dicts(valid: list[p.Event]) -> Any:
    """Valid events with fields dropped, replaced by arbitrary JSON values, or extra fields added."""
    from hypothesis import strategies as st

    dicts = [p.event_to_dict(e) for e in valid]
    types = [*p.EVENT_TYPES, "call_teleported", "", "CALL_QUEUED"]

    @st.composite
    def bent(draw: Any) -> Any:
        d = dict(draw(st.sampled_from(dicts)))
        for _ in range(draw(st.integers(0, 3))):
            key = draw(st.sampled_from([*d.keys(), "ts", "type", "extra", "queues"]))
            action = draw(st.integers(0, 2))
            if action == 0:
                d.pop(key, None)
            elif action == 1:
                d[key] = draw(_json_values())
            else:
                d[key] = draw(st.sampled_from(types)) if key == "type" else draw(st.floats() | st.text())
        return d if draw(st.integers(0, 9)) else draw(_json_values())

    return bent()


# ---------------------------------------------------------------------------------------------- protocol
def fuzz_protocol(mutations: int, generated: int, seed: int = 1) -> Row:
    """parse_event / parse_lines / parse_batch. Property: the batch parsers return exactly what parsing each
    line alone returns (so a rejected line changes nothing around it), accepted events round-trip, and an
    engine fed every accepted event never raises."""
    row = Row("hostile input: protocol parser (parse_event, parse_lines, parse_batch)",
              command=f"python -m wallboard.reliability --only protocol  # {mutations:,} mutations + "
                      f"{generated:,} generated")
    t0 = time.monotonic()
    valid = seed_events()
    seeds = [p.dump_event(e).encode() for e in valid]
    engine = MetricsEngine()
    rng = random.Random(seed)
    stats = {"accepted": 0, "rejected": 0, "groups": 0}

    def check_one(raw: bytes) -> p.Event | p.Rejected:
        r = p.parse_event(raw)
        if isinstance(r, p.Rejected):
            stats["rejected"] += 1
        else:
            stats["accepted"] += 1
            again = p.parse_event(p.dump_event(r))
            if again != r:
                row.fail(f"round trip changed {raw[:80]!r}")
            engine.apply(r)
        return r

    def check_group(hostile: list[bytes]) -> None:
        """Hostile lines interleaved with valid ones: parse_lines must agree with line-by-line parsing."""
        stats["groups"] += 1
        lines: list[bytes] = []
        for h in hostile:
            lines.append(rng.choice(seeds))
            lines.append(h)
        alone = [check_one(x) if i % 2 else p.parse_event(x) for i, x in enumerate(lines)]
        want = [r for r in alone if not isinstance(r, p.Rejected)]
        got = p.parse_lines(lines)
        nonblank = [i + 1 for i, x in enumerate(lines) if x.strip()]
        want_rej = [n for n, r in zip(range(1, len(lines) + 1), alone, strict=True)
                    if isinstance(r, p.Rejected) and n in nonblank]
        if got.events != want or [r.line for r in got.rejected] != want_rej:
            row.data_lost += abs(len(got.events) - len(want)) or 1
            row.fail(f"parse_lines disagrees with line-by-line on {hostile[:2]!r}")
        objs: list[object] = []
        for x in lines:
            try:
                objs.append(json.loads(x))
            except ValueError:
                continue
        batch = p.parse_batch(objs)
        one_by_one = [p.parse_event_obj(o) for o in objs]
        if batch.events != [r for r in one_by_one if not isinstance(r, p.Rejected)]:
            row.data_lost += 1
            row.fail("parse_batch disagrees with object-by-object")

    group: list[bytes] = []
    for _ in range(mutations):
        group.append(mutate(rng, rng.choice(seeds), seeds))
        if len(group) == 16:
            check_group(group)
            group = []
    if group:
        check_group(group)

    def gen_check(obj: Any) -> None:
        try:
            raw = json.dumps(obj, allow_nan=True).encode()
        except (ValueError, TypeError):
            return
        check_group([raw])

    n_gen = _hypothesis_run(_event_dicts(valid), gen_check, generated, seed)
    engine.figures(engine.latest_ms / 1000 if engine.latest_ms else DAY0, agent_list=True)
    row.bad_inputs = mutations + n_gen
    row.detail = {**stats, "mutations": mutations, "generated": n_gen}
    row.notes = row.notes or f"{stats['rejected']:,} rejected, {stats['accepted']:,} still valid events"
    row.seconds = time.monotonic() - t0
    return row


# ---------------------------------------------------------------------------------------------- frames
class _Sink:
    def __init__(self) -> None:
        self.engine: MetricsEngine | None = None
        self.seq: int | None = None
        self.snapshots = 0
        self.gaps = 0

    def on_snapshot(self, snapshot: dict, seq: int) -> None:
        self.engine = MetricsEngine.restore(snapshot)
        self.seq = seq
        self.snapshots += 1

    def on_events(self, events: list[p.Event], last_seq: int) -> None:
        if self.engine is None or self.seq is None or last_seq - len(events) != self.seq:
            self.gaps += 1  # rejected events inside a batch are the only legitimate difference: none here
            return
        self.engine.apply_many(events)
        self.seq = last_seq

    def on_status(self, status: object) -> None:
        pass

    def fingerprint(self) -> tuple:
        e = self.engine
        return (self.snapshots, self.seq, e.events_applied if e else None, e.latest_ms if e else None)


def fuzz_frames(mutations: int, generated: int, seed: int = 2) -> Row:
    """The real FeedClient's frame handling (``_on_frame``: decode, seq tracking, batch validation, sink),
    fed a valid stream with hostile frames between its batches. Properties: never raises; a frame the client
    rejects (malformed, resync, out of protocol) changes no figure; after every resync the next snapshot
    brings the client back to exactly the server's figures; at the end both agree."""
    import logging

    from wallboard.feed.client import FeedClient

    logging.getLogger("wallboard.feed.client").setLevel(logging.CRITICAL)  # thousands of expected warnings
    row = Row("hostile input: feed client frames (FeedClient frame handling + feed_protocol)",
              command=f"python -m wallboard.reliability --only frames  # {mutations:,} mutations + "
                      f"{generated:,} generated")
    t0 = time.monotonic()
    valid = seed_events()
    rng = random.Random(seed)
    server = MetricsEngine()
    server_seq = 0
    sink = _Sink()
    client = FeedClient("ws://127.0.0.1:9/", sink)  # never started: frames are handed in directly
    feed_id = "fuzz"
    stats = {"malformed": 0, "resync": 0, "accepted_forged": 0}

    def hello() -> bytes:
        return fp.encode(fp.Hello(protocol=1, feed_id=feed_id, server_time=DAY0, heartbeat_s=2.5,
                                  max_frame_bytes=2**20, resume="snapshot"))

    def snapshot() -> bytes:
        return fp.encode(fp.Snapshot(seq=server_seq, server_time=DAY0, engine=server.snapshot()))

    def reconnect() -> None:
        client.tracker.client_hello()
        for raw in (hello(), snapshot()):
            if client._on_frame(raw) is not None:
                row.fail("a fresh hello + snapshot was refused")
        if sink.seq != server_seq:
            row.fail("snapshot did not restore the server's position")

    def next_batch() -> bytes:
        nonlocal server_seq
        evs = [rng.choice(valid) for _ in range(rng.randint(1, 4))]
        server.apply_many(evs)
        first = server_seq + 1
        server_seq += len(evs)
        return fp.encode_batch(first, server_seq, DAY0, [p.EVENT_ADAPTER.dump_json(e, exclude_none=True)
                                                        for e in evs])

    templates = [hello(), snapshot(), next_batch(),
                 fp.encode(fp.Heartbeat(seq=1, server_time=DAY0)),
                 fp.encode(fp.ErrorFrame(code=4008, reason="slow"))]
    server, server_seq = MetricsEngine(), 0
    reconnect()

    def hostile(raw: bytes) -> None:
        before = sink.fingerprint()
        malformed0 = client.counters.malformed
        try:
            outcome = client._on_frame(raw)
        except Exception as exc:  # a crash: the row fails
            row.fail(f"{type(exc).__name__}: {exc} on {raw[:80]!r}")
            reconnect()
            return
        after = sink.fingerprint()
        if outcome is not None:
            stats["resync"] += 1
            if after != before:
                row.data_lost += 1
                row.fail(f"a refused frame changed the figures: {raw[:80]!r}")
            reconnect()
        elif client.counters.malformed > malformed0:
            stats["malformed"] += 1
            if after != before:
                row.data_lost += 1
                row.fail(f"a malformed frame changed the figures: {raw[:80]!r}")
        elif after != before:
            # A well-formed frame that continues the stream is indistinguishable from the server's own
            # (integrity is TLS's job): the client took it. Resync so the comparison stays meaningful.
            stats["accepted_forged"] += 1
            reconnect()

    def real_batch() -> None:
        raw = next_batch()
        if client._on_frame(raw) is not None or sink.seq != server_seq:
            reconnect()  # an earlier hostile hello may have left the tracker waiting for a snapshot

    for _ in range(mutations):
        hostile(mutate(rng, rng.choice(templates), templates))
        if rng.random() < 0.3:
            real_batch()

    def gen_check(obj: Any) -> None:
        try:
            raw = json.dumps(obj, allow_nan=True).encode()
        except (ValueError, TypeError):
            return
        hostile(raw)
        real_batch()

    from hypothesis import strategies as st

    frame_dicts = st.fixed_dictionaries(
        {"type": st.sampled_from(["hello", "snapshot", "batch", "heartbeat", "error", "bogus"])},
        optional={k: _json_values() for k in ("seq", "first_seq", "server_time", "events", "protocol",
                                               "feed_id", "resume", "engine", "code", "heartbeat_s")})
    n_gen = _hypothesis_run(frame_dicts | _json_values(), gen_check, generated, seed)
    real_batch()
    now = DAY0 + 3 * 86400
    if sink.engine is None or sink.engine.figures(now, agent_list=True) != server.figures(now, agent_list=True):
        row.data_lost += 1
        row.fail("client figures differ from the server's at the end")
    logging.getLogger("wallboard.feed.client").setLevel(logging.NOTSET)
    if sink.gaps:
        row.data_lost += sink.gaps
        row.fail(f"{sink.gaps} batches reached the sink out of sequence or before a usable snapshot")
    row.bad_inputs = mutations + n_gen
    row.detail = {**stats, "mutations": mutations, "generated": n_gen, "server_seq": server_seq}
    row.notes = row.notes or (f"{stats['malformed']:,} malformed, {stats['resync']:,} resyncs, "
                              f"{stats['accepted_forged']:,} well-formed forgeries taken as data")
    row.seconds = time.monotonic() - t0
    return row


# ---------------------------------------------------------------------------------------------- recordings
def fuzz_recordings(mutations: int, seed: int = 3) -> Row:
    """read_chunks on damaged .jsonl and .jsonl.gz files (cut, flipped, spliced, garbage inserted).
    Properties: never raises; on a cut (truncated) file, every complete line before the cut is read back."""
    from wallboard.recording import RecordingWriter, read_chunks

    row = Row("hostile input: recording reader (.jsonl, .jsonl.gz: cut, corrupt, spliced)",
              command=f"python -m wallboard.reliability --only recordings  # {mutations:,} damaged files")
    t0 = time.monotonic()
    valid = seed_events(300)
    rng = random.Random(seed)
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=shm) as d:
        originals: dict[str, bytes] = {}
        for suffix in (".jsonl", ".jsonl.gz"):
            path = Path(d) / f"orig{suffix}"
            with RecordingWriter(path) as w:
                w.write_many(valid)
            originals[suffix] = path.read_bytes()
        plain_lines = originals[".jsonl"].split(b"\n")
        stats = {"cut": 0, "damaged_reported": 0}
        for i in range(mutations):
            suffix = ".jsonl.gz" if i % 2 else ".jsonl"
            data = originals[suffix]
            cut = rng.random() < 0.3
            bad = data[:rng.randrange(len(data))] if cut else mutate(rng, data, [])
            path = Path(d) / f"m{suffix}"
            path.write_bytes(bad)
            events: list[p.Event] = []
            rejected = 0
            try:
                for chunk in read_chunks(path, chunk_lines=rng.choice((7, 5000))):
                    events.extend(chunk.events)
                    rejected += len(chunk.rejected)
            except Exception as exc:
                row.fail(f"{type(exc).__name__}: {exc}")
                continue
            if cut:
                stats["cut"] += 1
                if events != valid[:len(events)]:
                    row.data_lost += 1
                    row.fail("a cut file gave events that are not a prefix of the original")
                if suffix == ".jsonl":
                    complete = bad.count(b"\n")
                    if len(events) < min(complete, len(valid)):
                        row.data_lost += min(complete, len(valid)) - len(events)
                        row.fail(f"cut plain file lost {complete - len(events)} complete lines")
                elif bad and rejected == 0 and len(events) < len(valid):  # 0 bytes: an empty file
                    row.fail("a cut .gz was read without reporting the damage")
            if rejected:
                stats["damaged_reported"] += 1
        del plain_lines
    row.bad_inputs = mutations
    row.detail = {**stats, "mutations": mutations}
    row.notes = row.notes or f"{stats['cut']:,} cut files; damage reported in {stats['damaged_reported']:,}"
    row.seconds = time.monotonic() - t0
    return row


# ---------------------------------------------------------------------------------------------- config
SAMPLE_CONFIG = """\
theme = "dark"
[feed]
url = "wss://wall.example:8765/"
token_file = "token.txt"
stale_after_s = 7.5
[display]
max_refresh_hz = 20
[ticker]
messages = ["Welcome", "Fire drill at 3"]
[[pages]]
title = "Floor"
rows = 2
cols = 3
[[pages.tiles]]
kind = "waiting"
queue = "sales"
[[pages.tiles]]
kind = "service_level"
col = 1
window = "rolling"
thresholds = { warn = 80, alarm = 60 }
"""


def _config_parser() -> tuple[Callable[[str, str], Any], type[Exception], str]:
    """The site config loader (wallboard.config_loader.parse_config) when present, else the core parser."""
    try:
        from wallboard.config_loader import ConfigError, parse_config
        return parse_config, ConfigError, "config_loader.parse_config"
    except ImportError:
        from wallboard.core.board_config import BoardConfigError, parse_board_config
        return parse_board_config, BoardConfigError, "parse_board_config"


def fuzz_config(mutations: int, generated: int, seed: int = 4) -> Row:
    """The board config loader: any text gives a BoardConfig or the loader's own error (a message naming
    the file), never another exception."""
    parse, error_type, name = _config_parser()
    row = Row(f"hostile input: config loader ({name})",
              command=f"python -m wallboard.reliability --only config  # {mutations:,} mutations + "
                      f"{generated:,} generated")
    t0 = time.monotonic()
    parse(SAMPLE_CONFIG, "sample.toml")  # the sample itself must load
    rng = random.Random(seed)
    seed_bytes = SAMPLE_CONFIG.encode()
    stats = {"loaded": 0, "refused": 0}

    def check(text: str) -> None:
        try:
            parse(text, "fuzz.toml")
            stats["loaded"] += 1
        except error_type as exc:
            stats["refused"] += 1
            if "fuzz.toml" not in str(exc):
                row.fail("error does not name the file")
        except Exception as exc:
            row.fail(f"{type(exc).__name__}: {exc}"[:200])

    for _ in range(mutations):
        check(mutate(rng, seed_bytes, []).decode("utf-8", "replace"))

    from hypothesis import strategies as st

    lines = st.lists(st.sampled_from(SAMPLE_CONFIG.splitlines()) | st.text(max_size=40), max_size=20)
    n_gen = _hypothesis_run(lines.map("\n".join), check, generated, seed)
    row.bad_inputs = mutations + n_gen
    row.detail = {**stats, "mutations": mutations, "generated": n_gen}
    row.notes = row.notes or f"{stats['refused']:,} refused with a message, {stats['loaded']:,} still valid"
    row.seconds = time.monotonic() - t0
    return row
