"""The feed server behind a reverse proxy: X-Forwarded-For from a trusted proxy names the client for the
limit on failed authentications; from anyone else it is ignored. Real FeedServer on 127.0.0.1 (port 0)."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from feed_support import LoopThread, ServerThread
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from wallboard.feed.forwarded import client_address, parse_trusted_proxies

TOKEN = "tok-" + "f0rw4rd" * 4


@pytest.mark.parametrize(("peer", "xff", "trusted", "expected"), [
    ("10.0.0.5", ["203.0.113.7"], [], "10.0.0.5"),  # no trusted proxy: the header is ignored
    ("192.0.2.9", ["203.0.113.7"], ["10.0.0.0/8"], "192.0.2.9"),  # from an untrusted peer: ignored
    ("10.0.0.5", ["203.0.113.7"], ["10.0.0.5"], "203.0.113.7"),
    ("10.0.0.5", [], ["10.0.0.5"], "10.0.0.5"),  # a trusted proxy that says nothing
    # The client may send its own header: only the hops the trusted proxies added count (from the right).
    ("10.0.0.5", ["6.6.6.6, 203.0.113.7"], ["10.0.0.5"], "203.0.113.7"),
    ("10.0.0.5", ["203.0.113.7, 10.0.0.9"], ["10.0.0.0/8"], "203.0.113.7"),  # two proxies in a row
    ("10.0.0.5", ["203.0.113.7", "10.0.0.9"], ["10.0.0.0/8"], "203.0.113.7"),  # ... in two headers
    ("10.0.0.5", ["10.0.0.7"], ["10.0.0.0/8"], "10.0.0.7"),  # every hop trusted: the first
    ("10.0.0.5", ["not-an-address"], ["10.0.0.5"], "10.0.0.5"),  # garbled: the peer, not a guess
    ("10.0.0.5", ["203.0.113.7:4711"], ["10.0.0.5"], "203.0.113.7"),
    ("10.0.0.5", ["[2001:db8::7]:4711"], ["10.0.0.5"], "2001:db8::7"),
    ("::ffff:10.0.0.5", ["203.0.113.7"], ["10.0.0.5"], "203.0.113.7"),  # a dual-stack socket's IPv4 peer
])
def test_client_address(peer: str, xff: list[str], trusted: list[str], expected: str) -> None:
    assert client_address(peer, xff, parse_trusted_proxies(trusted)) == expected


def test_a_bad_trusted_proxy_is_named() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300'"):
        parse_trusted_proxies(["10.0.0.0/8", "10.0.0.300"])
    out = subprocess.run([sys.executable, "-m", "wallboard", "serve", "--source", "sim:site",
                          "--trusted-proxy", "proxy.site", "--port", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--trusted-proxy" in out.stderr and "'proxy.site'" in out.stderr


def _handshake(loop: LoopThread, url: str, token: str, forwarded_for: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for

    async def go() -> int:
        try:
            async with connect(url, additional_headers=headers):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code
    return loop.run(go())


@pytest.mark.parametrize("trusted", [True, False])
def test_the_auth_limit_counts_per_forwarded_client_only_behind_a_trusted_proxy(
        trusted: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wallboard.feed.server")
    loop = LoopThread()
    try:
        with ServerThread(token=TOKEN, auth_failures_max=3,
                          trusted_proxies=("127.0.0.1",) if trusted else ()) as srv:
            for _ in range(3):  # one board behind the proxy with a wrong token
                assert _handshake(loop, srv.url, "wrong", "203.0.113.7") == 401
            assert _handshake(loop, srv.url, TOKEN, "203.0.113.7") == 429  # locked out, right token or not
            # Another board behind the same proxy: locked out too only when the header is not believed.
            assert _handshake(loop, srv.url, TOKEN, "203.0.113.8") == (101 if trusted else 429)
            # A client that forges the header cannot dodge the limit of its own address.
            assert _handshake(loop, srv.url, TOKEN, None) == (101 if trusted else 429)
    finally:
        loop.close()
    refusals = [m for r in caplog.records if (m := r.getMessage()).startswith("auth_refused ")]
    assert len(refusals) == 3
    assert all(("203.0.113.7 via 127.0.0.1:" in m) == trusted for m in refusals)
    assert TOKEN not in caplog.text
