"""A tile turns warning, then critical, as the site scenario's outage surge builds, and clears afterwards.

Real parts all the way: the simulator (driven in simulated time, no waiting), the metrics engine, the
view model with the alert rules, and the board's tile widgets offscreen. Only the clock is simulated.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QCoreApplication

from wallboard.core.board_config import BoardConfig, FigureTile, PageConfig
from wallboard.core.engine import MetricsEngine
from wallboard.core.view_model import BoardViewModel, LinkStatus
from wallboard.sim import Simulator, load_scenario
from wallboard.ui.alert_center import AlertCenter
from wallboard.ui.board import BoardWidget
from wallboard.ui.sound import SoundPlayer

STEP_S = 5.0


def surge_board(qtbot):
    scen = load_scenario("site")
    zone = ZoneInfo(scen.timezone)
    cfg = BoardConfig(
        metrics={"timezone": scen.timezone},
        pages=[PageConfig(title="Support", rows=1, cols=3, tiles=[
            FigureTile(kind="longest_wait", queue="support", row=0, col=0),
            FigureTile(kind="service_level", queue="support", row=0, col=1),
            FigureTile(kind="waiting", queue="support", row=0, col=2),
        ])],
    )
    board = BoardWidget(cfg)
    qtbot.addWidget(board)
    board.resize(1280, 480)
    board.show()
    qtbot.waitExposed(board)
    vm = BoardViewModel(cfg)
    beeps: list[int] = []
    center = AlertCenter(cfg, history_path=None, sound=SoundPlayer(muted=False, player=None,
                                                                   beep=lambda: beeps.append(1)))
    center.sound.command = None  # the bell route: no audio device here
    center.attach(vm)
    start = datetime(2026, 11, 23, 10, 28, tzinfo=zone).timestamp()
    return cfg, board, vm, center, Simulator(scen, seed=1, start=start), MetricsEngine(cfg.metrics), start, beeps


def test_tile_turns_warning_then_critical_in_the_surge_and_clears_after(qtbot) -> None:
    _cfg, board, vm, center, sim, eng, start, beeps = surge_board(qtbot)
    tile = board.pages[0].tiles[0]
    seen: list[tuple[float, str]] = []  # (minutes after start, severity) at each change
    now = start
    while now < start + 150 * 60:
        now += STEP_S
        eng.apply_many(sim.events_until(now))
        figures = eng.figures(now)
        vm.sample(figures, now)
        board.apply_view(vm.build(figures, LinkStatus("live", last_data_at=now), now, page=0))
        sev = tile.view.severity
        if not seen or seen[-1][1] != sev:
            seen.append(((now - start) / 60, sev))
            if sev == "alarm":  # painted: the stripe on the tile's left edge has the alarm colour
                QCoreApplication.processEvents()
                img = tile.grab().toImage()
                assert img.pixelColor(1, img.height() // 2) == board.theme.alarm
                assert tile.view.severity_text == "over 2× goal"
    order = [s for _, s in seen]
    # "none" (no colour): over the goal, but not yet for the rule's raise_after_s.
    assert order[:5] == ["ok", "none", "warn", "alarm", "ok"], seen
    t_warn, t_alarm, t_clear = seen[2][0], seen[3][0], seen[4][0]
    # The surge starts 2 minutes in (10:30): warning within minutes, critical soon after, and it clears
    # once the backlog has gone, well after the surge's 20 minutes.
    assert 2 < t_warn < 8 and t_warn < t_alarm < 12 and 22 < t_clear < 150, seen
    # Every raise and escalation sounded (the bell here); the history holds the tile's alert.
    assert beeps
    texts = [r["text"] for r in center.history.recent if r["queue"] == "support"]
    assert any("longest wait" in t for t in texts)
    assert any(r["kind"] == "cleared" and r["figure"] == "longest_wait_s" and r["queue"] == "support"
               for r in center.history.recent)
