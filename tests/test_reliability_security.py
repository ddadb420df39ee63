"""Security: constant-time token comparison, no token in any log line, the failed-auth rate limit,
TLS with a private CA made by the openssl CLI, and loopback by default."""

from __future__ import annotations

import shutil

import pytest

from wallboard.reliability import security
from wallboard.reliability.table import Row


def test_token_comparison_is_constant_time() -> None:
    assert security.token_compare_is_constant_time() == []


def test_failed_authentications_are_rate_limited_per_address_and_tokens_never_logged() -> None:
    row = Row("auth")
    attempts = security.auth_and_logs(row)
    assert row.ok, row.notes
    assert row.data_lost == 0  # token occurrences in DEBUG logs
    assert attempts >= 12
    assert row.detail["auth"]["after"] == [429, 429]  # even the right token waits out the window
    assert row.detail["auth"]["other_address"] == [101, 401]
    assert "too many failed" in row.detail["auth"]["client_detail"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI to make a private CA")
def test_tls_with_a_private_ca_and_only_with_it() -> None:
    row = Row("tls")
    security.tls_private_ca(row)
    assert row.ok, row.notes
    assert row.detail["tls"] == {"private CA": "connected", "system trust only": "refused: certificate",
                                 "another CA": "refused: certificate"}


def test_server_binds_to_loopback_unless_told_otherwise() -> None:
    row = Row("bind")
    security.loopback_by_default(row)
    assert row.ok, row.notes
