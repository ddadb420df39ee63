"""The simulator and the metrics engine together against queueing theory (Erlang C, M/M/N).

λ = 200 calls/h, exponential handle time with mean 180 s (A = 10 Erlangs), N identical agents always
logged in, no ringing, no wrap-up, no breaks, no abandonment. Reference values:
../shared/reference/metrics-and-queueing.md.

Method. Each replication is one seed simulating 25 h from 00:00 UTC; the first hour (an empty centre
filling up) is excluded by reading the figures with ``wallboard metrics --reset 01:00 --at <next day
00:59:59>``, so each replication is one 24 h "today" window of ~4,800 calls. Service level (answered
within 20 s of offered, the default formula; no abandons, so offered = answered apart from the few calls
still waiting at the end) and ASA come from ``wallboard metrics --json``. P(wait > 0) is not a published
figure (thresholds are whole seconds ≥ 1), so it is counted from the same recording: answered calls in the
window whose answer ts equals their queue ts.

Tolerances. Waits in a queue are strongly autocorrelated (a busy spell delays hundreds of calls), so the
spread of a figure between replications was measured, not assumed: over 100 seeds of 24 h, the per-day
standard deviation σ was P(wait) 0.049 / 0.041, SL 0.051 / 0.039 and ASA 12.4 s / 5.0 s for N = 12 / 13
(ASA converges slowly, as the reference warns). The mean of k independent seeds has standard error σ/√k;
each check allows 4 standard errors (a correct simulator fails one of the 6 checks with probability
≈ 4·10⁻⁴; the seeds are fixed, so the outcome itself is deterministic). Fast test: k = 8 (≈ 38,000 calls
per N), tolerances P(wait) ±0.069/±0.058, SL ±0.072/±0.055, ASA ±17.5 s/±7.1 s: enough to tell N = 12
from N = 11 or 13 on every figure. Slow test: k = 100 (≈ 480,000 calls per N), tolerances ±0.020/±0.016,
±0.020/±0.016, ±5.0 s/±2.0 s.

Two more figures ride along: AHT (exponential mean 180 s; per-day σ = 180/√4,800 ≈ 2.6 s, measured 2.4 /
2.9 s) and occupancy (A/N = 83.3 % / 76.9 %; per-day σ measured 1.7 / 1.9 points, 1.9 used for both).

Erlang A (M/M/N+M, exponential patience): N = 10 (A = 10 Erlangs: unstable without abandonment), mean
patience 300 s. Reference values come from solving the birth–death chain numerically (an exact method,
independent of the simulator): P(abandon) = θ·E[queue length]/λ = 0.1094 and mean wait of all calls
E[queue length]/λ = 32.83 s (Little). Through ``wallboard metrics --short-abandon 0``: abandon_rate_pct,
and the mean wait of all calls from asa_s, ata_s and the counts. Measured per-day σ over 100 seeds: 0.0079
and 2.73 s; with k = 8 seeds, 4 standard errors are ±0.0112 and ±3.9 s.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import mean

import pytest

from wallboard.cli import main
from wallboard.recording import read_events

START = "2026-01-01T00:00:00+00:00"
AT = "2026-01-02T00:59:59+00:00"  # 24 h after the 01:00 reset, less one second
WINDOW_START = 1767229200.0  # 2026-01-01T01:00:00Z
WINDOW_END = 1767315599.0
FIGURES = ("P(wait)", "SL(20 s)", "ASA", "AHT", "occupancy %")

# Reference table (metrics-and-queueing.md): N -> (P(wait), SL(20 s), ASA s, AHT s, occupancy %)
REFERENCE = {12: (0.4494, 0.6402, 40.44, 180.0, 1000 / 12), 13: (0.2853, 0.7956, 17.12, 180.0, 1000 / 13)}
# Per-day standard deviations measured over 100 seeds (40 for occupancy; see the module docstring).
SIGMA = {12: (0.049, 0.051, 12.4, 2.6, 1.9), 13: (0.041, 0.039, 5.0, 2.6, 1.9)}

SCENARIO = """\
name = "mmn"
description = "M/M/{n}: the Erlang C textbook case (Erlang A with patience)"
timezone = "UTC"

[[queues]]
id = "mmn"
rate_per_hour = 200
sl_threshold_s = 20
talk = {{ kind = "exponential", mean = 180 }}
{patience}
# no wrap-up, no hold, no timeout

[[teams]]
name = "textbook"
agents = {n}
queues = ["mmn"]
# no shift (logged in all run), no breaks, no ringing
"""


def erlang_c(lam_per_h: float, aht_s: float, n: int, t_s: float) -> tuple[float, float, float]:
    """(P(wait), SL(t), ASA) by the formulas in the reference."""
    a = lam_per_h / 3600 * aht_s
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    c = n * b / (n - a * (1 - b))
    return c, 1 - c * math.exp(-(n - a) * t_s / aht_s), c * aht_s / (n - a)


def erlang_a(lam_per_h: float, aht_s: float, n: int, patience_s: float) -> tuple[float, float]:
    """(P(abandon), mean wait of all calls) of M/M/N+M from its birth–death chain, truncated far out."""
    lam, mu, theta = lam_per_h / 3600, 1 / aht_s, 1 / patience_s
    weights, w = [1.0], 1.0
    for k in range(1, 3000):
        w *= lam / (min(k, n) * mu + max(k - n, 0) * theta)
        weights.append(w)
    total = sum(weights)
    queue_len = sum((k - n) * x for k, x in enumerate(weights) if k > n) / total
    return theta * queue_len / lam, queue_len / lam


def test_reference_table_is_erlang_c() -> None:
    for n, (pw, sl, asa, _, _) in REFERENCE.items():
        c, s, w = erlang_c(200, 180, n, 20)
        assert c == pytest.approx(pw, abs=1e-4)
        assert s == pytest.approx(sl, abs=1e-4)
        assert w == pytest.approx(asa, abs=0.01)


def test_erlang_a_chain_reduces_to_erlang_c() -> None:
    """With callers almost infinitely patient the chain gives Erlang C's ASA (a check of erlang_a itself)."""
    p_abandon, wait = erlang_a(200, 180, 13, 1e9)
    assert p_abandon < 1e-6
    assert wait == pytest.approx(REFERENCE[13][2], abs=0.01)


