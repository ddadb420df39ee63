"""Helpers for the feed tests: a real FeedServer on its own thread/loop, a sink that keeps an engine and
checks seq continuity, event streams from the real simulator, and a raw websocket server for faults."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from wallboard.core import protocol as p
from wallboard.core.engine import MetricsEngine
from wallboard.core.metrics_config import MetricsConfig
from wallboard.reliability import harness
from wallboard.reliability.harness import EngineSink as EngineSink  # re-exported for the feed tests
from wallboard.reliability.harness import LoopThread as LoopThread

DAY0 = 1795424400.0  # 2026-11-24 00:00 UTC
WAIT_S = 30.0  # upper bound for anything to happen; tests finish far sooner


def sim_events(n: int, scenario: str = "site", seed: int = 3) -> list[p.Event]:
    from wallboard.sim import Simulator, load_scenario

    sim = Simulator(load_scenario(scenario), seed=seed, start=DAY0 + 7 * 3600)
    out: list[p.Event] = []
    for e in sim.run(DAY0 + 30 * 86400, chunk_s=3600):
        out.append(e)
        if len(out) >= n:
            break
    assert len(out) == n, "scenario produced fewer events than asked"
    return out


def reference_figures(events: list[p.Event], now: float, config: MetricsConfig | None = None) -> dict:
    eng = MetricsEngine(config)
    eng.apply_many(events)
    return eng.figures(now, agent_list=True)


class ServerThread(harness.ServerThread):
    """The reliability harness's server thread (a real FeedServer on 127.0.0.1 port 0), with push access
    to a PushSource."""

    @property
    def source(self) -> Any:
        return self.server.source

    def push(self, events: list[p.Event]) -> None:
        self.call(lambda: self.source.push(events))


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 (the openssl CLI), for TLS tests."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key
