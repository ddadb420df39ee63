"""Render docs/images/alerts-*.png: the site scenario's outage surge, driven in simulated time through the
real engine, alert rules, view model and widgets (offscreen), stopped when tiles are warning and critical.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/alert_screenshots.py
"""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication

from wallboard.core.board_config import AgentStateTile, BoardConfig, FigureTile, PageConfig
from wallboard.core.engine import MetricsEngine
from wallboard.core.view_model import LinkStatus, agent_row
from wallboard.sim import Simulator, load_scenario
from wallboard.ui.qt_app import make_application
from wallboard.ui.render import save_png
from wallboard.ui.window import BoardWindow

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"


def surge_config(zone: str) -> BoardConfig:
    tiles = []
    for row, q in enumerate(("support", "billing")):
        tiles += [FigureTile(kind="waiting", queue=q, row=row, col=0, sparkline=True),
                  FigureTile(kind="longest_wait", queue=q, row=row, col=1, sparkline=True),
                  FigureTile(kind="service_level", queue=q, row=row, col=2),
                  FigureTile(kind="abandoned", queue=q, row=row, col=3)]
    tiles.append(AgentStateTile(kind="agent_states", row=2, col=0, col_span=4))
    return BoardConfig(title="North site", metrics={"timezone": zone},
                       alerts={"flash": False},
                       pages=[PageConfig(title="Outage surge", rows=3, cols=4, tiles=tiles)])


def render(at_local: str = "10:34:10", size: tuple[int, int] = (1920, 1080), desktop: bool = False) -> Path:
    make_application()
    scen = load_scenario("site")
    zone = ZoneInfo(scen.timezone)
    day = date(2026, 11, 23)
    start = datetime(day.year, day.month, day.day, 10, 28, tzinfo=zone).timestamp()
    h, m, s = (int(x) for x in at_local.split(":"))
    until = datetime(day.year, day.month, day.day, h, m, s, tzinfo=zone).timestamp()
    cfg = surge_config(scen.timezone)
    w = BoardWindow(cfg, kiosk=not desktop)
    w.alerts.sound.muted = True
    w.resize(*size)
    w.show()
    QCoreApplication.processEvents()
    sim = Simulator(scen, seed=1, start=start)
    eng = MetricsEngine(cfg.metrics)
    vm = w.controller.vm
    now = start
    while now < until:
        now = min(until, now + 1.0)
        eng.apply_many(sim.events_until(now))
        figures = eng.figures(now)
        vm.sample(figures, now)
        view = vm.build(figures, LinkStatus("live", last_data_at=now), now, w.board.agent_grids(0), page=0)
    vm.set_agents([agent_row(a) for a in eng.agents.values()])
    view = vm.build(eng.figures(now), LinkStatus("live", last_data_at=now), now, w.board.agent_grids(0), page=0,
                    events_applied=eng.events_applied)
    w.board.apply_view(view)
    if desktop and w.alert_panel is not None:
        w.alert_panel.refresh()
    QCoreApplication.processEvents()
    sevs = [getattr(t, "severity", None) for t in view.tiles]
    name = f"alerts-{size[0]}x{size[1]}{'-desktop' if desktop else ''}.png"
    save_png(w.grab().toImage(), OUT / name)
    print(name, at_local, sevs, [a.text for a in w.alerts.active()], file=sys.stderr)
    w.close()
    return OUT / name


if __name__ == "__main__":
    render()
    render(size=(1600, 900), desktop=True)
