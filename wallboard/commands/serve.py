"""`wallboard serve`: the live feed server (docs/protocol.md, "Stream envelope")."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "serve"
HELP = "serve a live event feed over websockets (simulator, recording replay, ...)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", required=True, metavar="SPEC",
                   help="sim:SCENARIO (name or .toml path), replay:RECORDING (.jsonl/.jsonl.gz), "
                        "or synthetic:RATE (load generator, RATE events/s)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="time multiplier for sim and replay (replay: 0 = as fast as possible; default 1)")
    p.add_argument("--loop", action="store_true", help="replay: start again at the end, time moving forward")
    p.add_argument("--seed", type=int, default=1, help="sim: random seed (default 1)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN' (visible in ps: prefer "
                                   "--token-file or $WALLBOARD_TOKEN)")
    p.add_argument("--token-file", type=Path, metavar="FILE", help="read the token from FILE")
    p.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve wss:// with this certificate (chain)")
    p.add_argument("--tls-key", type=Path, metavar="PEM", help="private key (if not in --tls-cert)")
    p.add_argument("--max-connections", type=int, default=1000)
    p.add_argument("--auth-failures", type=int, default=10, metavar="N",
                   help="with a token: failed authentications from one address before it is refused (429) "
                        "for --auth-window seconds (default 10)")
    p.add_argument("--auth-window", type=float, default=60.0, metavar="S",
                   help="the sliding window those failures are counted over, in seconds (default 60)")
    p.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDR[/BITS]",
                   help="a reverse proxy in front of this server (address or network; repeatable): its "
                        "X-Forwarded-For names the client, so the limit on failed authentications counts "
                        "per board, not per proxy. Without it the header is ignored.")
    p.add_argument("--compression", action="store_true",
                   help="offer permessage-deflate (off by default: it halves small-message throughput)")
    p.add_argument("--heartbeat", type=float, default=2.5, metavar="S",
                   help="idle heartbeat period in seconds (default 2.5)")
    p.add_argument("--history", type=int, default=100_000, metavar="N",
                   help="events kept for resuming clients (default 100000)")
    p.add_argument("--max-pending", type=int, default=20_000, metavar="N",
                   help="events queued for one client before it is dropped as a slow consumer")
    p.add_argument("--timezone", default="UTC", metavar="TZ", help="site time zone for the daily reset")
    p.add_argument("--reset", default="00:00", metavar="HH:MM", help="daily reset time (default 00:00)")
    p.add_argument("--rolling-minutes", type=int, default=30, metavar="N")


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal

    from pydantic import ValidationError

    from wallboard.core.metrics_config import MetricsConfig
    from wallboard.feed.forwarded import parse_trusted_proxies
    from wallboard.feed.server import FeedServer, ServerConfig
    from wallboard.feed.settings import SettingsError, resolve_token, server_ssl_context
    from wallboard.feed.sources import SourceError, open_source

    # Connects, disconnects and their reasons are the point of a server's log: show them by default.
    logging.getLogger("wallboard").setLevel(min(logging.INFO, logging.getLogger().level or logging.INFO))
    if getattr(args, "verbose", 0) < 2:  # websockets' own per-connection lines repeat ours
        logging.getLogger("wallboard.feed.ws").setLevel(logging.WARNING)
    try:
        parse_trusted_proxies(args.trusted_proxy)  # the server parses them too: named here, before anything opens
    except ValueError as exc:
        print(f"wallboard serve: --trusted-proxy: {exc}", file=sys.stderr)
        return 2
    try:
        metrics_config = MetricsConfig(timezone=args.timezone, reset_time=args.reset,
                                       rolling_minutes=args.rolling_minutes)
        config = ServerConfig(
            host=args.host, port=args.port, token=resolve_token(args.token, args.token_file),
            ssl_context=server_ssl_context(args.tls_cert, args.tls_key), heartbeat_s=args.heartbeat,
            history_events=args.history, max_pending_events=args.max_pending,
            max_connections=args.max_connections, compression=args.compression, metrics_config=metrics_config,
            trusted_proxies=tuple(args.trusted_proxy), auth_failures_max=args.auth_failures,
            auth_failures_window_s=args.auth_window)
        if args.auth_failures < 1 or not 0 < args.auth_window <= 86_400:
            raise SettingsError("--auth-failures must be at least 1 and --auth-window between 0 and 86400 s")
        source = open_source(args.source, speed=args.speed, loop=args.loop, seed=args.seed)
    except (SettingsError, SourceError) as exc:
        print(f"wallboard serve: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"wallboard serve: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            server = FeedServer(source, config)
            await server.start()
        except OSError as exc:
            print(f"wallboard serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 1
        print(f"listening {server.url} feed_id={server.feed_id}", flush=True)
        failed = asyncio.create_task(server.source_done.wait())
        stopping = asyncio.create_task(stop.wait())
        try:
            # A replay that ends keeps serving its final state; a source that fails stops the server
            # (exit status 1) so that a supervisor restarts it and clients re-snapshot.
            while not stop.is_set():
                await asyncio.wait({failed, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if server.source_error is not None:
                    print(f"wallboard serve: the source failed: {server.source_error!r}", file=sys.stderr)
                    return 1
                if failed.done() and not stop.is_set():
                    await stopping
        finally:
            failed.cancel()
            stopping.cancel()
            await server.close()
        return 0

    return asyncio.run(main())
