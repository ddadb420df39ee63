"""Alert history: every transition appended to a rotating JSON Lines log in the user state directory.

``alerts.jsonl`` rotates to ``alerts.jsonl.1`` … ``.N`` when it passes ``max_bytes``. A write that fails
(disk full, read-only, removed directory) is counted and dropped: the board never stops for its log.
The last transitions are also kept in memory for the desktop panel.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from collections import deque
from pathlib import Path

from wallboard.core.alerts import Transition

log = logging.getLogger("wallboard.ui.alerts")


def default_history_path() -> Path:
    from platformdirs import user_state_path
    return user_state_path("wallboard", appauthor=False) / "alerts.jsonl"


def transition_record(t: Transition) -> dict[str, object]:
    return {"at": round(t.at, 3), "kind": t.kind, "level": t.level, "previous": t.previous, "rule": t.rule,
            "figure": t.figure, "queue": t.queue, "queue_name": t.queue_name, "window": t.window,
            "value": t.value, "since": t.since, "text": t.text}


class AlertHistory:
    def __init__(self, path: Path | None, max_bytes: int = 1024 * 1024, backups: int = 5,
                 keep: int = 500) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.recent: deque[dict[str, object]] = deque(maxlen=keep)
        self.write_errors = 0
        self.written = 0

    def append(self, t: Transition) -> None:
        rec = transition_record(t)
        self.recent.append(rec)
        if self.path is None:
            return
        line = json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._rotate_if_needed(len(line.encode()))
            data = line.encode()
            with self.path.open("ab", buffering=0) as f:  # unbuffered: we see exactly what reached the file
                start = f.seek(0, os.SEEK_END)
                try:
                    if f.write(data) != len(data):
                        raise OSError(errno.ENOSPC, "short write")
                except OSError:
                    f.truncate(start)  # no torn line left for the next record to be glued to
                    raise
            self.written += 1
        except OSError as exc:
            self.write_errors += 1
            if self.write_errors == 1 or self.write_errors % 100 == 0:  # say so, without flooding the log
                log.warning("alert history not written (%d so far): %s", self.write_errors, exc)

    def _rotate_if_needed(self, incoming: int) -> None:
        p = self.path
        assert p is not None
        try:
            size = p.stat().st_size
        except FileNotFoundError:
            return
        if size + incoming <= self.max_bytes:
            return
        for i in range(self.backups - 1, 0, -1):
            src = p.with_name(f"{p.name}.{i}")
            if src.exists():
                os.replace(src, p.with_name(f"{p.name}.{i + 1}"))
        os.replace(p, p.with_name(f"{p.name}.1"))
