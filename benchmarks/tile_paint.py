"""Tile paint benchmark: thread CPU per paintEvent of the figure tiles and the agent-states tile at 3840x2160.

Also the thread CPU of whole refreshes (set_view, which works out what to repaint, plus the repaint pass,
Qt's part included) for these tiles. Views come from the real controller fed by the `large` scenario at
~300 events/s and 30 refreshes/s (10 events per refresh, on a held clock), recorded first; then they are
replayed into the tiles of a shown BoardWindow (offscreen) and each repaint pass is run, timing every
paintEvent of the two widget classes (thread CPU).

    .venv/bin/python benchmarks/tile_paint.py [--json] [--steps 300] [--baseline REV]

--baseline REV runs the same with tile_frame.py, figure_tile.py and agent_states_tile.py as they were at git
revision REV.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODULES = ("wallboard.ui.tile_frame", "wallboard.ui.figure_tile", "wallboard.ui.agent_states_tile")  # in import order


def load_modules_at(rev: str) -> None:
    """Put the two tile modules as they were at ``rev`` in sys.modules, before anything imports them."""
    for name in MODULES:
        path = name.replace(".", "/") + ".py"
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True, capture_output=True,
                             text=True).stdout
        mod = types.ModuleType(name)
        mod.__file__ = str(ROOT / path)
        sys.modules[name] = mod
        exec(compile(src, f"{rev}:{path}", "exec"), mod.__dict__)


def record_views(win, steps: int, rate: float, hz: float) -> list[list]:
    """The tiles' views after each refresh of the real controller on the `large` scenario."""
    from board_replay import large_events, replaying_controller

    per = max(1, round(rate / hz))
    init, pool = large_events(steps * per)
    ctl, clock = replaying_controller(win, init)
    t0 = clock["now"]
    ctl.refresh()
    page = win.board.current_page()
    out = [[w.view for w in page.tiles]]
    for i in range(steps):
        ts = t0 + (i + 1) / hz
        clock["now"] = ts
        ctl.apply_events([dataclasses.replace(e, ts=ts) for e in pool[i * per:(i + 1) * per]], i)
        ctl.refresh()
        out.append([w.view for w in page.tiles])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--steps", type=int, default=300, help="refreshes replayed")
    ap.add_argument("--rate", type=float, default=300.0, help="events per second")
    ap.add_argument("--hz", type=float, default=30.0, help="refreshes per second")
    ap.add_argument("--baseline", metavar="REV", help="time the two tile modules as at this git revision")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.baseline:
        load_modules_at(args.baseline)
    from wallboard.core.board_config import BoardConfig
    from wallboard.ui.agent_states_tile import AgentStatesWidget
    from wallboard.ui.figure_tile import FigureTileWidget
    from wallboard.ui.qt_app import make_application
    from wallboard.ui.window import BoardWindow

    app = make_application(["wallboard-tile-bench"])  # as the app makes it
    times: dict[str, list[float]] = {}
    painted = [0.0]  # paintEvent ms of these tiles since the last refresh
    for cls in (FigureTileWidget, AgentStatesWidget):
        def timed(self, e, _orig=cls.paintEvent, _name=cls.__name__):
            t0 = time.thread_time()
            _orig(self, e)
            label = f"{_name}:{getattr(self.view, 'title', '')}"
            ms = (time.thread_time() - t0) * 1000
            times.setdefault(label, []).append(ms)
            painted[0] += ms
        cls.paintEvent = timed
    rec_win = BoardWindow(BoardConfig(), kiosk=True)  # records the views (not shown: no paints)
    rec_win.resize(3840, 2160)
    views = record_views(rec_win, args.steps, args.rate, args.hz)
    rec_win.controller.stop()

    win = BoardWindow(BoardConfig(), kiosk=True)
    win.controller.stop()  # the replay sets the views itself
    win.resize(3840, 2160)
    win.show()
    for _ in range(5):
        app.processEvents()
    page = win.board.current_page()
    set_view_ms: list[float] = []  # per refresh: set_view of these tiles (works out what to repaint)
    repaint_ms: list[float] = []  # per refresh: the repaint pass (Qt's part and the paintEvents)
    paint_ms: list[float] = []  # per refresh: the paintEvents alone
    for step in views:
        painted[0] = 0.0
        t0 = time.thread_time()
        for w, v in zip(page.tiles, step, strict=True):
            if isinstance(w, (FigureTileWidget, AgentStatesWidget)) and v is not None:
                w.set_view(v)
        t1 = time.thread_time()
        app.processEvents()
        set_view_ms.append((t1 - t0) * 1000)
        repaint_ms.append((time.thread_time() - t1) * 1000)
        paint_ms.append(painted[0])
        if step is views[0]:
            times.clear()  # the first full paints are not the steady state
            set_view_ms.clear()
            repaint_ms.clear()
            paint_ms.clear()
    result = {"steps": args.steps, "baseline": args.baseline, "tiles": {}}
    for label, ms in sorted(times.items()):
        result["tiles"][label] = {"paints": len(ms), "median_ms": round(statistics.median(ms), 3),
                                  "total_ms": round(sum(ms), 1)}
    result["total_ms"] = round(sum(t["total_ms"] for t in result["tiles"].values()), 1)
    pass_ms = [a + b for a, b in zip(set_view_ms, repaint_ms, strict=True)]
    for name, ms in (("set_view", set_view_ms), ("paint", paint_ms), ("repaint", repaint_ms), ("pass", pass_ms)):
        result[f"{name}_total_ms"] = round(sum(ms), 1)
        result[f"{name}_median_ms"] = round(statistics.median(ms), 3)
    if args.json:
        print(json.dumps(result))
    else:
        sizes = {getattr(w.view, "title", ""): f"{w.width()}x{w.height()}" for w in page.tiles}
        for label, t in result["tiles"].items():
            size = sizes.get(label.split(":", 1)[1], "")
            print(f"{label:48s} {size:>10s}  {t['paints']:4d} paints  median {t['median_ms']:.3f} ms  "
                  f"total {t['total_ms']:.1f} ms")
        print(f"over {args.steps} refreshes (per refresh: median, total):")
        for name, what in (("set_view", "set_view"), ("paint", "paintEvents"),
                           ("repaint", "repaint pass (paintEvents + Qt)"), ("pass", "set_view + repaint pass")):
            print(f"  {what:34s} median {result[name + '_median_ms']:.3f} ms  "
                  f"total {result[name + '_total_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
