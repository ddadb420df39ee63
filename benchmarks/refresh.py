"""Refresh benchmark: CPU per refresh and repaint of the whole board, warm (a tight loop) and cold (a pause between).

The real controller of a shown BoardWindow (3840x2160, offscreen) fed by the `large` scenario: 12 events per
refresh at 25 refreshes a second of board time (~300 events/s), each refresh followed by its repaint pass, the
agent board updated in place at every refresh (as in the app at 25 refreshes a second); the engine starts from
the first half hour of the day. No feed. Two figures:
  warm: process CPU per refresh in a tight loop (caches warm): the work itself, steady from run to run;
  cold: GUI-thread CPU per refresh with 40 ms of other work (a spin loop) between refreshes, as in the app,
        where each refresh starts with cold caches and costs about twice as much (docs/ui.md).
A change to the refresh path shows here first; benchmarks/ui.py then tells what it is worth in the app.

    .venv/bin/python benchmarks/refresh.py [--json] [--steps 1500] [--cold-steps 400] [--cprofile FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true",
                    help='print one JSON object {"ms_per_refresh", "cold_ms_per_refresh", ...}')
    ap.add_argument("--steps", type=int, default=1500, help="refreshes timed warm")
    ap.add_argument("--cold-steps", type=int, default=400, help="refreshes timed cold (40 ms apart); 0: none")
    ap.add_argument("--cprofile", metavar="FILE", help="profile the timed refreshes to FILE (pstats)")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from board_replay import large_events, replaying_controller

    from wallboard.core.board_config import BoardConfig
    from wallboard.tuning import tune_gc
    from wallboard.ui.qt_app import make_application
    from wallboard.ui.window import BoardWindow

    tune_gc()  # as the `wallboard` command does
    app = make_application(["wallboard-refresh-bench"])
    win = BoardWindow(BoardConfig(), kiosk=True)
    win.resize(3840, 2160)
    win.show()
    for _ in range(5):
        app.processEvents()
    hz, per = 25.0, 12
    init, pool = large_events((args.steps + args.cold_steps) * per)
    ctl, clock = replaying_controller(win, init)
    t0 = clock["now"]
    # The app updates the agent board in place at every refresh (25 a second, agent_refresh_hz 25); this loop
    # runs faster than the controller's wall-clock limit on that, so lift the limit.
    ctl._agent_min_s = 0.0
    ctl.refresh()
    app.processEvents()
    batches = [[dataclasses.replace(e, ts=t0 + (i + 1) / hz) for e in pool[i * per:(i + 1) * per]]
               for i in range(args.steps + args.cold_steps)]

    def step(i: int) -> None:
        clock["now"] = t0 + (i + 1) / hz
        before = ctl.refreshes
        ctl.apply_events(batches[i], i)  # (refreshes at once when the last refresh is 40 ms old)
        if ctl.refreshes == before:
            ctl.refresh()
        app.processEvents()  # the repaint pass

    prof = None
    if args.cprofile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(args.steps):
        step(i)
    cpu_s, wall_s = time.process_time() - c0, time.perf_counter() - w0
    if prof is not None:  # the warm refreshes only
        prof.disable()
        prof.dump_stats(args.cprofile)
    cold_s = 0.0
    for i in range(args.steps, args.steps + args.cold_steps):
        until = time.perf_counter() + 0.04
        while time.perf_counter() < until:  # other work, not a sleep: an idle CPU is no colder than a busy one
            pass
        c = time.thread_time()
        step(i)
        cold_s += time.thread_time() - c
    cold_ms = round(cold_s / args.cold_steps * 1000, 3) if args.cold_steps else None
    result = {"ms_per_refresh": round(cpu_s / args.steps * 1000, 3), "cold_ms_per_refresh": cold_ms,
              "steps": args.steps, "cold_steps": args.cold_steps,
              "events_per_refresh": per, "wall_ms_per_refresh": round(wall_s / args.steps * 1000, 3),
              "size": "3840x2160", "scenario": "large"}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"process CPU per refresh + repaint: {result['ms_per_refresh']:.3f} ms warm "
              f"({args.steps} refreshes of {per} events, wall {result['wall_ms_per_refresh']:.3f} ms); "
              f"GUI-thread CPU {cold_ms} ms cold ({args.cold_steps} refreshes 40 ms apart)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
