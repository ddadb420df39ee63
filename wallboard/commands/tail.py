"""`wallboard tail URL`: a headless feed client printing the live figures once a second."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

NAME = "tail"
HELP = "connect to a feed and print the live figures once a second"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("url", help="feed URL, e.g. ws://127.0.0.1:8765/ or wss://board.example:8765/")
    p.add_argument("--token", help="bearer token (or --token-file, or $WALLBOARD_TOKEN)")
    p.add_argument("--token-file", type=Path, metavar="FILE")
    p.add_argument("--cafile", type=Path, metavar="PEM", help="extra CA certificate(s) to trust for wss://")
    p.add_argument("--proxy", metavar="URL",
                   help='reach the feed through this HTTP proxy (http://host:port), or "system" for the '
                        "environment's https_proxy/http_proxy (default: connect directly)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line: {status, seq, figures} (figures as `wallboard metrics`)")
    p.add_argument("--interval", type=float, default=1.0, metavar="S", help="print period (default 1 s)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: run until ^C)")


class _EngineSink:
    """Keeps a MetricsEngine in step with the feed (called on the feed thread; read under the lock)."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.engine = None
        self.seq: int | None = None
        self.status = None

    def on_snapshot(self, snapshot: dict, seq: int) -> None:
        from wallboard.core.engine import MetricsEngine
        from wallboard.core.metrics_config import MetricsConfig

        config = MetricsConfig.model_validate(snapshot.get("metrics_config") or {})
        engine = MetricsEngine.restore(snapshot, config)
        with self.lock:
            self.engine, self.seq = engine, seq

    def on_events(self, events: list, last_seq: int) -> None:
        with self.lock:
            if self.engine is not None:
                self.engine.apply_many(events)
                self.seq = last_seq

    def on_status(self, status: Any) -> None:
        if self.status is None or status.state != self.status.state:
            retry = f" (retry in {status.retry_in_s:.1f} s)" if status.retry_in_s is not None else ""
            print(f"[feed] {status.state}: {status.detail}{retry}", file=sys.stderr, flush=True)
        self.status = status


def _line(figures: dict, status: Any, seq: int | None, age: Any) -> str:
    import time

    t = figures["total"]["today"]
    agents = figures["agents"]["by_state"]

    def num(v: object, unit: str = "") -> str:
        return "—" if v is None else f"{v:.0f}{unit}" if isinstance(v, float) else f"{v}{unit}"

    head = f"{time.strftime('%H:%M:%S', time.gmtime(figures['at']))}Z {status.state.upper():<12}"
    return (f"{head} seq={seq} age={num(age.age_s, 's')} waiting={t['waiting']} "
            f"longest={num(t['longest_wait_s'], 's')} "
            f"offered={t['offered']} answered={t['answered']} abandoned={t['abandoned']} "
            f"SL={num(t['service_level_pct'], '%')} ASA={num(t['asa_s'], 's')} AHT={num(t['aht_s'], 's')} "
            f"agents: " + " ".join(f"{k}={v}" for k, v in agents.items() if v))


def run(args: argparse.Namespace) -> int:
    import json
    import signal
    import threading
    import time

    from wallboard.core.feed_protocol import data_age
    from wallboard.feed.client import FeedClient
    from wallboard.feed.settings import SettingsError, client_ssl_context, resolve_token

    try:
        token = resolve_token(args.token, args.token_file)
        ssl_context = client_ssl_context(args.cafile) if args.url.startswith("wss:") else None
    except SettingsError as exc:
        print(f"wallboard tail: {exc}", file=sys.stderr)
        return 2
    if not args.url.startswith(("ws://", "wss://")):
        print("wallboard tail: the URL must start with ws:// or wss://", file=sys.stderr)
        return 2
    from wallboard.core.board_config import proxy_problem
    problem = proxy_problem(args.proxy) if args.proxy else None
    if problem:
        print(f"wallboard tail: --proxy: {problem}", file=sys.stderr)
        return 2

    sink = _EngineSink()
    client = FeedClient(args.url, sink, token=token, ssl_context=ssl_context, proxy=args.proxy)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    client.start()
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while not done.wait(args.interval):
            status = client.status
            now = time.time()
            with sink.lock:
                engine, seq = sink.engine, sink.seq
                figures = engine.figures(now + status.clock_offset_s) if engine is not None else None
            age = data_age(status, now)
            if args.json:
                print(json.dumps({"status": {"state": status.state, "detail": status.detail,
                                             "stale": age.stale, "age_s": age.age_s,
                                             "clock_offset_s": status.clock_offset_s},
                                  "seq": seq, "figures": figures}), flush=True)
            elif figures is not None:
                print(_line(figures, status, seq, age), flush=True)
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        client.stop()
    return 0
