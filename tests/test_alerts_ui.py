"""Alert sounds (route choice, a real player process, repeat/acknowledge/mute), the rotating history log
(including a full disk), and the desktop alert panel."""

from __future__ import annotations

import json
import sys
import wave
from pathlib import Path

import pytest

from wallboard.core.alerts import AlertRule, Transition
from wallboard.core.board_config import AlertsConfig, BoardConfig, SoundConfig
from wallboard.ui.alert_center import AlertCenter
from wallboard.ui.alert_history import AlertHistory
from wallboard.ui.alert_panel import AlertPanel
from wallboard.ui.sound import BUNDLED, SoundPlayer, player_command

RULE = AlertRule(name="Wait", figure="longest_wait_s", queue="q1", warning=60, critical=120, clear=30,
                 raise_after_s=30, clear_after_s=0)


def figs(value: float) -> dict:
    w = {"longest_wait_s": value, "sl_threshold_s": 20, "sl_target_pct": 80}
    return {"total": {"today": {}, "rolling": {}}, "queues": {"q1": {"name": "Sales", "today": w, "rolling": w}}}


def _center(tmp_path: Path | None = None, **sounds) -> tuple[AlertCenter, list[int]]:
    cfg = BoardConfig(alerts=AlertsConfig(goal_rules=False, rules=[RULE]), sounds=SoundConfig(**sounds))
    beeps: list[int] = []
    player = SoundPlayer(muted=not cfg.sounds.enabled, beep=lambda: beeps.append(1))
    player.command = None  # the bell route: no audio device here
    return AlertCenter(cfg, history_path=tmp_path and tmp_path / "alerts.jsonl", sound=player), beeps


def test_bundled_sounds_are_short_valid_wavs() -> None:
    for level, path in BUNDLED.items():
        with wave.open(str(path)) as w:
            secs = w.getnframes() / w.getframerate()
            assert w.getnchannels() == 1 and w.getsampwidth() == 2, level
            assert 0.3 < secs < 1.5, (level, secs)


def test_player_route_per_platform() -> None:
    def have(*names: str):
        return lambda n: f"/usr/bin/{n}" if n in names else None
    assert player_command(None, "win32", have()) is None  # winsound
    assert player_command(None, "darwin", have("afplay")) == ["afplay"]
    assert player_command(None, "linux", have("pw-play", "aplay")) == ["pw-play"]
    assert player_command(None, "linux", have("aplay", "paplay")) == ["paplay"]
    assert player_command(None, "linux", have()) is None  # → QApplication.beep()
    assert player_command("aplay -q -D default", "linux", have()) == ["aplay", "-q", "-D", "default"]


def test_a_real_player_process_gets_the_severity_file(tmp_path: Path) -> None:
    log = tmp_path / "played.txt"
    script = tmp_path / "player.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write(sys.argv[2] + '\\n')\n")
    player = SoundPlayer(player=f"{sys.executable} {script} {log}")
    assert player.play("critical") == "command"
    assert player.play("warning") == "command"
    for proc in player._procs:
        proc.wait(30)
    assert sorted(log.read_text().split()) == sorted([str(BUNDLED["critical"]), str(BUNDLED["warning"])])
    broken = SoundPlayer(player=str(tmp_path / "no-such-player"), beep=lambda: None)
    assert broken.play("warning") == "beep"  # a missing player falls back to the bell, no crash


def test_sound_on_raise_repeat_acknowledge_escalate_and_mute() -> None:
    center, beeps = _center(repeat_s=60)
    for t, v in [(0, 70), (29, 70)]:
        center.update(figs(v), t)
    assert beeps == []
    center.update(figs(70), 30)  # raised
    assert len(beeps) == 1
    center.update(figs(70), 60)
    assert len(beeps) == 1
    center.update(figs(70), 90)  # repeat interval
    assert len(beeps) == 2
    assert center.acknowledge(center.active()[0].key)
    center.update(figs(70), 200)  # acknowledged: silent
    assert len(beeps) == 2
    center.update(figs(130), 210)
    center.update(figs(130), 240)  # escalated to critical: sounds again
    assert len(beeps) == 3 and center.active()[0].level == "critical"
    muted, mbeeps = _center(enabled=False)
    for t in (0, 30, 90, 200):
        muted.update(figs(130), t)
    assert mbeeps == [] and muted.sound.played == [] and muted.active()[0].level == "critical"


def test_rules_run_at_most_four_times_a_second_of_board_time() -> None:
    rule = AlertRule(name="Wait", figure="longest_wait_s", queue="q1", warning=60, critical=120, clear=30,
                     raise_after_s=0, clear_after_s=0)
    center = AlertCenter(BoardConfig(alerts=AlertsConfig(goal_rules=False, rules=[rule])), history_path=None,
                         sound=SoundPlayer(muted=True))
    center.update(figs(10), 100.0)
    assert center.update(figs(70), 100.2) == [] and center.active() == []  # within 0.25 s: not yet run
    assert [t.kind for t in center.update(figs(70), 100.25)] == ["raised"]  # runs, with the latest figures
    assert center.update(figs(10), 100.3) == []
    assert [t.kind for t in center.update(figs(10), 90.0)] == ["cleared"]  # a clock step back: runs at once


