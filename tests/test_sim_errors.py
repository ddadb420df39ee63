"""A broken scenario file fails with a message naming the file and the field; the CLI exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from wallboard.cli import main
from wallboard.sim import ScenarioError, load_scenario

GOOD = """\
timezone = "Europe/London"
[[queues]]
id = "q1"
rate_per_hour = 100
talk = { kind = "exponential", mean = 180 }
[[teams]]
name = "t"
agents = 3
queues = ["q1"]
"""


def write(tmp_path: Path, text: str, name: str = "broken.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def error_of(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value)


def test_good_file_loads(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD, "good.toml"))
    assert s.name == "good" and s.agent_count == 3


Q0 = "broken.toml: queues.0."


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("rate_per_hour = 100", "rate_per_hour = -5", Q0 + "rate_per_hour: Input should be greater than 0"),
    ("rate_per_hour = 100", 'rate_per_hour = "lots"',
     Q0 + "rate_per_hour: Input should be a valid number"),
    ('kind = "exponential"', 'kind = "weibull"', Q0 + "talk: unknown kind 'weibull'"),
    ("mean = 180", "mean = 0", Q0 + "talk.mean: Input should be greater than 0"),
    ("agents = 3", "agents = 2.5", "broken.toml: teams.0.agents: "),
    ('queues = ["q1"]', 'queues = ["q2"]', "broken.toml: teams.0.queues.0: unknown queue 'q2'"),
    ('timezone = "Europe/London"', 'timezone = "Mars/Olympus"',
     "broken.toml: timezone: Value error, unknown time zone"),
    ("rate_per_hour = 100", "rate_per_hour = 100\nrate_per_day = 9", Q0 + "rate_per_day: unknown field"),
    ("rate_per_hour = 100", "rate_per_hour = 100\nprofile = [1.0, 2.0]", Q0 + "profile: "),
    ("rate_per_hour = 100", 'rate_per_hour = 100\noverflow_to = "q1"\ntimeout_s = 60',
     Q0 + "overflow_to: a queue cannot overflow into itself"),
    ("[[teams]]",
     '[[queues]]\nid = "q2"\nrate_per_hour = 5\ntalk = { kind = "fixed", value = 60 }\n[[teams]]',
     "broken.toml: queues.1: no team serves queue 'q2'"),
    ("[[teams]]",
     '[[incidents]]\nkind = "surge"\nat = "25:00"\nduration_minutes = 5\nmultiplier = 2\n[[teams]]',
     "broken.toml: incidents.0.at: Value error, must be a time of day HH:MM"),
])
def test_broken_field_is_named(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    message = error_of(write(tmp_path, GOOD.replace(old, new, 1)))
    assert expected in message, message


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = GOOD.replace("rate_per_hour = 100", "rate_per_hour = 0").replace("agents = 3", "agents = -1")
    lines = error_of(write(tmp_path, text)).splitlines()
    assert lines == [Q0 + "rate_per_hour: Input should be greater than 0",
                     "broken.toml: teams.0.agents: Input should be greater than or equal to 1"]


def test_not_toml(tmp_path: Path) -> None:
    assert error_of(write(tmp_path, "queues = [\n")).startswith("broken.toml: not valid TOML:")


def test_unknown_name() -> None:
    with pytest.raises(ScenarioError, match=r"no-such-thing: no such scenario file or shipped .*small"):
        load_scenario("no-such-thing")


def test_cli_reports_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD.replace('kind = "exponential"', 'kind = "weibull"'))
    assert main(["simulate", str(path), "--fast", "--duration", "1h"]) == 2
    err = capsys.readouterr().err
    assert Q0 + "talk: unknown kind 'weibull'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("args", "expected"), [
    (["--duration", "soon"], "bad duration 'soon'"),
    (["--start", "yesterday"], "bad --start 'yesterday'"),
    (["--speed", "0"], "--speed must be > 0"),
])
def test_cli_bad_options(capsys: pytest.CaptureFixture[str], args: list[str], expected: str) -> None:
    assert main(["simulate", "small", *args]) == 2
    assert expected in capsys.readouterr().err


def test_cli_unwritable_record_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "no-such-dir" / "x.jsonl"
    assert main(["simulate", "small", "--fast", "--duration", "1h", "--record", str(target)]) == 2
    assert "cannot write" in capsys.readouterr().err
