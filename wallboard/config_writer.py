"""Writing goals and alert rules back to the config file without losing the person's comments and layout.

tomlkit keeps comments, blank lines, key order and formatting; only the values that changed are touched
(an assignment to an existing key keeps its trailing comment). The result is validated before it is
written, and written atomically (a new file renamed over the old), so a wall screen watching the file
never reads half a file and never gets an invalid one from the settings dialog.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from wallboard.config_loader import parse_config
from wallboard.core.alerts import AlertRule
from wallboard.core.board_config import BoardConfig

# The rule keys the dialog edits, in the order they are written for a new rule.
RULE_KEYS = ("name", "figure", "queue", "window", "direction", "warning", "critical", "clear",
             "raise_after_s", "clear_after_s", "escalate_after_s")

_RULE_DEFAULTS = {k: f.default for k, f in AlertRule.model_fields.items() if k in RULE_KEYS}


class SettingsDocument:
    def __init__(self, text: str, path: Path | None = None) -> None:
        self.path = path
        self.doc = tomlkit.parse(text)

    @classmethod
    def open(cls, path: str | Path) -> SettingsDocument:
        path = Path(path)
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        return cls(text, path)

    # ------------------------------------------------------------------ helpers
    def _table(self, *keys: str) -> Table:
        node: Any = self.doc
        for k in keys:
            if k not in node:
                node[k] = tomlkit.table(is_super_table=k == "queue_goals")
            node = node[k]
        return node

    @staticmethod
    def _set(table: Any, key: str, value: Any) -> None:
        if value is None:
            if key in table:
                del table[key]
            return
        if key in table and _plain(table[key]) == value:
            return  # unchanged: leave the text exactly as written
        table[key] = value

    # ------------------------------------------------------------------ goals
    def set_default_goal(self, threshold_s: int, target_pct: float) -> None:
        t = self._table("metrics", "default_goal")
        self._set(t, "threshold_s", int(threshold_s))
        self._set(t, "target_pct", _num(target_pct))

    def set_queue_goals(self, goals: dict[str, tuple[int, float]]) -> None:
        """All per-queue goals: changed ones updated, new ones added, missing ones removed."""
        metrics = self._table("metrics")
        existing = metrics.get("queue_goals")
        if existing is not None:
            for q in [q for q in existing if q not in goals]:
                del existing[q]
        if not goals:
            if existing is not None and not len(existing):
                del metrics["queue_goals"]
            return
        qg = self._table("metrics", "queue_goals")
        for q, (threshold, target) in goals.items():
            if q not in qg:
                qg[q] = tomlkit.table()
            self._set(qg[q], "threshold_s", int(threshold))
            self._set(qg[q], "target_pct", _num(target))

    def set_metrics(self, *, sl_formula: str | None = None, short_abandon_s: int | None = None) -> None:
        t = self._table("metrics")
        if sl_formula is not None:
            self._set(t, "sl_formula", sl_formula)
        if short_abandon_s is not None:
            self._set(t, "short_abandon_s", int(short_abandon_s))

    # ------------------------------------------------------------------ alerts
    def set_goal_rules(self, on: bool) -> None:
        self._set(self._table("alerts"), "goal_rules", bool(on))

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        """The rules as dicts (keys of RULE_KEYS; None or missing: not set). Existing rules are updated
        in place (their comments stay), extra ones appended, surplus ones removed from the end."""
        alerts = self._table("alerts")
        aot = alerts.get("rules")
        if aot is None:
            if not rules:
                return
            aot = AoT([])
            alerts.append("rules", aot)
        while len(aot) > len(rules):
            aot.pop()  # type: ignore[union-attr]
        for i, rule in enumerate(rules):
            if i < len(aot):
                t = aot[i]
                for k in list(t.keys()):
                    if k in RULE_KEYS and rule.get(k) is None:
                        del t[k]
            else:
                t = tomlkit.table()
                aot.append(t)  # type: ignore[union-attr]
            for k in RULE_KEYS:
                v = rule.get(k)
                if v is None:
                    continue
                if k not in t and v == _RULE_DEFAULTS.get(k):
                    continue  # a default the file does not spell out stays unwritten
                self._set(t, k, _num(v))
        if not rules and "rules" in alerts:
            del alerts["rules"]

    # ------------------------------------------------------------------ output
    def dumps(self) -> str:
        return tomlkit.dumps(self.doc)

    def validate(self) -> BoardConfig:
        """Raises ConfigError (file, line, field) when the edited text is not a valid config."""
        return parse_config(self.dumps(), str(self.path or "settings"))

    def save(self, path: str | Path | None = None) -> BoardConfig:
        target = Path(path or self.path or "wallboard.toml")
        text = self.dumps()
        config = parse_config(text, str(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return config


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _num(value: Any) -> Any:
    """Whole floats as ints (80.0 → 80), so a file keeps looking the way a person writes it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
