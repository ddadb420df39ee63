"""One row per check: what load it held, what faults it survived, how many bad inputs it tried, data lost."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field


@dataclass
class Row:
    check: str
    load: str = "-"  # load held, e.g. "200 clients × 1,200 ev/s"
    faults: str = "-"  # faults survived, e.g. "12 cuts mid-frame"
    bad_inputs: int = 0  # generated/hostile inputs tried
    data_lost: int = 0  # events or figures lost or changed; must be 0
    ok: bool = True
    notes: str = ""
    command: str = ""
    seconds: float = 0.0
    detail: dict = field(default_factory=dict)

    def fail(self, why: str) -> None:
        self.ok = False
        self.notes = (self.notes + "; " if self.notes else "") + "FAIL: " + why


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self.t0


def markdown(rows: list[Row]) -> str:
    head = ("| check | load held | faults survived | bad inputs tried | data lost | result | time | command |\n"
            "|---|---|---|---:|---:|---|---:|---|\n")
    lines = []
    for r in rows:
        result = "pass" if r.ok and r.data_lost == 0 else "FAIL"
        notes = f" ({r.notes})" if r.notes else ""
        lines.append(f"| {r.check} | {r.load} | {r.faults} | {r.bad_inputs:,} | {r.data_lost} | {result}{notes} "
                     f"| {r.seconds:.0f} s | `{r.command}` |")
    return head + "\n".join(lines) + "\n"


def to_json(rows: list[Row]) -> str:
    return json.dumps([asdict(r) for r in rows], indent=1)
