"""`wallboard serve` and `wallboard tail` as real processes: a server killed and restarted mid-stream."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from feed_support import EngineSink, ServerThread, reference_figures, sim_events

from wallboard.core.engine import MetricsEngine
from wallboard.feed.client import FeedClient
from wallboard.recording import RecordingWriter

FAST = {"backoff_base_s": 0.05, "backoff_cap_s": 0.5}


def start_server(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "wallboard", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "listening ws://127.0.0.1:PORT/ feed_id=..." once it accepts connections
    assert line.startswith("listening "), f"server did not start: {line!r}"
    return proc, line.split()[1]


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_server_killed_and_restarted_mid_stream(tmp_path: Path) -> None:
    events = sim_events(20_000)
    rec = tmp_path / "day.jsonl.gz"
    with RecordingWriter(rec) as w:
        w.write_many(events)
    n = len(events)
    speed = str((events[-1].ts - events[0].ts) / 4.0)  # the replay lasts ~4 s
    server_a, url = start_server("--source", f"replay:{rec}", "--speed", speed, "--port", "0")
    port = url.rsplit(":", 1)[1].strip("/")
    disturbed = EngineSink()
    client = FeedClient(url, disturbed, **FAST)
    client.start()
    undisturbed = EngineSink()
    witness = FeedClient(url, undisturbed, **FAST)
    server_b = None
    try:
        disturbed.wait_for(lambda s: (s.seq or 0) > n // 4)
        server_a.kill()  # SIGKILL: no closing handshake, no goodbye
        server_a.wait(10)
        disturbed.wait_state("reconnecting")
        assert disturbed.seq is not None and disturbed.seq < n
        server_b, url_b = start_server("--source", f"replay:{rec}", "--speed", speed, "--port", port)
        assert url_b == url
        witness.start()  # connected to the restarted server only, never disturbed
        disturbed.wait_seq(n)
        undisturbed.wait_seq(n)
    finally:
        client.stop()
        witness.stop()
        stop(server_a)
        if server_b is not None:
            stop(server_b)
    assert "live" in disturbed.states[disturbed.states.index("reconnecting"):]  # came back by itself
    assert client.counters.snapshots == 2  # the restarted server is a new feed: a fresh snapshot
    assert disturbed.errors == [] and undisturbed.errors == []
    now = events[-1].ts + 60
    assert disturbed.figures(now) == undisturbed.figures(now) == reference_figures(events, now)


def test_tail_prints_live_figures_as_json(tmp_path: Path) -> None:
    events = sim_events(3000)
    with ServerThread(token="tail-token") as srv:
        srv.publish(events)
        env = {**os.environ, "WALLBOARD_TOKEN": "tail-token"}
        out = subprocess.run([sys.executable, "-m", "wallboard", "tail", srv.url, "--json",
                              "--interval", "0.2", "--duration", "1.5"],
                             capture_output=True, text=True, env=env, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) >= 3
    last = lines[-1]
    assert last["status"]["state"] == "live" and last["seq"] == len(events) and not last["status"]["stale"]
    engine = MetricsEngine()
    engine.apply_many(events)
    assert last["figures"] == json.loads(json.dumps(engine.figures(last["figures"]["at"])))
    assert "[feed] live" in out.stderr


def test_tail_reports_a_refused_token_and_serve_rejects_bad_arguments(tmp_path: Path) -> None:
    with ServerThread(token="right") as srv:
        # -vv: DEBUG logging, where websockets prints the handshake headers (redacted).
        out = subprocess.run([sys.executable, "-m", "wallboard", "-vv", "tail", srv.url,
                              "--token", "wr0ng-t0k3n", "--duration", "1"],
                             capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "auth_failed: the server refused our token" in out.stderr
    assert "Authorization: [redacted]" in out.stderr
    assert "wr0ng-t0k3n" not in out.stderr + out.stdout
    bad = subprocess.run([sys.executable, "-m", "wallboard", "serve", "--source", "replay:/nope.jsonl"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "recording not found" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "wallboard", "serve", "--source", "pbx:x"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "unknown source scheme" in bad.stderr


@pytest.mark.parametrize("spec", ["sim:small", "synthetic:50"])
def test_serve_starts_with_live_sources(spec: str) -> None:
    proc, url = start_server("--source", spec, "--speed", "60", "--port", "0", "--heartbeat", "0.2")
    sink = EngineSink()
    client = FeedClient(url, sink, **FAST)
    client.start()
    try:
        sink.wait_for(lambda s: s.snapshots == 1 and len(s.statuses) >= 3)
    finally:
        client.stop()
        stop(proc)
    assert proc.returncode == 0 and sink.errors == []


def test_serve_takes_its_auth_limit_and_trusted_proxies_from_the_command_line() -> None:
    import asyncio

    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    proc, url = start_server("--source", "synthetic:5", "--port", "0", "--token", "right", "--auth-failures", "2",
                             "--auth-window", "600", "--trusted-proxy", "127.0.0.0/8")

    async def handshake(token: str, forwarded_for: str) -> int:
        try:
            async with connect(url, additional_headers={"Authorization": f"Bearer {token}",
                                                        "X-Forwarded-For": forwarded_for}):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    try:
        got = [asyncio.run(handshake(t, ip)) for t, ip in (("wrong", "192.0.2.1"), ("wrong", "192.0.2.1"),
                                                            ("right", "192.0.2.1"), ("right", "192.0.2.2"))]
    finally:
        stop(proc)
    assert got == [401, 401, 429, 101]  # locked after 2, per board behind the (trusted) proxy
    for bad_args, message in ((["--auth-failures", "0"], "--auth-failures"),
                              (["--trusted-proxy", "10.0.0.0/33"], "--trusted-proxy")):
        bad = subprocess.run([sys.executable, "-m", "wallboard", "serve", "--source", "synthetic:5", *bad_args],
                             capture_output=True, text=True, timeout=30)
        assert bad.returncode == 2 and message in bad.stderr
