"""The board's alerts: runs the rule engine on the figures the board shows, logs every transition,
sounds the loudest unacknowledged alert, and tells the panel.

Hooked into the view model (``BoardViewModel.on_figures``), so the rules see each refresh's figures
without computing them again, and the tiles read the levels of the same tick.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from wallboard.core.alerts import (
    ALL_QUEUES,
    LEVEL_RANK,
    ActiveAlert,
    AlertKey,
    AlertState,
    Transition,
    acknowledge,
    evaluate,
)
from wallboard.core.board_config import BoardConfig
from wallboard.core.view_model import BoardViewModel
from wallboard.ui.alert_history import AlertHistory, default_history_path
from wallboard.ui.sound import SoundPlayer

log = logging.getLogger("wallboard.ui.alerts")
_USE_DEFAULT = object()
# The rules run at most this often (board time): their levels hold for seconds (raise_after_s, hysteresis),
# so evaluating at every refresh (25 a second by default) would only spend CPU.
EVALUATE_EVERY_S = 0.25


class AlertCenter(QObject):
    changed = Signal(object)  # list[Transition] that just happened (the panel refreshes)

    def __init__(self, config: BoardConfig, *, history_path: Path | object | None = _USE_DEFAULT,
                 sound: SoundPlayer | None = None) -> None:
        super().__init__()
        self.config = config
        self.state = AlertState(tuple(config.alerts.all_rules()))
        path = default_history_path() if history_path is _USE_DEFAULT else history_path
        self.history = AlertHistory(path, config.alerts.history_max_kb * 1024,  # type: ignore[arg-type]
                                    config.alerts.history_files)
        self.sound = sound or self._make_sound(config)
        self.now = 0.0
        self._last_sound_at: float | None = None
        self._evaluated_at: float | None = None
        self._vm: BoardViewModel | None = None

    @staticmethod
    def _make_sound(config: BoardConfig) -> SoundPlayer:
        sc = config.sounds
        return SoundPlayer({"warning": sc.warning, "critical": sc.critical}, sc.player, muted=not sc.enabled)

    def attach(self, vm: BoardViewModel) -> None:
        """Drive the rules from this view model's builds, and let its tiles show the alert levels."""
        self._vm = vm
        vm.alerts = self.state
        vm.on_figures = self.update
        vm.on_figures_wants_queues = self.wants_queues

    def set_config(self, config: BoardConfig) -> None:
        """Live reload: new rules (unchanged ones keep their state), sounds, history limits."""
        self.config = config
        self.state = self.state.with_rules(config.alerts.all_rules())
        self.history.max_bytes = config.alerts.history_max_kb * 1024
        self.history.backups = config.alerts.history_files
        self.sound.close()
        self.sound = self._make_sound(config)
        if self._vm is not None:
            self._vm.alerts = self.state
        self._evaluated_at = None  # the new rules run at the next refresh
        self.changed.emit([])

    # ------------------------------------------------------------------ each refresh
    def _due(self, now: float) -> bool:
        last = self._evaluated_at
        return last is None or not 0 <= now - last < EVALUATE_EVERY_S  # (a clock step back runs them at once)

    def wants_queues(self, now: float) -> bool:
        """Whether ``update`` at ``now`` reads per-queue figures: the rules are due and one is not on the
        all-queues total."""
        return self._due(now) and any(r.queue != ALL_QUEUES for r in self.state.rules)

    def update(self, figures: dict[str, Any], now: float) -> list[Transition]:
        self.now = now
        if not self._due(now):
            return []
        self._evaluated_at = now
        transitions = evaluate(figures, self.state, now)
        for t in transitions:
            self.history.append(t)
            log.info("alert %s: %s (%s)", t.kind, t.text, t.level)
        self._sound(transitions, now)
        if transitions:
            self.changed.emit(transitions)
        return transitions

    def _sound(self, transitions: list[Transition], now: float) -> None:
        loud = [a for a in self.state.active() if a.sound and not a.acknowledged]
        if not loud:
            self._last_sound_at = None
            return
        level = max((a.level for a in loud), key=LEVEL_RANK.__getitem__)
        fresh = any(t.kind in ("raised", "escalated") and t.level == level for t in transitions)
        repeat = self.config.sounds.repeat_s
        due = self._last_sound_at is not None and repeat > 0 and now - self._last_sound_at >= repeat
        if fresh or due or self._last_sound_at is None:
            self.sound.play(level)
            self._last_sound_at = now

    # ------------------------------------------------------------------ people
    def active(self) -> list[ActiveAlert]:
        return self.state.active()

    def acknowledge(self, key: AlertKey) -> bool:
        t = acknowledge(self.state, key, self.now)
        if t is None:
            return False
        self.history.append(t)
        self.changed.emit([t])
        return True

    def acknowledge_all(self) -> int:
        return sum(self.acknowledge(a.key) for a in self.state.active() if not a.acknowledged)
