"""The board's commands as a user runs them: no display, snapshot to PNG, demo offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from wallboard.ui.display import display_problem

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(extra)
    return env


def _wallboard(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wallboard", *args], env=env, cwd=ROOT, text=True,
                          capture_output=True, timeout=timeout)


def test_display_problem_is_pure() -> None:
    assert display_problem("demo", {}, "linux") is not None
    assert display_problem("demo", {"DISPLAY": ":0"}, "linux") is None
    assert display_problem("demo", {"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem("demo", {}, "win32") is None


@pytest.mark.parametrize("cmd", ["demo", "run"])
def test_without_a_display_exit_2_with_advice(cmd: str) -> None:
    r = _wallboard(cmd, env=_env())
    assert r.returncode == 2
    assert "QT_QPA_PLATFORM=offscreen" in r.stderr and "xvfb-run" in r.stderr and "snapshot" in r.stderr
    assert "Aborted" not in r.stderr and "qt.qpa" not in r.stderr


def test_snapshot_demo_writes_a_png_of_the_size_asked(tmp_path: Path) -> None:
    out = tmp_path / "b.png"
    r = _wallboard("snapshot", "--demo", "--scenario", "small", "--minutes", "30", "--size", "1280x720",
                   "--theme", "high-contrast", "--out", str(out), env=_env())
    assert r.returncode == 0, r.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1280, 720)
    assert img.pixelColor(1, 1).name() == "#000000"  # high-contrast background


def test_snapshot_rejects_bad_input_clearly(tmp_path: Path) -> None:
    r = _wallboard("snapshot", "--demo", "--size", "big", env=_env())
    assert r.returncode == 2 and "1920x1080" in r.stderr
    bad = tmp_path / "board.toml"
    bad.write_text('theme = "neon"\n')
    r = _wallboard("snapshot", "--config", str(bad), env=_env())
    assert r.returncode == 2 and "theme" in r.stderr and "Traceback" not in r.stderr
    r = _wallboard("snapshot", "--demo", "--scenario", "nope", env=_env())
    assert r.returncode == 2 and "nope" in r.stderr and "Traceback" not in r.stderr


def test_demo_runs_offscreen_and_quits(tmp_path: Path) -> None:
    r = _wallboard("demo", "--scenario", "small", "--quit-after", "3", env=_env(QT_QPA_PLATFORM="offscreen"))
    assert r.returncode == 0, r.stderr


def test_run_with_a_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "board.toml"
    bad.write_text('[[pages]]\nrows = 2\n[[pages.tiles]]\nkind = "waiting"\nrow = 5\n')
    r = _wallboard("run", "--config", str(bad), env=_env(QT_QPA_PLATFORM="offscreen"))
    assert r.returncode == 2 and "does not fit" in r.stderr and "Traceback" not in r.stderr
    r = _wallboard("run", "--config", str(tmp_path / "missing.toml"), env=_env(QT_QPA_PLATFORM="offscreen"))
    assert r.returncode == 2 and "cannot read config" in r.stderr


def _snapshot_of_config(tmp_path: Path, feed_toml: str, size: str = "1280x720",
                        wait: str = "10") -> tuple[subprocess.CompletedProcess[str], Path]:
    """`wallboard snapshot --config` with a config holding ``feed_toml`` as its [feed] section."""
    cfg = tmp_path / "board.toml"
    cfg.write_text(f"[feed]\n{feed_toml}")
    out = tmp_path / "snapshot.png"
    return _wallboard("snapshot", "--config", str(cfg), "--out", str(out), "--size", size, "--wait", wait,
                      env=_env()), out


def test_snapshot_of_a_live_feed_from_its_config(tmp_path: Path) -> None:
    """snapshot --config connects to the configured (real) feed and renders what it serves."""
    import time

    from wallboard.commands.demo import EmbeddedFeed
    from wallboard.core import protocol as p
    from wallboard.feed.sources import PushSource

    source = PushSource()
    feed = EmbeddedFeed(source, 0)
    url = feed.start()
    try:
        now = time.time()
        feed.call(source.push, [p.CallQueued(ts=now - 42, call_id=f"c{i}", queue="q") for i in range(7)])
        r, out = _snapshot_of_config(tmp_path, f'url = "{url}"\n')
        assert r.returncode == 0, r.stderr
        assert "7 events" in r.stdout
        assert QImage(str(out)).width() == 1280
    finally:
        feed.stop()


def test_snapshot_of_a_feed_that_wants_a_token_reads_the_configs_token_file(tmp_path: Path) -> None:
    """As `wallboard run` does: token_file (relative to the config's folder), not only token."""
    import time

    from feed_support import ServerThread

    from wallboard.core import protocol as p

    token = "tok-" + "sn4psh0t" * 3
    with ServerThread(token=token) as srv:
        now = time.time()
        srv.push([p.CallQueued(ts=now - 42, call_id=f"c{i}", queue="q") for i in range(7)])
        (tmp_path / "feed.token").write_text(token + "\n")
        r, _out = _snapshot_of_config(tmp_path, f'url = "{srv.url}"\ntoken_file = "feed.token"\n')
    assert r.returncode == 0, r.stderr
    assert "7 events" in r.stdout and token not in r.stdout + r.stderr


def test_snapshot_without_data_says_why_and_exits_1_after_writing_the_png(tmp_path: Path) -> None:
    """No feed: the PNG shows the board offline, and a script learns it from the exit status and stderr
    (the reason the feed client gave, not the "stopped" of the client being shut down)."""
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r, out = _snapshot_of_config(tmp_path, f'url = "ws://127.0.0.1:{port}/"\n', size="640x360", wait="1")
    assert r.returncode == 1
    assert "no data from the feed within 1 s (reconnecting: cannot connect" in r.stderr
    assert QImage(str(out)).width() == 640
