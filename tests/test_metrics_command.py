"""`wallboard metrics`: the documented JSON on the shipped sample, rejects on stderr, --at, --strict."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from wallboard.cli import main

FIGURES = {"waiting", "longest_wait_s", "offered", "answered", "answered_within", "abandoned",
           "abandoned_within", "short_abandoned", "dequeued", "handled", "waiting_over_threshold", "asa_s",
           "ata_s", "aht_s", "abandon_rate_pct", "service_level_pct", "sl_threshold_s", "sl_target_pct"}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[dict, str]:
    assert main(["metrics", *argv, "--json"]) == 0
    out = capsys.readouterr()
    return json.loads(out.out), out.err


def test_documented_json_on_the_shipped_sample(resources: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f, err = run_json(capsys, str(resources / "recordings" / "small.jsonl"))
    assert err == ""
    assert set(f) >= {"at", "total", "queues", "agents", "anomalies", "sl_formula"}
    assert f["at"] == 1795424650.0  # default: the last event's ts
    for per in [f["total"], *f["queues"].values()]:
        assert set(per["today"]) == FIGURES and set(per["rolling"]) == FIGURES
    assert sorted(f["queues"]) == ["sales", "support"]
    assert f["total"]["today"]["service_level_pct"] == 42.857  # 3 / (6 + 1), rounded to 3 decimals
    assert f["queues"]["sales"]["today"]["aht_s"] == 135.0
    assert f["agents"]["by_state"] == {"available": 1, "ringing": 0, "on_call": 1, "wrap_up": 1,
                                       "not_ready": 0, "outbound": 0, "logged_out": 0}
    assert f["agents"]["occupancy_pct"]["today"] == 75.546  # 519 / 687
    assert f["events_applied"] == 37 and f["rejected_lines"] == 0


def test_at_excludes_later_events(resources: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f, _ = run_json(capsys, str(resources / "recordings" / "small.jsonl"), "--at", "2026-11-23T09:00:50Z")
    t = f["total"]["today"]
    # By 09:00:50: c1, c2 answered (5 s each), c3 and c5 waiting (since 22 s and 40 s), c4 short abandon.
    assert (t["answered"], t["waiting"], t["short_abandoned"]) == (2, 2, 1)
    assert t["longest_wait_s"] == 28.0  # 50 − 22
    assert f["events_applied"] == 16


def test_options_change_the_maths(resources: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(resources / "recordings" / "small.jsonl")
    f, _ = run_json(capsys, path, "--sl-threshold", "40", "--short-abandon", "0",
                    "--sl-formula", "answered_of_answered")
    t = f["total"]["today"]
    # T = 40 s for both queues: all four answers (5, 5, 39, 15 s) within; S = 0: c4 is a real abandon.
    assert t["answered_within"] == 4 and t["abandoned"] == 2 and t["short_abandoned"] == 0
    assert t["sl_threshold_s"] == 40
    assert t["service_level_pct"] == pytest.approx(100 * 4 / (4 + 1), abs=1e-3)  # c7 waited 50 s > 40 s
    assert f["sl_formula"] == "answered_of_answered"


def test_rejected_lines_go_to_stderr_and_change_nothing(resources: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    lines = (resources / "recordings" / "small.jsonl").read_text().splitlines()
    dirty = [*lines[:5], "{not json", '{"type":"teleport","ts":1}', *lines[5:],
             '{"type":"call_queued","ts":1795424700}']
    path = tmp_path / "dirty.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(dirty) + "\n")
    clean, _ = run_json(capsys, str(resources / "recordings" / "small.jsonl"), "--at", "1795424650")
    f, err = run_json(capsys, str(path), "--at", "1795424650")
    assert f["total"] == clean["total"] and f["agents"] == clean["agents"]
    assert "line 6: invalid" in err and "line 7: unknown_type: unknown event type 'teleport'" in err
    assert "line 40: invalid: call_id: Field required" in err
    assert "3 line(s) rejected" in err
    assert f["rejected_lines"] == 3
    assert main(["metrics", str(path), "--strict"]) == 1


def test_readable_table_and_errors(resources: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", str(resources / "recordings" / "small.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "service level: answered ≤ T / offered" in out
    assert "sales" in out and "80.0% ≤ 20s" in out and "Occupancy: today 75.5%" in out
    assert main(["metrics", "/nonexistent.jsonl"]) == 2
    with pytest.raises(SystemExit, match="unknown time zone"):
        main(["metrics", str(resources / "recordings" / "small.jsonl"), "--timezone", "Mars/Olympus"])
