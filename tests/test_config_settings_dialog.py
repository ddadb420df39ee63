"""The settings dialog round-trips a commented file: comments and layout kept, only edited values change."""

from __future__ import annotations

import shutil
from pathlib import Path

from wallboard.config_loader import load_file
from wallboard.ui.settings_dialog import SettingsDialog

EXAMPLE = Path(__file__).resolve().parent.parent / "resources" / "wallboard.example.toml"


def _dialog(qtbot, tmp_path: Path) -> tuple[SettingsDialog, Path, str]:
    path = tmp_path / "wallboard.toml"
    shutil.copy(EXAMPLE, path)
    original = path.read_text(encoding="utf-8")
    d = SettingsDialog(path, load_file(path).config)
    qtbot.addWidget(d)
    return d, path, original


def _row(table, text: str) -> int:
    return next(r for r in range(table.rowCount()) if table.item(r, 0).text() == text)


def test_saving_unchanged_settings_leaves_the_file_byte_identical(qtbot, tmp_path: Path) -> None:
    d, path, original = _dialog(qtbot, tmp_path)
    assert d.save()
    assert path.read_text(encoding="utf-8") == original


def test_edits_change_only_their_values_and_keep_every_comment(qtbot, tmp_path: Path) -> None:
    d, path, original = _dialog(qtbot, tmp_path)
    d.goals.item(_row(d.goals, "support"), 1).setText("45")  # support threshold 60 → 45
    d._add_goal_row("billing", 30, 90)
    d.goal_rules.setChecked(False)
    name_col = 0
    d.rules.item(0, name_col).setText("Calls piling up (sales floor)")
    d._add_rule_row({"name": "ASA slow", "figure": "asa_s", "queue": "all", "direction": "above",
                     "warning": "goal", "critical": "goal*2"})
    assert d.save(), d.error.text()
    text = path.read_text(encoding="utf-8")
    # Every comment line of the original is still there, in the same order.
    comments = [ln for ln in original.splitlines() if ln.lstrip().startswith("#")]
    kept = [ln for ln in text.splitlines() if ln.lstrip().startswith("#")]
    assert kept[:len(comments)] == comments
    # Trailing comments on edited keys survive too.
    assert "raise_after_s = 30               # must be over the level this long before it raises" in text
    assert "threshold_s = 45" in text
    cfg = load_file(path).config
    assert cfg.metrics.queue_goals["support"].threshold_s == 45
    assert cfg.metrics.queue_goals["billing"].target_pct == 90
    assert not cfg.alerts.goal_rules
    assert [r.title for r in cfg.alerts.rules] == ["Calls piling up (sales floor)", "Abandon rate high",
                                                   "ASA slow"]
    assert cfg.alerts.rules[2].critical == "goal*2"
    # Nothing else moved: the diff is exactly the edited lines plus the additions.
    removed = set(original.splitlines()) - set(text.splitlines())
    assert removed == {"threshold_s = 60", "goal_rules = true", 'name = "Calls piling up"'}


def test_an_invalid_edit_is_refused_and_the_file_is_untouched(qtbot, tmp_path: Path) -> None:
    d, path, original = _dialog(qtbot, tmp_path)
    d.goals.item(_row(d.goals, "premier"), 2).setText("150")  # target over 100 %
    assert not d.save()
    assert "metrics.queue_goals.premier.target_pct" in d.error.text()
    assert path.read_text(encoding="utf-8") == original
