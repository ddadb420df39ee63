"""``wallboard snapshot``: render the board headless to a PNG (no display, no network for --demo)."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

NAME = "snapshot"
HELP = "render the board to a PNG without a display (--demo: from the simulator, no network)"
DEMO_START = "2026-03-10T07:30"  # a Tuesday morning, local time of the scenario


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{2,5})[xX](\d{2,5})", text)
    if not m:
        raise argparse.ArgumentTypeError(f"size must look like 1920x1080, got {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (320 <= w <= 16384 and 240 <= h <= 16384):
        raise argparse.ArgumentTypeError("size out of range (320x240 .. 16384x16384)")
    return w, h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="board config: connect to its feed, render what it shows")
    src.add_argument("--demo", action="store_true", help="run the simulator (fast) and render its figures")
    parser.add_argument("--scenario", default="site", help="--demo: scenario name or file (default: site)")
    parser.add_argument("--minutes", type=float, default=150.0,
                        help=f"--demo: simulated minutes from {DEMO_START} local time (default: 150)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="board.png", help="PNG to write (default: board.png)")
    parser.add_argument("--size", type=_size, default=(1920, 1080), help="WxH in pixels (default: 1920x1080)")
    parser.add_argument("--theme", choices=("dark", "light", "high-contrast"), default=None)
    parser.add_argument("--page", type=int, default=1, help="page to render, 1-based (default: 1)")
    parser.add_argument("--feed-state", choices=("live", "lost"), default="live",
                        help="--demo: draw the board as live, or as it looks after the feed was lost")
    parser.add_argument("--wait", type=float, default=10.0, help="--config: seconds to wait for the feed")


def _demo_engine(args: argparse.Namespace, config):  # -> (engine, view model, now, config)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from wallboard.core.engine import MetricsEngine
    from wallboard.core.view_model import SPARK_SAMPLE_S, BoardViewModel
    from wallboard.sim import Simulator, load_scenario

    scenario = load_scenario(args.scenario)
    if "metrics" not in config.model_fields_set:  # figures reset at midnight where the centre is
        config = config.model_copy(update={"metrics": config.metrics.model_copy(
            update={"timezone": scenario.timezone})})
    start = datetime.fromisoformat(DEMO_START).replace(tzinfo=ZoneInfo(scenario.timezone)).timestamp()
    end = start + args.minutes * 60
    sim = Simulator(scenario, seed=args.seed, start=start)
    engine = MetricsEngine(config.metrics)
    vm = BoardViewModel(config)
    t = start
    while t < end:  # step in sparkline slots so the 60-minute sparklines fill as they would live
        t = min(end, t + SPARK_SAMPLE_S)
        engine.apply_many(sim.events_until(t))
        vm.sample(engine.figures(t), t)
    return engine, vm, end, config


def _feed_engine(args: argparse.Namespace, config, token: str | None, tls):  # -> (engine, status, now, got data)
    import threading

    from wallboard.core.engine import MetricsEngine
    from wallboard.feed.client import FeedClient

    got = threading.Event()
    state: dict = {}

    class Sink:
        def on_snapshot(self, snapshot: dict, seq: int) -> None:
            state["snapshot"] = snapshot
            got.set()

        def on_events(self, events: list, last_seq: int) -> None:
            state.setdefault("events", []).extend(events)

        def on_status(self, status) -> None:
            state["status"] = status

    client = FeedClient(args.url if getattr(args, "url", None) else config.feed.url, Sink(),
                        token=token, ssl_context=tls, proxy=config.feed.proxy)
    client.start()
    got.wait(args.wait)
    status = state.get("status")  # as the feed left it: after stop() it would say "stopped", which tells nothing
    client.stop()
    offset = getattr(status, "clock_offset_s", 0.0) if status else 0.0
    now = time.time() + offset
    if "snapshot" in state:
        engine = MetricsEngine.restore(state["snapshot"], config.metrics)
        engine.apply_many(state.get("events", []))
    else:
        engine = MetricsEngine(config.metrics)
    return engine, status, now, "snapshot" in state


def run(args: argparse.Namespace) -> int:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # --size is the PNG's size in pixels: no scaling from the desktop's settings (a 150 % desktop would
    # otherwise write 2880x1620 for 1920x1080). Before Qt starts: it reads these once.
    for name in ("QT_SCALE_FACTOR", "QT_SCREEN_SCALE_FACTORS"):
        os.environ.pop(name, None)
    os.environ["QT_ENABLE_HIGHDPI_SCALING"] = "0"
    from wallboard.config_loader import load_config, resolve_token, ssl_context
    from wallboard.core.view_model import LinkStatus

    try:
        loaded = load_config(args.config)
        config = loaded.config
        base = loaded.path.parent if loaded.path else None
        # The feed's token (token_file too) and CA, as `wallboard run` reads them.
        token, tls = (None, None) if args.demo else (resolve_token(config, base), ssl_context(config, base))
    except (OSError, ValueError) as exc:
        print(f"wallboard snapshot: {exc}", file=sys.stderr)
        return 2
    vm = None
    got_data = True
    if args.demo:
        try:
            engine, vm, now, config = _demo_engine(args, config)
        except (OSError, ValueError) as exc:
            print(f"wallboard snapshot: {exc}", file=sys.stderr)
            return 2
        if args.feed_state == "live":
            link = LinkStatus("live", last_data_at=now - 0.3)
        else:
            link = LinkStatus("reconnecting", "connection refused", last_data_at=now - 83, retry_at=now + 4)
    else:
        from wallboard.ui.controller import link_from_feed_status
        engine, status, now, got_data = _feed_engine(args, config, token, tls)
        link = link_from_feed_status(status, now) if status else LinkStatus("connecting")
    page = args.page - 1
    if not 0 <= page < len(config.pages):
        print(f"wallboard snapshot: --page {args.page}: the board has {len(config.pages)} page(s)",
              file=sys.stderr)
        return 2
    from wallboard.ui.render import render_board, save_png
    image = render_board(config, engine, link, now, args.size, args.theme, page=page, view_model=vm)
    try:
        save_png(image, args.out)
    except OSError as exc:
        print(f"wallboard snapshot: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({args.size[0]}x{args.size[1]}, {engine.events_applied} events)")
    if not got_data:  # the PNG shows the board as a wall would (offline, and why); a script should know too
        why = f"{link.state}: {link.detail}" if link.detail else link.state
        print(f"wallboard snapshot: no data from the feed within {args.wait:g} s ({why})", file=sys.stderr)
        return 1
    return 0