def test_the_rules_want_figures_per_queue_only_when_due_and_not_all_on_the_total() -> None:
    on_q1 = AlertRule(name="Wait", figure="longest_wait_s", queue="q1", warning=60)
    on_total = AlertRule(name="Wait", figure="longest_wait_s", queue="all", warning=60)
    for rules, per_queue in (([on_q1], True), ([on_total], False)):
        center = AlertCenter(BoardConfig(alerts=AlertsConfig(goal_rules=False, rules=rules)), history_path=None,
                             sound=SoundPlayer(muted=True))
        assert center.wants_queues(100.0) is per_queue
        center.update(figs(10), 100.0)
        assert center.wants_queues(100.1) is False  # not due: update will not read the figures at all
        assert center.wants_queues(100.25) is per_queue


def _transition(i: int) -> Transition:
    return Transition((0, "q1"), "raised", "warning", "ok", "Wait", "longest_wait_s", "q1", "Sales", "today",
                      61.0 + i, 1000.0 + i, 1000.0 + i, f"Sales: longest wait {61 + i} s")


def test_history_rotates_and_keeps_the_newest(tmp_path: Path) -> None:
    h = AlertHistory(tmp_path / "state" / "alerts.jsonl", max_bytes=2000, backups=3)
    for i in range(100):
        h.append(_transition(i))
    files = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert files == ["alerts.jsonl", "alerts.jsonl.1", "alerts.jsonl.2", "alerts.jsonl.3"]
    for p in (tmp_path / "state").iterdir():
        assert p.stat().st_size <= 2000
    last = json.loads((tmp_path / "state" / "alerts.jsonl").read_text().splitlines()[-1])
    assert last["text"] == "Sales: longest wait 160 s" and last["kind"] == "raised"
    assert h.write_errors == 0 and h.written == 100


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device that is always full)")
def test_history_on_a_full_disk_counts_and_carries_on() -> None:
    h = AlertHistory(Path("/dev/full"))
    for i in range(3):
        h.append(_transition(i))  # ENOSPC on every write: no exception
    assert h.write_errors == 3 and h.written == 0 and len(h.recent) == 3


def test_panel_shows_active_alerts_acknowledges_and_lists_history(qtbot, tmp_path: Path) -> None:
    center, _ = _center(tmp_path)
    panel = AlertPanel(center, "UTC")
    qtbot.addWidget(panel)
    center.update(figs(70), 0)
    center.update(figs(70), 30)
    assert panel.table.rowCount() == 1 and panel.summary.text() == "1 active alert · 0 critical"
    assert panel.table.item(0, 2).text() == "00:00:30"  # since
    panel.table.selectRow(0)
    assert panel.acknowledge_selected() == 1
    assert panel.table.item(0, 3).text() == "acknowledged"
    center.update(figs(10), 40)  # cleared
    assert panel.table.rowCount() == 0 and panel.summary.text() == "No active alerts"
    assert [panel.history.item(i).text()[10:] for i in range(3)] == [
        "cleared  Sales: longest wait back to 10 s", "ack'd  Sales: longest wait acknowledged",
        "raised  Sales: longest wait 1:10 min (over 1:00 min)"]
    kinds = [json.loads(ln)["kind"] for ln in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert kinds == ["raised", "acknowledged", "cleared"]


def test_flashing_tiles_pulse_each_second_until_acknowledged() -> None:
    from wallboard.core.board_config import FigureTile, PageConfig
    from wallboard.core.view_model import BoardViewModel, LinkStatus
    cfg = BoardConfig(alerts=AlertsConfig(goal_rules=False, rules=[RULE], flash=True),
                      pages=[PageConfig(rows=1, cols=1, tiles=[FigureTile(kind="longest_wait", queue="q1")])])
    vm = BoardViewModel(cfg)
    center = AlertCenter(cfg, history_path=None, sound=SoundPlayer(muted=True))
    center.attach(vm)
    f = figs(70)
    f["queues"]["q1"]["today"]["waiting"] = 3

    def tile(now: float):
        return vm.build(f, LinkStatus("live", last_data_at=now), now).tiles[0]
    assert tile(0).severity == "none" and not tile(1).flash_on  # over the level, not raised yet
    assert [(tile(t).severity, tile(t).flash_on) for t in (30, 31, 32)] == [
        ("warn", True), ("warn", False), ("warn", True)]
    center.acknowledge(center.active()[0].key)
    assert [tile(t).flash_on for t in (34, 35, 36)] == [False, False, False]
    assert tile(36).severity == "warn"  # still shown until it clears
