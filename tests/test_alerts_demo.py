"""`wallboard demo --scenario site` shows an alert firing and clearing around its outage surge.

The real command, offscreen, started two minutes before the incident and run at 30× so that the surge and
its aftermath pass in about a minute; the alert transitions are read back from the history log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest


@pytest.mark.slow
def test_demo_site_alert_fires_in_the_surge_and_clears(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("WALLBOARD_CONFIG", None)
    r = subprocess.run([sys.executable, "-m", "wallboard", "demo", "--scenario", "site", "--start", "incident",
                        "--speed", "30", "--quit-after", "75"], env=env, capture_output=True, text=True,
                       timeout=240, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    log = tmp_path / "state" / "wallboard" / "alerts.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    zone = ZoneInfo("Europe/London")
    day = datetime.fromtimestamp(records[0]["at"], zone).date()
    incident = datetime(day.year, day.month, day.day, 10, 30, tzinfo=zone).timestamp()
    first_raise = min(r["at"] for r in records if r["kind"] == "raised")
    assert incident < first_raise < incident + 5 * 60  # fires within the incident's first minutes
    raised = {(r["rule"], r["queue"]) for r in records if r["kind"] == "raised"}
    cleared = [r for r in records if r["kind"] == "cleared" and (r["rule"], r["queue"]) in raised]
    assert cleared, [(r["kind"], r["text"]) for r in records]
    # ... and one clears once the surge (20 minutes) has passed and the backlog has gone.
    assert min(r["at"] for r in cleared) < incident + 35 * 60
