"""Settings that change how figures are computed (docs/metrics.md)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wallboard.core.day_window import TimeZoneName

SLFormula = Literal["answered_of_offered", "answered_of_answered", "abandons_ignored", "abandons_positive"]
SL_FORMULAS: tuple[str, ...] = (
    "answered_of_offered", "answered_of_answered", "abandons_ignored", "abandons_positive"
)
SL_FORMULA_TEXT: dict[str, str] = {
    "answered_of_offered": "answered ≤ T / offered",
    "answered_of_answered": "answered ≤ T / answered",
    "abandons_ignored": "answered ≤ T / (offered − abandoned ≤ T)",
    "abandons_positive": "(answered + abandoned ≤ T) / offered",
}


class ServiceLevelGoal(BaseModel):
    """Service-level goal: ``target_pct`` of calls answered within ``threshold_s`` seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Whole seconds, as every ACD reports them; this keeps "within T" exact (docs/metrics.md).
    threshold_s: int = Field(20, ge=1, le=3600)
    target_pct: float = Field(80.0, ge=0, le=100)


class MetricsConfig(BaseModel):
    """How the engine computes figures. Immutable; a change builds a new engine by replay or restore."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sl_formula: SLFormula = "answered_of_offered"
    default_goal: ServiceLevelGoal = ServiceLevelGoal()
    # Per-queue goals from the site's configuration; they win over goals announced by the feed.
    queue_goals: dict[str, ServiceLevelGoal] = Field(default_factory=dict)
    # When False, goals announced in queue_info are ignored (e.g. `wallboard metrics --sl-threshold`).
    use_feed_goals: bool = True
    short_abandon_s: int = Field(5, ge=0, le=3600)
    rolling_minutes: int = Field(30, ge=1, le=24 * 60)
    # A call still waiting, or still being handled, this long is taken as lost (its end event never came)
    # and dropped, counted as an anomaly; otherwise one lost event would show a ghost caller for days.
    # 0 keeps calls forever.
    max_call_age_s: int = Field(12 * 3600, ge=0)
    timezone: TimeZoneName = "UTC"
    reset_time: str = "00:00"


    @field_validator("reset_time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value)
        if not m:
            raise ValueError(f"reset time must be HH:MM (24 h), got {value!r}")
        return value
