"""Live reload: a real file, the real watcher; a valid change applies without restart, an invalid one
shows a banner naming file, line and field while the last good configuration keeps running."""

from __future__ import annotations

import os
from pathlib import Path

from wallboard.config_loader import load_file
from wallboard.core import protocol as p
from wallboard.ui.live_config import LiveConfig
from wallboard.ui.window import BoardWindow

GOOD = """# site config
title = "Before"

[metrics]
timezone = "UTC"

[metrics.queue_goals.q1]
threshold_s = 20
target_pct = 80
"""


def _start(qtbot, tmp_path: Path) -> tuple[BoardWindow, LiveConfig, Path]:
    path = tmp_path / "wallboard.toml"
    path.write_text(GOOD, encoding="utf-8")
    loaded = load_file(path)
    w = BoardWindow(loaded.config, kiosk=True)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    qtbot.waitExposed(w)
    live = LiveConfig(w, path, loaded.text, poll_ms=200)
    return w, live, path


def _save(path: Path, text: str) -> None:
    """Save the way editors do: write a new file and rename it over the old one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def test_valid_change_applies_and_invalid_one_shows_a_banner(qtbot, tmp_path: Path) -> None:
    w, live, path = _start(qtbot, tmp_path)
    now = 1_800_000_000.0
    eng = w.controller.engine
    eng.apply_many([p.QueueInfo(ts=now - 100, queue="q1", name="Sales"),
                    p.AgentState(ts=now - 100, agent_id="a1", state="available", queues=["q1"]),
                    p.CallQueued(ts=now - 60, call_id="c1", queue="q1"),
                    p.CallAnswered(ts=now - 35, call_id="c1", queue="q1", agent_id="a1")])
    assert eng.figures(now)["queues"]["q1"]["today"]["service_level_pct"] == 0.0  # 25 s wait > 20 s
    # A valid change: new title and a longer threshold. The whole day is recomputed with it.
    assert len(w.alerts.state.rules) == 2  # the goal rules
    _save(path, GOOD.replace('"Before"', '"After"').replace("threshold_s = 20", "threshold_s = 30")
          + '\n[[alerts.rules]]\nfigure = "waiting"\nwarning = 5\n')
    qtbot.waitUntil(lambda: w.config.title == "After", timeout=5000)
    assert [r.figure for r in w.alerts.state.rules][-1] == "waiting"
    assert w.controller.vm.alerts is w.alerts.state  # tiles read the new rules' alerts
    assert w.controller.engine.figures(now)["queues"]["q1"]["today"]["service_level_pct"] == 100.0
    assert w.controller.engine.events_applied == eng.events_applied  # nothing lost
    assert w.board.config.title == "After" and not live.banner.isVisible()
    # An invalid change (a typo'd key on line 9): banner names file, line and field; "After" keeps running.
    bad = GOOD.replace('"Before"', '"Broken"').replace("target_pct = 80", "target_pc = 85")  # line 9
    with qtbot.waitSignal(live.rejected, timeout=5000):
        _save(path, bad)
    assert live.banner.isVisible()
    assert f"{path}:9: metrics.queue_goals.q1.target_pc: unknown key" in live.banner.text()
    assert w.config.title == "After"
    assert w.controller.engine.figures(now)["queues"]["q1"]["today"]["sl_threshold_s"] == 30
    # Fixed in place (written, not renamed): applies, and the banner goes.
    path.write_text(GOOD.replace('"Before"', '"Fixed"'), encoding="utf-8")
    qtbot.waitUntil(lambda: w.config.title == "Fixed", timeout=5000)
    assert not live.banner.isVisible()


def test_page_change_rebuilds_the_board_and_keeps_the_banner_working(qtbot, tmp_path: Path) -> None:
    w, live, path = _start(qtbot, tmp_path)
    old_board = w.board
    pages = GOOD + '\n[[pages]]\ntitle = "Only"\nrows = 1\ncols = 2\n[[pages.tiles]]\nkind = "waiting"\n'
    _save(path, pages)
    qtbot.waitUntil(lambda: w.board is not old_board, timeout=5000)
    assert [pg.page.title for pg in w.board.pages] == ["Only"]
    qtbot.waitUntil(lambda: w.controller.view is not None and w.controller.view.page_title == "Only",
                    timeout=5000)
    with qtbot.waitSignal(live.rejected, timeout=5000):
        _save(path, pages.replace("rows = 1", "rows = 0"))
    assert live.banner.isVisible() and "pages[0].rows" in live.banner.text()
