"""Alert rule timelines, written by hand: raise after the minimum time, no flapping inside the hysteresis
band, escalation, acknowledge then re-raise, goal-derived defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wallboard.core.alerts import (
    AlertRule,
    acknowledge,
    evaluate,
    goal_rules,
    new_state,
    resolve_level,
)


def figs(value: float | None, queue: str = "support", figure: str = "longest_wait_s",
         threshold: int = 60, target: float = 70.0) -> dict:
    window = {figure: value, "sl_threshold_s": threshold, "sl_target_pct": target}
    return {"total": {"today": {}, "rolling": {}},
            "queues": {queue: {"name": "Support", "today": window, "rolling": window}}}


def run(rule: AlertRule, timeline: list[tuple[float, float | None]], state=None):
    """Feed (time, value) points; returns (state, [(time, kind, level)])."""
    state = state or new_state([rule])
    seen = []
    for t, v in timeline:
        for tr in evaluate(figs(v, figure=rule.figure), state, t):
            seen.append((t, tr.kind, tr.level))
    return state, seen


WAIT = AlertRule(figure="longest_wait_s", queue="support", warning=60, critical=120, clear=45,
                 raise_after_s=30, clear_after_s=10)


def test_raises_only_after_the_minimum_time():
    timeline = [(t, 70.0) for t in range(0, 31, 5)]
    _, seen = run(WAIT, timeline)
    assert seen == [(30, "raised", "warning")]


def test_a_dip_restarts_the_count():
    timeline = [(0, 70.0), (20, 70.0), (25, 50.0), (30, 70.0), (55, 70.0), (60, 70.0)]
    _, seen = run(WAIT, timeline)
    assert seen == [(60, "raised", "warning")]


def test_no_flapping_inside_the_hysteresis_band():
    # Raised at 30, then the value wobbles between 50 and 70 (inside 45..60 and above): stays up.
    wobble = [(30 + 5 * i, 50.0 if i % 2 else 70.0) for i in range(1, 40)]
    state, seen = run(WAIT, [(0, 70.0), (30, 70.0), *wobble])
    assert seen == [(30, "raised", "warning")]
    assert state.active()[0].level == "warning"
    # Past the clear level, but only briefly: still up. Then held for clear_after_s: cleared.
    _, seen2 = run(WAIT, [(300, 40.0), (305, 50.0), (310, 40.0), (315, 40.0), (320, 40.0)], state)
    assert seen2 == [(320, "cleared", "ok")]


def test_value_raise_straight_to_critical_and_escalation_by_value():
    _, seen = run(WAIT, [(0, 130.0), (29, 130.0), (30, 130.0)])
    assert seen == [(30, "raised", "critical")]
    _, seen = run(WAIT, [(0, 70.0), (30, 70.0), (40, 125.0), (69, 125.0), (70, 125.0)])
    assert seen == [(30, "raised", "warning"), (70, "escalated", "critical")]


def test_critical_does_not_flicker_back_to_warning():
    state, seen = run(WAIT, [(0, 130.0), (30, 130.0), (40, 90.0), (50, 130.0), (60, 80.0)])
    assert seen == [(30, "raised", "critical")]
    assert state.active()[0].level == "critical"


def test_escalation_after_m_seconds():
    rule = WAIT.model_copy(update={"escalate_after_s": 300})
    timeline = [(t, 70.0) for t in range(0, 400, 10)]
    state, seen = run(rule, timeline)
    assert seen == [(30, "raised", "warning"), (330, "escalated", "critical")]
    alert = state.active()[0]
    assert alert.escalated and alert.since == 30 and alert.level_since == 330
    assert "not resolved in time" in alert.text


def test_acknowledge_then_re_raise():
    state, _ = run(WAIT, [(0, 70.0), (30, 70.0)])
    key = state.active()[0].key
    tr = acknowledge(state, key, 35)
    assert tr is not None and tr.kind == "acknowledged"
    assert acknowledge(state, key, 36) is None  # once
    assert state.active()[0].acknowledged
    # Escalation re-sounds: the acknowledgement is for the warning only.
    _, seen = run(WAIT, [(40, 130.0), (70, 130.0)], state)
    assert seen == [(70, "escalated", "critical")]
    assert not state.active()[0].acknowledged
    acknowledge(state, key, 75)
    # Clears, then raises again: a new alert, not acknowledged.
    _, seen = run(WAIT, [(80, 10.0), (90, 10.0), (100, 70.0), (130, 70.0)], state)
    assert seen == [(90, "cleared", "ok"), (130, "raised", "warning")]
    alert = state.active()[0]
    assert not alert.acknowledged and alert.since == 130


def test_below_rule_for_service_level():
    rule = AlertRule(figure="service_level_pct", queue="support", direction="below", warning=80,
                     critical=70, clear=82, raise_after_s=60, clear_after_s=0)
    _, seen = run(rule, [(0, 79.0), (60, 79.5), (70, 81.0), (80, 82.0)])
    assert seen == [(60, "raised", "warning"), (80, "cleared", "ok")]


def test_no_data_raises_nothing_and_holds_a_raised_alert():
    state, seen = run(WAIT, [(0, None), (100, None)])
    assert seen == []
    state, seen = run(WAIT, [(200, 70.0), (230, 70.0), (240, None), (400, None)], state)
    assert seen == [(230, "raised", "warning")]


def test_each_queue_and_goal_defaults():
    sl, wait = goal_rules()
    state = new_state([sl, wait])
    f = {"total": {"today": {}, "rolling": {}}, "queues": {
        "sales": {"name": "Sales", "today": {"longest_wait_s": 25.0, "sl_threshold_s": 20,
                                              "sl_target_pct": 80, "service_level_pct": 85.0,
                                              "offered": 40}},
        "support": {"name": "Support", "today": {"longest_wait_s": 65.0, "sl_threshold_s": 60,
                                                  "sl_target_pct": 70, "service_level_pct": 55.0,
                                                  "offered": 40}},
    }}
    seen = [(tr.queue, tr.rule, tr.level) for t in (0, 15, 60) for tr in evaluate(f, state, t)]
    assert seen == [("sales", "Longest wait over goal", "warning"),
                    ("support", "Longest wait over goal", "warning"),
                    ("support", "Service level under goal", "critical")]
    assert next(a.queue for a in state.active()) == "support"  # critical first
    assert state.level_of("longest_wait_s", "sales", "rolling") == "warning"  # instant figure: any window
    assert state.level_of("service_level_pct", "sales", "today") == "ok"
    assert state.level_of("service_level_pct", "sales", "rolling") is None
    assert state.level_of("longest_wait_s", "billing", "today") is None  # no such queue yet ...
    f["queues"]["billing"] = {"name": "Billing", "today": {"longest_wait_s": 90.0, "sl_threshold_s": 20,
                                                           "sl_target_pct": 80, "offered": 3}}
    evaluate(f, state, 61)
    assert state.level_of("longest_wait_s", "billing", "today") == "none"  # ... covered once it comes
    evaluate(f, state, 76)
    assert state.level_of("longest_wait_s", "billing", "today") == "critical"  # over 2T for 15 s
    del f["queues"]["billing"]
    # Too few calls for a service level: the rule waits (no alert on 2 of 3 calls).
    f["queues"]["sales"]["today"].update(offered=5, service_level_pct=40.0)
    assert [tr for t in (100, 200, 300) for tr in evaluate(f, state, t) if tr.queue == "sales"] == []


def test_goal_levels_and_mixed_goals():
    assert resolve_level("goal*2", 30) == 60
    assert resolve_level("goal-10", 80) == 70
    assert resolve_level("goal", 20) == 20
    assert resolve_level("goal+1", None) is None  # mixed goals: the rule does nothing
    assert resolve_level(5, None) == 5


def test_rules_are_checked():
    with pytest.raises(ValidationError, match="warning or a critical"):
        AlertRule(figure="waiting")
    with pytest.raises(ValidationError, match="clear < warning < critical"):
        AlertRule(figure="waiting", warning=10, critical=5)
    with pytest.raises(ValidationError, match="goal"):
        AlertRule(figure="waiting", warning="twice the goal")
    with pytest.raises(ValidationError, match="extra"):
        AlertRule(figure="waiting", warning=3, raise_after=4)  # typo'd key


def test_new_rules_keep_unchanged_tracks():
    other = AlertRule(figure="waiting", queue="support", warning=5)
    state, _ = run(WAIT, [(0, 70.0), (30, 70.0)])
    kept = state.with_rules([WAIT, other])
    assert kept.active()[0].since == 30
    changed = state.with_rules([WAIT.model_copy(update={"warning": 65})])
    assert changed.active() == []


def test_deterministic():
    timeline = [(t, 40.0 + (t * 37 % 100)) for t in range(0, 2000, 7)]
    assert run(WAIT, timeline)[1] == run(WAIT, timeline)[1]
