"""Load and soak, short forms (the long ones: `python -m wallboard.reliability --long`, and the slow tests)."""

from __future__ import annotations

import pytest

from wallboard.reliability import load, soak


def _passes(row) -> None:
    assert row.ok, row.notes
    assert row.data_lost == 0


def test_connection_flood_and_oversize_frames_are_bounded_and_spare_the_live_client() -> None:
    row = load.flood_and_oversize(idle=200, busy=60, oversize=10, bad_hello=10)
    _passes(row)
    assert row.detail["flood"]["busy_503"] == 60 and row.detail["flood"]["oversize_1009"] == 10
    assert row.detail["fds"][1] <= row.detail["fds"][0] + 2  # nothing left open by the flood


def test_soak_a_quarter_day_of_site_loses_nothing_and_leaks_nothing() -> None:
    row = soak.soak("site", 0.25)
    _passes(row)
    assert row.detail["fds_before_after"][1] <= row.detail["fds_before_after"][0]
    assert row.detail["threads_before_after"][1] <= row.detail["threads_before_after"][0]


@pytest.mark.slow
def test_many_clients_on_the_stress_scenario() -> None:
    row = load.many_clients(lean=100, full=2, seconds=10.0)
    _passes(row)
    assert row.detail["lean"]["at_final"] == 100


@pytest.mark.slow
def test_the_board_keeps_its_tick_at_the_stress_rate() -> None:
    _passes(load.gui_under_stress(12.0))


@pytest.mark.slow
def test_soak_a_day_of_large() -> None:
    _passes(soak.soak("large", 1.0))
