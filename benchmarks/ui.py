"""UI benchmark: the board app at 3840x2160 (offscreen) fed by a real feed server with the `large` scenario.
(Another window size with --size; a scaled desktop with QT_SCALE_FACTOR, e.g. 1.5 and --size 2560x1440.)

The board runs in a child process (so its CPU and RSS are its own): real FeedClient -> FeedBridge ->
controller -> widgets. This process runs the FeedServer (PushSource) and sends events from the large
scenario's simulation, re-stamped with the wall time at send, at a fixed rate per phase:
  idle (connected, no events), real (~300 events/s), stress (~2,000 events/s).
Latency: for each event, from its send stamp to the end of the first repaint pass (all widgets painted)
after a refresh that included it. CPU: the child's utime+stime over each phase (/proc, Linux).
paint_ms: median time of one repaint pass (first widget paint to the end of the pass) in the real phase.
rss_mb: the child's peak RSS.

    .venv/bin/python benchmarks/ui.py [--json] [--seconds 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# ------------------------------------------------------------------------------------------- child: the board
def null_child_main(url: str, out: str) -> int:
    """The feed client alone with a sink that drops everything: what the feed path costs by itself."""
    from wallboard.feed.client import FeedClient

    class Null:
        def on_snapshot(self, snapshot: dict, seq: int) -> None: ...
        def on_events(self, events: list, last_seq: int) -> None: ...
        def on_status(self, status: object) -> None: ...

    from wallboard.core.board_config import DisplayConfig
    from wallboard.tuning import tune_gc
    tune_gc()
    display = DisplayConfig(**json.loads(os.environ.get("WALLBOARD_BENCH_DISPLAY", "{}")))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client = FeedClient(url, Null(), batch_interval_s=display.feed_batch_interval_s)
    prof = None
    if os.environ.get("WALLBOARD_BENCH_CPROFILE"):  # profile the feed thread in the real phase
        import cProfile
        prof = cProfile.Profile()
        orig_main = client._main

        async def main_with_profile() -> None:  # (signal handlers run on the main thread: a file is the flag)
            import asyncio

            async def toggle() -> None:
                on = False
                while True:
                    await asyncio.sleep(0.05)
                    want = os.path.exists(out + ".prof-on")
                    if want and not on:
                        prof.enable()
                    elif on and not want:
                        prof.disable()
                    on = want
            task = asyncio.create_task(toggle())
            try:
                await orig_main()
            finally:
                task.cancel()
        client._main = main_with_profile
        signal.signal(signal.SIGUSR1, lambda *_: Path(out + ".prof-on").touch())
        signal.signal(signal.SIGUSR2, lambda *_: Path(out + ".prof-on").unlink(missing_ok=True))
    client.start()
    while not stop.wait(0.2):
        pass
    client.stop()
    if prof is not None:
        prof.dump_stats(os.environ["WALLBOARD_BENCH_CPROFILE"])
    Path(out).write_text(json.dumps({"samples": [], "paints": [], "cells": []}))
    return 0


def child_main(url: str, out: str) -> int:
    if os.environ.get("WALLBOARD_BENCH_NULL_SINK"):
        return null_child_main(url, out)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from wallboard.tuning import tune_gc
    tune_gc()  # as the `wallboard` command does at start (wallboard/tuning.py)
    from PySide6.QtCore import QEvent, QTimer

    from wallboard.core.board_config import BoardConfig
    from wallboard.feed.client import FeedClient
    from wallboard.ui.bridge import FeedBridge
    from wallboard.ui.qt_app import make_application
    from wallboard.ui.window import BoardWindow
    app = make_application(["wallboard-bench"])  # as run_board makes it (Qt's event dispatcher, not GLib's)
    # Send stamps of events applied but not yet painted: agent_state events show in the agent board (updated
    # in place at most display.agent_refresh_hz, regrouped each second), all others in the figures.
    pending: dict[str, list[float]] = {"figures": [], "agents": []}
    shown_upto = {"figures": 0, "agents": 0}  # how many pending stamps the last refreshes showed
    samples: list[tuple[float, float, str]] = []  # (send stamp, latency ms, "figures" | "agents")
    paints: list[tuple[float, float]] = []  # (wall time, paint ms)

    frame = {"start": None}  # perf_counter() at the start of the repaint pass in progress

    def frame_done() -> None:  # the window's UpdateRequest is handled: the backing store has been repainted
        if frame["start"] is None:
            return
        dt = (time.perf_counter() - frame["start"]) * 1000
        frame["start"] = None
        now = time.time()
        paints.append((now, dt))
        for kind, stamps in pending.items():
            n = shown_upto[kind]
            if n:
                samples.extend((ts, (now - ts) * 1000, kind) for ts in stamps[:n])
                del stamps[:n]
                shown_upto[kind] = 0

    by_class: dict[str, list[float]] = {}
    if os.environ.get("WALLBOARD_BENCH_PROFILE"):  # time paintEvent per widget class (stderr at exit)
        from wallboard.ui import agent_board, agent_states_tile, figure_tile, status_strip
        for cls in (figure_tile.FigureTileWidget, agent_board.AgentBoardWidget,
                    agent_states_tile.AgentStatesWidget, status_strip.StatusStrip):
            def timed(self, e, _orig=cls.paintEvent, _name=cls.__name__):
                t0 = time.perf_counter()
                _orig(self, e)
                label = f"{_name}:{getattr(self.view, 'title', '')}"
                by_class.setdefault(label, []).append((time.perf_counter() - t0) * 1000)
            cls.paintEvent = timed
        # ... and the steps of a refresh (thread CPU time, so waits for the GIL do not count)
        from wallboard.core import alerts, engine, view_model
        from wallboard.ui import board, controller, status_strip, tile_frame
        for owner, name in ((figure_tile.FigureTileWidget, "view_changed"),
                            (agent_states_tile.AgentStatesWidget, "view_changed"),
                            (agent_board.AgentBoardWidget, "view_changed"), (status_strip.StatusStrip, "set_view"),
                            (tile_frame.TileFrame, "set_view"),
                            (controller.BoardController, "_take_from_bridge"), (engine.MetricsEngine, "figures"),
                            (view_model.BoardViewModel, "build"), (view_model, "agent_board_view"),
                            (alerts, "evaluate"), (board.BoardWidget, "apply_view"),
                            (controller.BoardController, "_refresh"),
                            (view_model.BoardViewModel, "update_agents"), (view_model.BoardViewModel, "sample")):
            orig_fn = getattr(owner, name)
            label = f"{getattr(owner, '__name__', '')}.{name}"

            def timed_fn(*a, _orig=orig_fn, _name=label, **k):
                t0 = time.thread_time()
                try:
                    return _orig(*a, **k)
                finally:
                    by_class.setdefault(_name, []).append((time.thread_time() - t0) * 1000)
            setattr(owner, name, timed_fn)
        import gc
        gc_start: list[float] = []

        def gc_timer(phase: str, info: dict) -> None:
            if phase == "start":
                gc_start[:] = [time.thread_time()]
            elif gc_start:
                by_class.setdefault(f"gc gen{info['generation']}", []).append((time.thread_time() - gc_start[0]) * 1000)
        gc.callbacks.append(gc_timer)
    from wallboard.core.board_config import DisplayConfig
    display = DisplayConfig(**json.loads(os.environ.get("WALLBOARD_BENCH_DISPLAY", "{}")))
    # A repaint pass is the window's UpdateRequest (Qt paints every dirty widget in it): its start and end
    # are noted around the window's own handling. (The app has no event() override: this one is the
    # benchmark's, a Python call per event to the window. No per-widget event filter: more CPU still.)
    from PySide6.QtWidgets import QMainWindow

    # WALLBOARD_BENCH_SECTIONS: GUI-thread CPU per refresh in the real phase, split into refresh, repaint pass
    # and the rest (event loop, bridge), and process CPU per refresh (stderr).
    sections: dict[str, float] | None = {"refresh": 0.0, "paint": 0.0} if os.environ.get(
        "WALLBOARD_BENCH_SECTIONS") else None
    thread_time = time.thread_time

    def event(self, e):
        if e.type() != QEvent.Type.UpdateRequest:
            return QMainWindow.event(self, e)
        if frame["start"] is None:
            frame["start"] = time.perf_counter()
        c0 = thread_time() if sections is not None else 0.0
        handled = QMainWindow.event(self, e)
        if sections is not None:
            sections["paint"] += thread_time() - c0
        frame_done()
        return handled

    BoardWindow.event = event  # before the window exists: PySide looks its overrides up then
    win = BoardWindow(BoardConfig(display=display), kiosk=True)
    win.resize(*map(int, os.environ.get("WALLBOARD_BENCH_SIZE", "3840x2160").split("x")))  # (--size)
    if not os.environ.get("WALLBOARD_BENCH_NO_SHOW"):  # diagnostics: everything but painting
        win.show()
    ctl = win.controller
    orig_apply = ctl.apply_events

    def apply_events(events: list, last_seq: int) -> None:
        orig_apply(events, last_seq)
        for e in events:
            pending["agents" if e.type == "agent_state" else "figures"].append(e.ts)

    ctl.apply_events = apply_events  # type: ignore[method-assign]
    orig_refresh = ctl.refresh

    def refresh() -> None:
        agents_before = ctl.agent_views_built + ctl.agent_views_patched
        c0 = thread_time() if sections is not None else 0.0
        orig_refresh()  # takes what the bridge queued (apply_events above) and builds the view
        if sections is not None:
            sections["refresh"] += thread_time() - c0
        shown_upto["figures"] = len(pending["figures"])
        # Agent changes show when the agent board regrouped or updated them in place (the agent-state
        # counts, figures, show them at every refresh anyway).
        if ctl.agent_views_built + ctl.agent_views_patched != agents_before:
            shown_upto["agents"] = len(pending["agents"])

    ctl.refresh = refresh  # type: ignore[method-assign]
    for timer in (ctl._refresh_timer, ctl._agent_timer):
        timer.timeout.disconnect()
        timer.timeout.connect(refresh)

    bridge = FeedBridge()
    ctl.attach(bridge)
    client = FeedClient(url, bridge, batch_interval_s=display.feed_batch_interval_s)  # as run_board does
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    keep = QTimer()
    keep.timeout.connect(lambda: None)
    keep.start(500)  # lets Python see SIGTERM (as run_board polls for signals)
    ctl.start()
    client.start()
    prof = None
    if sections is not None:  # the parent signals the start and the end of the real phase
        marks: list[tuple[float, float, dict[str, float], int]] = []

        def mark(*_: object) -> None:
            marks.append((thread_time(), time.process_time(), dict(sections), ctl.refreshes))
            if len(marks) == 2:
                (g0, p0, s0, r0), (g1, p1, s1, r1) = marks
                n = max(1, r1 - r0)
                us = {k: (s1[k] - s0[k]) / n * 1e6 for k in s0}
                gui = (g1 - g0) / n * 1e6
                print(f"sections: {n} refreshes; per refresh (us): process {(p1 - p0) / n * 1e6:.0f}, GUI thread "
                      f"{gui:.0f} = refresh {us['refresh']:.0f} + repaint {us['paint']:.0f} + rest "
                      f"{gui - sum(us.values()):.0f}", file=sys.stderr)
        signal.signal(signal.SIGUSR1, mark)
        signal.signal(signal.SIGUSR2, mark)
    if os.environ.get("WALLBOARD_BENCH_CPROFILE"):  # profile the GUI thread in the real phase (stats to the file)
        import cProfile
        prof = cProfile.Profile()
        signal.signal(signal.SIGUSR1, lambda *_: prof.enable())
        signal.signal(signal.SIGUSR2, lambda *_: prof.disable())
    app.exec()
    if prof is not None:
        prof.disable()
        prof.dump_stats(os.environ["WALLBOARD_BENCH_CPROFILE"])
    gui_cpu = time.thread_time()
    client.stop()
    print(f"GUI thread CPU {gui_cpu:.2f} s, process {time.process_time():.2f} s", file=sys.stderr)
    print(f"frames {client.counters.frames} events {client.counters.events} refreshes {ctl.refreshes} "
          f"batches {ctl.batches} regroups {ctl.agent_views_built} patches {ctl.agent_views_patched}", file=sys.stderr)
    for name, ms in by_class.items():
        print(f"{name}: {len(ms)} paints, median {statistics.median(ms):.2f} ms, total {sum(ms):.0f} ms",
              file=sys.stderr)
    Path(out).write_text(json.dumps({"samples": samples, "paints": paints,
                                     "cells": [t.cells_painted for t in win.board.current_page().tiles
                                               if hasattr(t, "cells_painted")]}))
    return 0


# ------------------------------------------------------------------------------------------- parent
def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_rss_mb(pid: int, key: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _event_pool(n: int) -> tuple[list, list]:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from wallboard.sim import Simulator, load_scenario
    scen = load_scenario("large")
    start = datetime(2026, 3, 10, 8, 0, tzinfo=ZoneInfo(scen.timezone)).timestamp()
    sim = Simulator(scen, seed=1, start=start)
    init = sim.events_until(start + 1800)  # logins and the first half hour: the state the board starts from
    pool: list = []
    t = start + 1800
    while len(pool) < n:
        t += 600
        pool.extend(sim.events_until(t))
    return init, pool[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    ap.add_argument("--real-rate", type=float, default=300.0)
    ap.add_argument("--stress-rate", type=float, default=2000.0)
    ap.add_argument("--max-refresh-hz", type=float, default=None, help="board config display.max_refresh_hz")
    ap.add_argument("--agent-refresh-hz", type=float, default=None,
                    help="board config display.agent_refresh_hz")
    ap.add_argument("--against", metavar="DIR", default=None,
                    help="also run the board of another checkout (e.g. a git worktree of an older commit), fed by "
                         "the same server at the same time, and report its CPU per phase under \"against\": an "
                         "A/B that shares the host's moment (this VM's CPU figures drift by a point from run "
                         "to run)")
    ap.add_argument("--size", default="3840x2160", metavar="WxH",
                    help="the window in logical pixels; with QT_SCALE_FACTOR=1.5 and 2560x1440, a 4K screen at 150 %%")
    ap.add_argument("--arrivals", choices=("poisson", "grid"), default="poisson",
                    help="events at random moments pushed by a 2 ms step (default), or the events due pushed together "
                         "every 10 ms (rounds 1 to 9)")
    ap.add_argument("--child", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child_main(*args.child)
    if not re.fullmatch(r"[1-9]\d{2,4}x[1-9]\d{2,4}", args.size):
        ap.error(f"--size must be WIDTHxHEIGHT in pixels, e.g. 3840x2160, not {args.size!r}")

    from wallboard.commands.demo import EmbeddedFeed
    from wallboard.feed.sources import PushSource

    secs = args.seconds
    need = int(secs * (args.real_rate + args.stress_rate) * 1.1) + 1000
    init, pool = _event_pool(need)
    source = PushSource("bench")
    feed = EmbeddedFeed(source, 0)
    url = feed.start()
    now = time.time()
    feed.call(source.push, [dataclasses.replace(e, ts=now) for e in init])
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    display = {k: v for k, v in (("max_refresh_hz", args.max_refresh_hz),
                                 ("agent_refresh_hz", args.agent_refresh_hz)) if v is not None}
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "WALLBOARD_BENCH_DISPLAY": json.dumps(display),
           "WALLBOARD_BENCH_SIZE": args.size}
    child = subprocess.Popen([sys.executable, __file__, "--child", url, str(out)], env=env)
    other = None
    if args.against:
        other_out = Path(tempfile.mkstemp(suffix=".json")[1])
        # WALLBOARD_BENCH_AGAINST_ENV: JSON of environment variables for that board alone (an A/B of a setting)
        other_env = {**env, **json.loads(os.environ.get("WALLBOARD_BENCH_AGAINST_ENV", "{}"))}
        other = subprocess.Popen([sys.executable, str(Path(args.against) / "benchmarks" / "ui.py"), "--child", url,
                                  str(other_out)], env=other_env, cwd=args.against)
    phases: dict[str, dict] = {}
    try:
        time.sleep(6.0)  # start-up: window, snapshot of 5,000 agents, first paints (not measured)
        it = iter(pool)
        profile_phase = os.environ.get("WALLBOARD_BENCH_CPROFILE_PHASE", "real")  # which phase cProfile sees

        def run_phase(name: str, rate: float) -> None:
            profiled = name == profile_phase and bool(os.environ.get("WALLBOARD_BENCH_CPROFILE")
                                                      or os.environ.get("WALLBOARD_BENCH_SECTIONS"))
            if profiled:
                child.send_signal(signal.SIGUSR1)
            c0, t0 = _proc_cpu_s(child.pid), time.time()
            o0 = _proc_cpu_s(other.pid) if other is not None else 0.0
            sent = 0
            poisson = args.arrivals == "poisson"
            # poisson: events at random moments (exponential gaps, seeded), pushed by a 2 ms step, as an ACD
            # sends them one by one; grid: the events due pushed together every 10 ms (rounds 1 to 9).
            step = 0.002 if poisson else 0.01
            rng = random.Random(f"{name}-{rate}")
            next_t = time.monotonic()
            end = next_t + secs
            arrival = next_t + (rng.expovariate(rate) if rate > 0 else secs)
            while time.monotonic() < end:
                if rate > 0:
                    now_m = time.monotonic()
                    if poisson:
                        due = 0
                        while arrival <= now_m:
                            due += 1
                            arrival += rng.expovariate(rate)
                    else:
                        due = int((now_m - (end - secs)) * rate) - sent
                    if due > 0:
                        stamp = time.time()
                        batch = [dataclasses.replace(next(it), ts=stamp) for _ in range(due)]
                        feed.call(source.push, batch)
                        sent += due
                next_t += step
                time.sleep(max(0.0, next_t - time.monotonic()))
            t1 = time.time()
            if profiled:
                child.send_signal(signal.SIGUSR2)
            phases[name] = {"t0": t0, "t1": t1, "sent": sent,
                            "cpu_pct": 100 * (_proc_cpu_s(child.pid) - c0) / (t1 - t0)}
            if other is not None:
                phases[name]["against_cpu_pct"] = 100 * (_proc_cpu_s(other.pid) - o0) / (t1 - t0)

        run_phase("idle", 0)
        run_phase("real", args.real_rate)
        run_phase("stress", args.stress_rate)
        time.sleep(1.0)
        rss = _proc_rss_mb(child.pid)
    finally:
        for proc in (child, other):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        feed.stop()
    if other is not None:
        other_out.unlink(missing_ok=True)
    data = json.loads(out.read_text())
    out.unlink()

    def lat(ph: dict, kinds: tuple[str, ...] = ("figures", "agents")) -> tuple[float, float, int]:
        xs = sorted(ms for ts, ms, kind in data["samples"] if ph["t0"] <= ts < ph["t1"] and kind in kinds)
        if not xs:
            return float("nan"), float("nan"), 0
        return statistics.median(xs), xs[min(len(xs) - 1, int(0.99 * len(xs)))], len(xs)

    result: dict = {"idle": {"cpu_pct": round(phases["idle"]["cpu_pct"], 2)}}
    for name in ("real", "stress"):
        ph = phases[name]
        p50, p99, n = lat(ph)
        result[name] = {"events_per_s": round(ph["sent"] / (ph["t1"] - ph["t0"]), 1),
                        "cpu_pct": round(ph["cpu_pct"], 2), "p50_ms": round(p50, 1), "p99_ms": round(p99, 1),
                        "matched": n,
                        "paints_per_s": round(sum(ph["t0"] <= t < ph["t1"] for t, _ in data["paints"])
                                              / (ph["t1"] - ph["t0"]), 1)}
        for kind in ("figures", "agents"):
            k50, k99, _ = lat(ph, (kind,))
            result[name][f"{kind}_p50_ms"] = round(k50, 1)
            result[name][f"{kind}_p99_ms"] = round(k99, 1)
    real = phases["real"]
    pms = [ms for t, ms in data["paints"] if real["t0"] <= t < real["t1"]]
    result["paint_ms"] = round(statistics.median(pms), 2) if pms else None
    result["rss_mb"] = round(rss, 1)
    result["setup"] = {
        "display": display or "defaults", "size": args.size, "scale": os.environ.get("QT_SCALE_FACTOR", "1"),
        "platform": "offscreen", "scenario": "large",
        "agents": len({e.agent_id for e in init if e.type == "agent_state"}), "phase_s": secs,
        "feed": "real FeedServer + FeedClient on loopback", "arrivals": args.arrivals,
    }
    if other is not None:
        result["against"] = {"dir": args.against, **{name: {"cpu_pct": round(phases[name]["against_cpu_pct"], 2)}
                                                     for name in ("idle", "real", "stress")}}
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:8s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
