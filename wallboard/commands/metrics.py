"""`wallboard metrics RECORDING`: the figures of a recording as they stood at a given time."""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

NAME = "metrics"
HELP = "compute the figures of a recording (JSON Lines, .jsonl or .jsonl.gz)"


def parse_time(text: str) -> float:
    """Epoch seconds, or ISO 8601 (a time without an offset is taken as UTC)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time or epoch seconds: {text!r}") from exc
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def add_arguments(p: argparse.ArgumentParser) -> None:
    from wallboard.core.metrics_config import SL_FORMULAS

    p.add_argument("recording", type=Path, help="recording file (.jsonl or .jsonl.gz)")
    p.add_argument("--at", type=parse_time, metavar="TIME",
                   help="figures as they stood at TIME (ISO 8601 or epoch); default: the last event's ts")
    p.add_argument("--sl-threshold", type=int, metavar="S",
                   help="service-level threshold in whole seconds for every queue (overrides queue_info goals)")
    p.add_argument("--sl-formula", choices=SL_FORMULAS, default="answered_of_offered")
    p.add_argument("--short-abandon", type=int, default=5, metavar="S",
                   help="abandons with a wait under S seconds are short (0 disables; default 5)")
    p.add_argument("--rolling-minutes", type=int, default=30, metavar="N")
    p.add_argument("--timezone", default="UTC", metavar="TZ", help="site time zone for the daily reset")
    p.add_argument("--reset", default="00:00", metavar="HH:MM", help="daily reset time (default 00:00)")
    p.add_argument("--json", action="store_true", help="print one JSON object (docs/metrics.md)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any line was rejected")


def _config(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from wallboard.core.metrics_config import MetricsConfig, ServiceLevelGoal

    try:
        kwargs: dict[str, Any] = {}
        if args.sl_threshold is not None:
            kwargs["default_goal"] = ServiceLevelGoal(threshold_s=args.sl_threshold)
            kwargs["use_feed_goals"] = False
        return MetricsConfig(sl_formula=args.sl_formula, short_abandon_s=args.short_abandon,
                             rolling_minutes=args.rolling_minutes, timezone=args.timezone,
                             reset_time=args.reset, **kwargs)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(x) for x in err["loc"]) or "option"
        raise SystemExit(f"wallboard metrics: {field}: {err['msg']}") from None


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 3) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round(v) for v in obj]
    return obj


def compute(recording: Path, config: Any, at: float | None) -> tuple[dict[str, Any], list[Any]]:
    """Feed a recording into an engine up to ``at``; return (figures, rejected lines)."""
    from wallboard.core.engine import MetricsEngine
    from wallboard.recording import read_chunks

    engine = MetricsEngine(config)
    rejected: list[Any] = []
    last_ts: float | None = None
    for chunk in read_chunks(recording):
        rejected.extend(chunk.rejected)
        events = chunk.events if at is None else [e for e in chunk.events if e.ts <= at]
        engine.apply_many(events)
        if events:
            last_ts = max(last_ts or 0.0, max(e.ts for e in events))
    now = at if at is not None else (last_ts if last_ts is not None else 0.0)
    figures = engine.figures(now)
    figures["events_applied"] = engine.events_applied
    figures["rejected_lines"] = len(rejected)
    return figures, rejected


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.1f}{unit}"
    return f"{v}{unit}"


def render_table(f: dict[str, Any]) -> str:
    from datetime import UTC

    cols = [("waiting", "waiting", ""), ("longest", "longest_wait_s", "s"), ("offered", "offered", ""),
            ("answered", "answered", ""), ("abandoned", "abandoned", ""), ("short ab.", "short_abandoned", ""),
            ("dequeued", "dequeued", ""), ("ASA", "asa_s", "s"), ("ATA", "ata_s", "s"), ("AHT", "aht_s", "s"),
            ("abandon %", "abandon_rate_pct", ""), ("SL %", "service_level_pct", ""),
            ("SL goal", None, "")]
    at = datetime.fromtimestamp(f["at"], UTC).isoformat(timespec="seconds")
    lines = [f"Figures at {at} ({f['at']})   service level: {f['sl_formula_text']}", ""]
    header = ["queue", "window"] + [c[0] for c in cols]
    rows = [header]
    entries = [("ALL", f["total"])] + [(q, v) for q, v in f["queues"].items()]
    for name, per in entries:
        for window in ("today", "rolling"):
            w = per[window]
            goal = (f"{_fmt(w['sl_target_pct'])}% ≤ {w['sl_threshold_s']}s"
                    if w["sl_threshold_s"] is not None else "mixed")
            rows.append([name, window] + [goal if key is None else _fmt(w[key], unit) for _, key, unit in cols])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        lines.append("  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(r)))
    ag = f["agents"]
    states = ", ".join(f"{s} {n}" for s, n in ag["by_state"].items())
    occ = ag["occupancy_pct"]
    lines += ["", f"Agents: {states}",
              f"Occupancy: today {_fmt(occ['today'], '%')}, rolling {_fmt(occ['rolling'], '%')}"]
    if f["anomalies"]:
        lines.append("Anomalies: " + ", ".join(f"{k} {v}" for k, v in f["anomalies"].items()))
    lines.append(f"Events applied: {f['events_applied']}, rejected lines: {f['rejected_lines']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not args.recording.exists():
        print(f"wallboard metrics: no such file: {args.recording}", file=sys.stderr)
        return 2
    config = _config(args)
    figures, rejected = compute(args.recording, config, args.at)
    for r in rejected:
        print(f"{args.recording}: {r.describe()}", file=sys.stderr)
    if rejected:
        print(f"{args.recording}: {len(rejected)} line(s) rejected", file=sys.stderr)
    if args.json:
        print(json.dumps(_round(figures), indent=2))
    else:
        print(render_table(figures))
    return 1 if args.strict and rejected else 0