def _figures(tmp_path: Path, capsys: pytest.CaptureFixture[str], n: int, seed: int, patience: str,
             *metrics_args: str) -> tuple[dict, dict, Path]:
    """Simulate 25 h, return (total.today, agents) from `wallboard metrics --json` and the recording."""
    scenario = tmp_path / f"mmn{n}.toml"
    scenario.write_text(SCENARIO.format(n=n, patience=patience), encoding="utf-8")
    rec = tmp_path / f"mmn{n}-{seed}.jsonl"
    assert main(["simulate", str(scenario), "--seed", str(seed), "--start", START, "--duration", "25h",
                 "--fast", "--record", str(rec)]) == 0
    capsys.readouterr()
    assert main(["metrics", str(rec), "--json", "--reset", "01:00", "--at", AT, *metrics_args]) == 0
    out = json.loads(capsys.readouterr().out)
    return out["total"]["today"], out["agents"], rec


def _day(tmp_path: Path, capsys: pytest.CaptureFixture[str], n: int, seed: int) -> tuple[float, ...]:
    today, agents, rec = _figures(tmp_path, capsys, n, seed, "", "--sl-threshold", "20")
    assert today["abandoned"] == 0 and today["dequeued"] == 0
    assert today["answered"] > 4000

    queued: dict[str, float] = {}
    answered = waited = 0
    for e in read_events(rec):
        if e.type == "call_queued":
            queued[e.call_id] = e.ts
        elif e.type == "call_answered" and WINDOW_START <= e.ts <= WINDOW_END:
            answered += 1
            waited += e.ts > queued[e.call_id]
    assert answered == today["answered"]  # the same calls the engine counted
    rec.unlink()
    return (waited / answered, today["service_level_pct"] / 100, today["asa_s"], today["aht_s"],
            agents["occupancy_pct"]["today"])


def _check(tmp_path: Path, capsys: pytest.CaptureFixture[str], n: int, seeds: range) -> None:
    days = [_day(tmp_path, capsys, n, s) for s in seeds]
    k = len(days)
    for i, name in enumerate(FIGURES):
        measured = mean(d[i] for d in days)
        tolerance = 4 * SIGMA[n][i] / math.sqrt(k)
        print(f"N={n} {name}: {measured:.4f} (Erlang C {REFERENCE[n][i]:.4f}, ±{tolerance:.4f}, {k} seeds)")
        assert measured == pytest.approx(REFERENCE[n][i], abs=tolerance), (
            f"N={n} {name}: measured {measured:.4f} over {k} seeds, "
            f"Erlang C {REFERENCE[n][i]}, ±{tolerance:.4f}")


@pytest.mark.parametrize("n", [12, 13])
def test_mmn_matches_erlang_c(tmp_path: Path, capsys: pytest.CaptureFixture[str], n: int) -> None:
    _check(tmp_path, capsys, n, range(1, 9))


@pytest.mark.slow
@pytest.mark.parametrize("n", [12, 13])
def test_mmn_matches_erlang_c_precisely(tmp_path: Path, capsys: pytest.CaptureFixture[str], n: int) -> None:
    _check(tmp_path, capsys, n, range(1000, 1100))


def test_mmn_with_patience_matches_erlang_a(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n, k = 10, 8
    p_abandon, wait_all = erlang_a(200, 180, n, 300)
    assert p_abandon == pytest.approx(0.1094, abs=1e-4) and wait_all == pytest.approx(32.83, abs=0.01)
    rates, waits = [], []
    for seed in range(1, k + 1):
        today, _, rec = _figures(tmp_path, capsys, n, seed, 'patience = { kind = "exponential", mean = 300 }',
                                 "--short-abandon", "0")
        rec.unlink()
        assert today["dequeued"] == 0 and today["short_abandoned"] == 0
        rates.append(today["abandon_rate_pct"] / 100)
        calls = today["answered"] + today["abandoned"]
        waits.append((today["asa_s"] * today["answered"] + today["ata_s"] * today["abandoned"]) / calls)
    tol_rate, tol_wait = 4 * 0.0079 / math.sqrt(k), 4 * 2.73 / math.sqrt(k)
    print(f"Erlang A N={n}: P(abandon) {mean(rates):.4f} (chain {p_abandon:.4f}, ±{tol_rate:.4f}),"
          f" mean wait {mean(waits):.2f} s (chain {wait_all:.2f}, ±{tol_wait:.2f})")
    assert mean(rates) == pytest.approx(p_abandon, abs=tol_rate)
    assert mean(waits) == pytest.approx(wait_all, abs=tol_wait)
