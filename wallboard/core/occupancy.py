"""Occupancy: busy agent-time over busy plus available agent-time, within a window.

Agent-time is integrated exactly as a piecewise-linear function of time. Each state change records
(t, busy_ms so far, available_ms so far, busy agents, available agents); the integral at any time x
in the kept range is the last point at or before x plus the agent counts times the elapsed time.
Only the points of the rolling window (plus one before it) are kept, so memory follows the window,
not the day.
"""

from __future__ import annotations

from collections import deque

BUSY_STATES = frozenset({"on_call", "wrap_up"})
AVAILABLE_STATES = frozenset({"available"})


class OccupancyIntegral:
    __slots__ = ("points",)

    def __init__(self) -> None:
        # (t_ms, busy_ms, avail_ms, n_busy, n_avail)
        self.points: deque[tuple[int, int, int, int, int]] = deque([(0, 0, 0, 0, 0)])

    def change(self, t_ms: int, d_busy: int, d_avail: int) -> None:
        t0, b, a, nb, na = self.points[-1]
        t = max(t_ms, t0)  # an out-of-order change is applied at the latest known time
        b += nb * (t - t0)
        a += na * (t - t0)
        if t == t0 and len(self.points) > 1:
            self.points[-1] = (t, b, a, nb + d_busy, na + d_avail)
        else:
            self.points.append((t, b, a, nb + d_busy, na + d_avail))

    def at(self, x_ms: int) -> tuple[int, int]:
        """(busy_ms, avail_ms) integrated up to ``x_ms``."""
        pts = self.points
        last = pts[-1]
        if x_ms >= last[0]:
            p = last
        else:
            p = pts[0]
            for q in pts:  # the sought point sits near the head: queries look at the window start
                if q[0] > x_ms:
                    break
                p = q
        t0, b, a, nb, na = p
        dt = max(0, x_ms - t0)
        return b + nb * dt, a + na * dt

    def prune(self, keep_from_ms: int) -> None:
        pts = self.points
        while len(pts) > 1 and pts[1][0] <= keep_from_ms:
            pts.popleft()


def occupancy_pct(busy_ms: int, avail_ms: int) -> float | None:
    total = busy_ms + avail_ms
    return None if total <= 0 else 100.0 * busy_ms / total
