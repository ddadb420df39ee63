"""The site config file: search order, error messages naming file, line and field, check-config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wallboard.config_loader import (
    ENV_CONFIG,
    ConfigError,
    candidate_paths,
    find_config,
    load_config,
    load_file,
    resolve_token,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "resources" / "wallboard.example.toml"


def _write(tmp_path: Path, text: str, name: str = "wallboard.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_file(path)
    return info.value


def test_search_order(tmp_path: Path) -> None:
    env_file = _write(tmp_path, 'title = "env"\n', "env.toml")
    cli_file = _write(tmp_path, 'title = "cli"\n', "cli.toml")
    env = {ENV_CONFIG: str(env_file)}
    assert find_config(str(cli_file), env) == cli_file
    assert find_config(None, env) == env_file
    assert load_config(None, env).config.title == "env"
    # Without either: the user's config dir, then the site's (platformdirs), first file that exists.
    paths = candidate_paths(None, {})
    assert [p.name for p in paths[:2]] == ["wallboard.toml", "board.toml"]
    assert "wallboard" in str(paths[0].parent) and paths[0].parent != paths[-1].parent
    # An explicit path that does not exist is an error, not a silent fallback to defaults.
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(str(tmp_path / "missing.toml"), {})


def test_unknown_key_names_file_line_and_field(tmp_path: Path) -> None:
    p = _write(tmp_path, '# site\ntitle = "X"\n\n[[alerts.rules]]\nfigure = "waiting"\nwarning = 5\n\n'
                         '[[alerts.rules]]\nfigure = "longest_wait_s"\nwarnign = 60\n')
    e = _error(p)
    assert (e.line, e.field) == (10, "alerts.rules[1].warnign")
    assert str(e) == f"{p}:10: alerts.rules[1].warnign: unknown key (a typo?)"


def test_bad_values_in_nested_tables_and_tiles(tmp_path: Path) -> None:
    p = _write(tmp_path, '[metrics]\ntimezone = "Mars/Base"\n\n[metrics.queue_goals.sales]\n'
                         'threshold_s = 0\n\n[[pages]]\n[[pages.tiles]]\nkind = "waiting"\n'
                         '[[pages.tiles]]\nkind = "agent_board"\npage_seconds = 1\n')
    e = _error(p)
    assert (e.line, e.field) == (2, "metrics.timezone") and "Mars/Base" in e.problem
    assert e.more == 2
    assert e.details[1].startswith(f"{p}:5: metrics.queue_goals.sales.threshold_s: ")
    assert e.details[2].startswith(f"{p}:12: pages[0].tiles[1].page_seconds: ")


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    e = _error(_write(tmp_path, 'title = "ok"\n[feed]\nurl = "ws://x\n'))
    assert e.line == 3 and "not valid TOML" in str(e)


def test_rule_levels_checked_with_line(tmp_path: Path) -> None:
    e = _error(_write(tmp_path, '[[alerts.rules]]\nfigure = "waiting"\nwarning = 10\ncritical = 5\n'))
    assert e.line == 1 and e.field == "alerts.rules[0]" and "clear < warning < critical" in e.problem


def test_token_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "feed.token").write_text("s3cret\n")
    p = _write(tmp_path, '[feed]\nurl = "wss://acd.example:8765/"\ntoken_file = "secrets/feed.token"\n')
    loaded = load_file(p)
    assert resolve_token(loaded.config, p.parent) == "s3cret"


def test_the_shipped_example_is_valid() -> None:
    cfg = load_file(EXAMPLE).config
    assert cfg.alerts.rules and cfg.metrics.queue_goals


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "wallboard", "check-config", *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def test_check_config_names_the_bad_field(tmp_path: Path) -> None:
    p = _write(tmp_path, '[sounds]\nrepeat_s = 30\nvolume = 3\n')
    r = _check(str(p))
    assert r.returncode == 1
    assert r.stderr.strip() == f"{p}:3: sounds.volume: unknown key (a typo?)"
    r = _check(str(EXAMPLE))
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr


def test_ca_file_is_checked(tmp_path: Path) -> None:
    import ssl

    from wallboard.config_loader import ssl_context
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    p = _write(tmp_path, '[feed]\nurl = "wss://acd.example/"\nca_file = "bad.pem"\n')
    with pytest.raises(ConfigError, match=r"feed\.ca_file: not a usable CA file"):
        ssl_context(load_file(p).config, p.parent)
    system = ssl.get_default_verify_paths().cafile
    if system and Path(system).is_file():  # a real CA bundle from this machine
        p = _write(tmp_path, f'[feed]\nurl = "wss://acd.example/"\nca_file = "{system}"\n')
        assert isinstance(ssl_context(load_file(p).config, p.parent), ssl.SSLContext)
