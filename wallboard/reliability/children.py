"""Child processes for the load checks (their own CPU, like a real client machine):

    python -m wallboard.reliability.children lean URL N      N lean websocket clients checking seq continuity
    python -m wallboard.reliability.children gui URL SECONDS  the real board (offscreen) with its own FeedClient

``lean`` connects, prints "ready", reads the final seq from stdin, waits until every client holds it, and
prints one JSON object. ``gui`` runs the board for SECONDS and prints one JSON object (tick times, last seq,
figures at the last event's time).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time

HEAD = re.compile(r'\{"type":"(batch|snapshot)",(?:"first_seq":(\d+),)?"seq":(\d+)')


async def _lean(url: str, n: int) -> dict:
    from websockets.asyncio.client import connect

    from wallboard.core import feed_protocol as fp

    state = [{"seq": None, "gaps": 0, "events": 0, "frames": 0, "closed": None} for _ in range(n)]
    final = asyncio.get_running_loop().create_future()
    ready = asyncio.Event()
    connected = [0]

    async def one(i: int) -> None:
        s = state[i]
        try:
            # No client pings: this process measures the server; its own CPU starvation is not the point.
            async with connect(url, subprotocols=[fp.SUBPROTOCOL], max_size=None, compression=None,  # type: ignore[list-item]
                               open_timeout=120, ping_interval=None) as ws:
                await ws.send(fp.encode(fp.ClientHello(protocol=1)), text=True)
                connected[0] += 1
                if connected[0] == n:
                    ready.set()
                async for raw in ws:
                    s["frames"] += 1
                    # Only the frame's head is read (type and seqs come first): this process stands in for
                    # many machines, so it spends its CPU on receiving, not on decoding megabytes of JSON.
                    m = HEAD.match(raw[:120] if isinstance(raw, str) else raw[:120].decode("utf-8", "replace"))
                    if m is None:
                        continue
                    kind, first, last = m.group(1), m.group(2), int(m.group(3))
                    if kind == "snapshot":
                        s["seq"] = last
                    elif kind == "batch":
                        if s["seq"] is None or int(first) != s["seq"] + 1:
                            s["gaps"] += 1
                        s["seq"] = last
                        s["events"] += last - int(first) + 1
                    if final.done() and s["seq"] is not None and s["seq"] >= final.result():
                        return
        except Exception as exc:
            s["closed"] = f"{type(exc).__name__}: {exc}"[:200]

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await asyncio.wait_for(ready.wait(), 120)
    print("ready", flush=True)
    line = await asyncio.to_thread(sys.stdin.readline)
    final.set_result(int(line))
    await asyncio.wait(tasks, timeout=120)
    for t in tasks:
        t.cancel()
    target = final.result()
    return {"clients": n, "at_final": sum(1 for s in state if s["seq"] == target),
            "gaps": sum(s["gaps"] for s in state), "events": sum(s["events"] for s in state),
            "frames": sum(s["frames"] for s in state), "errors": [s["closed"] for s in state if s["closed"]][:5]}


def lean_main(url: str, n: int) -> int:
    print(json.dumps(asyncio.run(_lean(url, n))), flush=True)
    return 0


def gui_main(url: str, seconds: float) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from wallboard.tuning import tune_gc
    tune_gc()  # as the `wallboard` command does
    from PySide6.QtCore import QTimer

    from wallboard.core.board_config import BoardConfig
    from wallboard.feed.client import FeedClient
    from wallboard.ui import controller as controller_mod
    from wallboard.ui.bridge import FeedBridge
    from wallboard.ui.qt_app import make_application
    from wallboard.ui.window import BoardWindow
    app = make_application(["wallboard-reliability"])  # as run_board makes it
    config = BoardConfig()
    win = BoardWindow(config, kiosk=True)
    win.resize(1920, 1080)
    win.show()
    ctl = win.controller
    ticks: list[float] = []
    ctl._tick.timeout.connect(lambda: ticks.append(time.monotonic()))  # the board's own repeating tick
    bridge = FeedBridge()
    ctl.attach(bridge)
    client = FeedClient(url, bridge, batch_interval_s=config.display.feed_batch_interval_s)  # as run_board
    ctl.start()
    client.start()
    cpu0 = [time.process_time()]
    shown = {"at": None}

    def check_ready() -> None:
        # Ready once the snapshot is in and a refresh has drawn it: the parent starts the stream then.
        if shown["at"] is None and client.tracker.last_seq is not None and ctl.refreshes >= 2:
            shown["at"] = time.monotonic()
            poll.stop()
            cpu0[0] = time.process_time()
            print("ready", flush=True)
            QTimer.singleShot(int(seconds * 1000), app.quit)

    poll = QTimer()
    poll.timeout.connect(check_ready)
    poll.start(50)
    app.exec()
    cpu = time.process_time() - cpu0[0]
    client.stop()
    ctl.refresh()  # apply what the bridge still holds
    eng = ctl.engine
    now = (eng.latest_ms or 0) / 1000 + 1
    out = {"ticks": ticks, "interval_ms": controller_mod.ACTIVE_TICK_MS, "last_seq": client.tracker.last_seq,
           "events_applied": eng.events_applied, "figures": eng.figures(now, agent_list=True), "now": now,
           "refreshes": ctl.refreshes, "cpu_s": cpu, "seconds": seconds}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "lean":
        sys.exit(lean_main(sys.argv[2], int(sys.argv[3])))
    sys.exit(gui_main(sys.argv[2], float(sys.argv[3])))
