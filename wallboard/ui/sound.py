"""Alert sounds without QtMultimedia (it ships in PySide6-Addons, ~160 MB with FFmpeg: too big).

Route, first that works (docs/alerts.md, "Sound"):
- the ``player`` command from the config (e.g. ``"paplay"`` or ``"aplay -q"``), the file appended;
- Windows: ``winsound.PlaySound`` (standard library, asynchronous);
- macOS: ``afplay`` (part of the system);
- Linux and other Unixes: ``paplay`` (PulseAudio/PipeWire), ``pw-play`` (PipeWire), ``aplay`` (ALSA);
- last resort: ``QApplication.beep()`` (the desktop's bell; may be silent on a kiosk without a session).
Players run detached (``subprocess.Popen``), so a hung audio server never blocks the board.
"""

from __future__ import annotations

import logging
import math
import shlex
import shutil
import struct
import subprocess
import sys
import wave
from collections.abc import Callable
from pathlib import Path

from wallboard.paths import resource_path

log = logging.getLogger("wallboard.ui.sound")

SOUND_DIR = resource_path("sounds")
BUNDLED = {"warning": SOUND_DIR / "warning.wav", "critical": SOUND_DIR / "critical.wav"}
UNIX_PLAYERS = (["paplay"], ["pw-play"], ["aplay", "-q"])


def player_command(configured: str | None = None, platform: str = sys.platform,
                   which: Callable[[str], str | None] = shutil.which) -> list[str] | None:
    """The command (file appended) that plays a WAV here; None for winsound or when none is found."""
    if configured:
        return shlex.split(configured)
    if platform == "win32":
        return None
    if platform == "darwin":
        return ["afplay"] if which("afplay") else None
    for cmd in UNIX_PLAYERS:
        if which(cmd[0]):
            return list(cmd)
    return None


class SoundPlayer:
    """Plays a severity's WAV file; ``muted`` plays nothing. ``played`` counts for tests and the panel."""

    def __init__(self, files: dict[str, str | None] | None = None, player: str | None = None,
                 muted: bool = False, beep: Callable[[], None] | None = None) -> None:
        self.files = {lvl: Path(f) if f else BUNDLED[lvl] for lvl, f in {**dict.fromkeys(BUNDLED),
                                                                        **(files or {})}.items()}
        self.command = player_command(player)
        self.muted = muted
        self._beep = beep
        self._procs: list[subprocess.Popen[bytes]] = []
        self.played: list[tuple[str, str]] = []  # (level, route)

    def play(self, level: str) -> str:
        """Start the sound for ``level``; returns the route used ("muted", "command", "winsound", "beep")."""
        if self.muted:
            return "muted"
        path = self.files.get(level) or BUNDLED["warning"]
        self._procs = [p for p in self._procs if p.poll() is None]  # reap finished players
        route = "beep"
        try:
            if self.command is not None and path.is_file():
                if len(self._procs) < 4:  # never pile up players if the audio server hangs
                    self._procs.append(subprocess.Popen([*self.command, str(path)], stdin=subprocess.DEVNULL,
                                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                route = "command"
            elif sys.platform == "win32" and path.is_file():
                import winsound
                winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC)
                route = "winsound"
        except OSError as exc:  # player missing or broken: fall back to the bell, keep running
            log.warning("cannot play %s with %s: %s", path, self.command, exc)
            route = "beep"
        if route == "beep":
            self._bell()
        self.played.append((level, route))
        return route

    def _bell(self) -> None:
        if self._beep is not None:
            self._beep()
            return
        from PySide6.QtWidgets import QApplication
        QApplication.beep()

    def close(self) -> None:
        for p in self._procs:
            if p.poll() is None:
                p.terminate()
        self._procs.clear()


def write_tone(path: str | Path, tones: list[tuple[float, float]], rate: int = 22050,
               volume: float = 0.5) -> None:
    """A 16-bit mono WAV of (frequency Hz, seconds) tones (0 Hz: silence), with 10 ms fades (no clicks)."""
    frames = bytearray()
    fade = int(rate * 0.01)
    for freq, secs in tones:
        n = int(rate * secs)
        for i in range(n):
            env = min(1.0, i / fade, (n - 1 - i) / fade) if fade else 1.0
            v = volume * env * math.sin(2 * math.pi * freq * i / rate) if freq else 0.0
            frames += struct.pack("<h", int(v * 32767))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def write_bundled_sounds(directory: Path = SOUND_DIR) -> None:
    """Regenerate resources/sounds (``python -m wallboard.ui.sound``): a soft two-note chime for a
    warning, three insistent high beeps for critical."""
    directory.mkdir(parents=True, exist_ok=True)
    write_tone(directory / "warning.wav", [(660, 0.18), (0, 0.06), (880, 0.30)], volume=0.45)
    write_tone(directory / "critical.wav", [(988, 0.14), (0, 0.07)] * 3 + [(988, 0.25)], volume=0.6)


if __name__ == "__main__":
    write_bundled_sounds()
