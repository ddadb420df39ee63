"""``python -m wallboard.reliability [--long] [--only NAME ...] [--markdown FILE] [--json]``

Runs the checks and prints one table row per check (docs/reliability.md). Exit status 1 when any check
fails or loses data. The short set takes a few minutes on 2 cores; ``--long`` raises the fuzzing volume to
over a million inputs and soaks a day of `large` (``--soak-days 7`` for the full week, ~25 min here).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from wallboard.reliability.table import Row, markdown


def checks(long: bool, soak_scenario: str | None, soak_days: float | None) -> dict[str, Callable[[], Row]]:
    from wallboard.reliability import faults, hostile, load, security, soak

    def pick(short: Any, full: Any) -> Any:  # the short-mode size, the long-mode size
        return full if long else short

    scen = soak_scenario or pick("site", "large")
    days = soak_days if soak_days is not None else pick(1.0, 1.0)
    return {
        "protocol": lambda: hostile.fuzz_protocol(pick(20_000, 400_000), pick(1_000, 20_000)),
        "frames": lambda: hostile.fuzz_frames(pick(20_000, 300_000), pick(1_000, 20_000)),
        "recordings": lambda: hostile.fuzz_recordings(pick(3_000, 60_000)),
        "config": lambda: hostile.fuzz_config(pick(20_000, 250_000), pick(1_000, 20_000)),
        "kill": lambda: faults.server_killed(pick(2, 5), pick(20_000, 60_000)),
        "cut": lambda: faults.cut_mid_frame(pick(20_000, 100_000), pick(10, 60)),
        "half_open": lambda: faults.half_open(pick(3, 10)),
        "slow": lambda: faults.slow_consumer(pick(6_000, 20_000)),
        "clock": lambda: faults.clock_steps(),
        "stall": lambda: faults.source_stall(pick(12, 60)),
        "disk": lambda: faults.disk_full(),
        "alert_log": lambda: faults.alert_log_full(),
        "clients": lambda: load.many_clients(pick(100, 300), 2, pick(10.0, 30.0)),
        "flood": lambda: load.flood_and_oversize(pick(500, 2000), pick(200, 1000), pick(20, 100), pick(20, 100)),
        "gui": lambda: load.gui_under_stress(pick(12.0, 60.0)),
        "security": security.security,
        "soak": lambda: soak.soak(scen, days),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m wallboard.reliability", description=__doc__.splitlines()[0])
    ap.add_argument("--long", action="store_true", help="the long set (fuzzing volume, a day of `large`)")
    ap.add_argument("--only", action="append", metavar="NAME", help="run only these checks (repeatable)")
    ap.add_argument("--soak-scenario", help="scenario for the soak (short: site, long: large)")
    ap.add_argument("--soak-days", type=float, help="simulated days for the soak (default 1)")
    ap.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--list", action="store_true", help="list the checks and exit")
    args = ap.parse_args(argv)
    table = checks(args.long, args.soak_scenario, args.soak_days)
    if args.list:
        print("\n".join(table))
        return 0
    names = [n for arg in (args.only or []) for n in arg.split(",")] or list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        ap.error(f"unknown check(s): {', '.join(unknown)} (see --list)")
    mode = "--long " if args.long else ""
    rows: list[Row] = []
    for name in names:
        t0 = time.monotonic()
        try:
            row = table[name]()
        except Exception as exc:  # a check that breaks is a failed row, and the others still run
            row = Row(name)
            row.fail(f"{type(exc).__name__}: {exc}"[:300])
            row.seconds = time.monotonic() - t0
        row.command = row.command.replace("python -m wallboard.reliability ", f"python -m wallboard.reliability {mode}")
        rows.append(row)
        status = "pass" if row.ok and row.data_lost == 0 else "FAIL"
        print(f"{status} {name}: {row.load} | {row.faults} | bad inputs {row.bad_inputs:,} | data lost "
              f"{row.data_lost} | {row.seconds:.0f} s {('| ' + row.notes) if row.notes else ''}", flush=True)
    text = markdown(rows)
    print("\n" + text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(text)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=1, default=str))
    return 0 if all(r.ok and r.data_lost == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
