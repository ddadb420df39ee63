"""Settings dialog (desktop mode): service-level goals and alert rules, written back to the config file
with the person's comments and layout kept (wallboard.config_writer). The board picks the saved file up
through the live reload like any other edit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from wallboard.config_loader import ConfigError
from wallboard.config_writer import RULE_KEYS, SettingsDocument
from wallboard.core.board_config import BoardConfig
from wallboard.core.metrics_config import SL_FORMULA_TEXT, SL_FORMULAS

DEFAULT_ROW = "(default)"


class SettingsDialog(QDialog):
    def __init__(self, path: Path, config: BoardConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Wallboard settings")
        self.path = Path(path)
        self.config = config
        self.saved: BoardConfig | None = None
        tabs = QTabWidget()
        tabs.addTab(self._goals_tab(config), "Service-level goals")
        tabs.addTab(self._alerts_tab(config), "Alert rules")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color:#D55E00; font-weight:600;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Saved to {self.path} (comments and layout are kept)"))
        lay.addWidget(tabs)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self.resize(900, 520)

    # ------------------------------------------------------------------ goals
    def _goals_tab(self, cfg: BoardConfig) -> QWidget:
        m = cfg.metrics
        w = QWidget()
        lay = QVBoxLayout(w)
        form = QFormLayout()
        self.formula = QComboBox()
        for f in SL_FORMULAS:
            self.formula.addItem(f"{f}   ({SL_FORMULA_TEXT[f]})", f)
        self.formula.setCurrentIndex(SL_FORMULAS.index(m.sl_formula))
        form.addRow("Service-level formula", self.formula)
        self.short_abandon = QSpinBox()
        self.short_abandon.setRange(0, 3600)
        self.short_abandon.setSuffix(" s")
        self.short_abandon.setValue(m.short_abandon_s)
        form.addRow("Short abandon under", self.short_abandon)
        lay.addLayout(form)
        self.goals = QTableWidget(0, 3)
        self.goals.setHorizontalHeaderLabels(["Queue id", "Threshold (s)", "Target (%)"])
        self.goals.horizontalHeader().setStretchLastSection(True)
        self._add_goal_row(DEFAULT_ROW, m.default_goal.threshold_s, m.default_goal.target_pct)
        for q, g in m.queue_goals.items():
            self._add_goal_row(q, g.threshold_s, g.target_pct)
        lay.addWidget(self.goals)
        row = QHBoxLayout()
        add = QPushButton("Add queue")
        add.clicked.connect(lambda: self._add_goal_row("queue_id", m.default_goal.threshold_s,
                                                       m.default_goal.target_pct))
        remove = QPushButton("Remove queue")
        remove.clicked.connect(self._remove_goal_row)
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        lay.addLayout(row)
        return w

    def _add_goal_row(self, queue: str, threshold: int, target: float) -> None:
        r = self.goals.rowCount()
        self.goals.insertRow(r)
        self.goals.setItem(r, 0, QTableWidgetItem(queue))
        self.goals.setItem(r, 1, QTableWidgetItem(str(threshold)))
        self.goals.setItem(r, 2, QTableWidgetItem(f"{target:g}"))

    def _remove_goal_row(self) -> None:
        r = self.goals.currentRow()
        if r > 0:  # the default row stays
            self.goals.removeRow(r)

    # ------------------------------------------------------------------ alerts
    def _alerts_tab(self, cfg: BoardConfig) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.goal_rules = QCheckBox("Rules from the goals (service level under target, longest wait over T)")
        self.goal_rules.setChecked(cfg.alerts.goal_rules)
        lay.addWidget(self.goal_rules)
        self.rules = QTableWidget(0, len(RULE_KEYS))
        self.rules.setHorizontalHeaderLabels([k.replace("_", " ") for k in RULE_KEYS])
        for rule in cfg.alerts.rules:
            self._add_rule_row(rule.model_dump(include=set(RULE_KEYS)))
        lay.addWidget(self.rules)
        row = QHBoxLayout()
        add = QPushButton("Add rule")
        add.clicked.connect(lambda: self._add_rule_row({"figure": "waiting", "queue": "*", "window": "today",
                                                        "direction": "above", "warning": 10}))
        remove = QPushButton("Remove rule")
        remove.clicked.connect(lambda: self.rules.removeRow(self.rules.currentRow()))
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        lay.addLayout(row)
        return w

    def _add_rule_row(self, rule: dict[str, Any]) -> None:
        r = self.rules.rowCount()
        self.rules.insertRow(r)
        for c, k in enumerate(RULE_KEYS):
            v = rule.get(k)
            self.rules.setItem(r, c, QTableWidgetItem("" if v is None else f"{v:g}" if isinstance(v, float)
                                                      else str(v)))

    # ------------------------------------------------------------------ reading the widgets
    def goal_values(self) -> tuple[tuple[int, float], dict[str, tuple[int, float]]]:
        default = (30, 80.0)
        queues: dict[str, tuple[int, float]] = {}
        for r in range(self.goals.rowCount()):
            q = self.goals.item(r, 0).text().strip()
            t = int(float(self.goals.item(r, 1).text()))
            p = float(self.goals.item(r, 2).text())
            if r == 0:
                default = (t, p)
            elif q:
                queues[q] = (t, p)
        return default, queues

    def rule_values(self) -> list[dict[str, Any]]:
        out = []
        for r in range(self.rules.rowCount()):
            rule: dict[str, Any] = {}
            for c, k in enumerate(RULE_KEYS):
                item = self.rules.item(r, c)
                text = item.text().strip() if item is not None else ""
                if text:
                    rule[k] = _parse(text) if k not in ("name", "figure", "queue", "window", "direction") else text
            out.append(rule)
        return out

    def document(self) -> SettingsDocument:
        doc = SettingsDocument.open(self.path)
        default, queues = self.goal_values()
        doc.set_default_goal(*default)
        doc.set_queue_goals(queues)
        doc.set_metrics(sl_formula=self.formula.currentData(), short_abandon_s=self.short_abandon.value())
        doc.set_goal_rules(self.goal_rules.isChecked())
        doc.set_rules(self.rule_values())
        return doc

    def save(self) -> bool:
        try:
            self.saved = self.document().save(self.path)
        except (ConfigError, ValueError) as exc:
            self.error.setText(f"Not saved: {exc}")
            return False
        except OSError as exc:
            self.error.setText(f"Not saved: cannot write {self.path}: {exc.strerror or exc}")
            return False
        self.error.setText("")
        self.accept()
        return True


def _parse(text: str) -> float | str:
    try:
        v = float(text)
    except ValueError:
        return text  # "goal*2" and the like
    return int(v) if v.is_integer() else v
