"""Reaching the feed through an HTTP proxy ([feed] proxy): a real CONNECT proxy on 127.0.0.1 (port 0) in
front of a real FeedServer, and the real FeedClient."""

from __future__ import annotations

import asyncio
import base64
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from feed_support import EngineSink, LoopThread, ServerThread, reference_figures, self_signed, sim_events

from wallboard.core.board_config import BoardConfigError, FeedSettings, parse_board_config, proxy_for_log
from wallboard.feed.client import FeedClient

FAST = {"backoff_base_s": 0.05, "backoff_cap_s": 0.5}


class ConnectProxy:
    """An HTTP CONNECT proxy (what a site's web proxy does for websockets): records each CONNECT target and
    refuses with 407 when it wants credentials and is not given them."""

    def __init__(self, loop: LoopThread, credentials: tuple[str, str] | None = None) -> None:
        self.loop = loop
        self.targets: list[str] = []
        self.refused = 0
        self._auth = (f"Basic {base64.b64encode(':'.join(credentials).encode()).decode()}"
                      if credentials else None)
        self.server = loop.run(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _version = head[0].split(" ")
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
            if method != "CONNECT":
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                return
            if self._auth and headers.get("proxy-authorization") != self._auth:
                self.refused += 1
                writer.write(b'HTTP/1.1 407 Proxy Authentication Required\r\n'
                             b'Proxy-Authenticate: Basic realm="site"\r\nContent-Length: 0\r\n\r\n')
                return
            self.targets.append(target)
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                try:
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
                finally:
                    dst.close()

            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def proxy_loop():
    loop = LoopThread("proxy")
    yield loop
    loop.close()


def _feed(srv: ServerThread, n: int = 400) -> list:
    events = sim_events(n)
    srv.publish(events)
    return events


def test_the_board_reaches_its_feed_through_a_configured_http_proxy(proxy_loop: LoopThread) -> None:
    proxy = ConnectProxy(proxy_loop)
    with ServerThread() as srv:
        events = _feed(srv)
        target = f"127.0.0.1:{srv.port}"
        sink = EngineSink()
        client = FeedClient(srv.url, sink, proxy=proxy.url, **FAST)
        client.start()
        try:
            sink.wait_seq(len(events))
            assert client.status.state == "live"
            assert sink.figures(events[-1].ts) == reference_figures(events, events[-1].ts)
        finally:
            client.stop()
    assert proxy.targets == [target]
    assert any(f"via proxy {proxy.url}" in s.detail for s in sink.statuses)  # shown while connecting


def test_proxy_credentials_go_to_the_proxy_a_refusal_is_named_and_the_password_never_shows(
        proxy_loop: LoopThread, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    password = "pr0xy-" + "s3cr3t" * 3
    proxy = ConnectProxy(proxy_loop, credentials=("board", password))
    host_port = proxy.url.removeprefix("http://")
    with ServerThread() as srv:
        events = _feed(srv)
        for given, state, detail in ((None, "auth_failed", "the proxy requires credentials"),
                                     ("wrong", "auth_failed", "the proxy refused our credentials"),
                                     (password, "live", "")):
            url = f"http://board:{given}@{host_port}" if given else proxy.url
            sink = EngineSink()
            client = FeedClient(srv.url, sink, proxy=url, **FAST)
            client.start()
            try:
                sink.wait_state(state)
                if state == "live":
                    sink.wait_seq(len(events))
            finally:
                client.stop()
            assert detail in sink.statuses[-1].detail or detail in " ".join(s.detail for s in sink.statuses)
            shown = " ".join(s.detail for s in sink.statuses)
            if given:
                assert f"board:***@{host_port}" in shown and given not in shown
    assert proxy.refused >= 2 and proxy.targets
    assert password not in caplog.text and "wrong@" not in caplog.text
    assert base64.b64encode(f"board:{password}".encode()).decode() not in caplog.text


def test_system_proxy_follows_the_environment_and_the_default_ignores_it(
        proxy_loop: LoopThread, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = ConnectProxy(proxy_loop)
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", proxy.url)
    with ServerThread() as srv:
        events = _feed(srv, 50)
        for setting, through_proxy in ((None, 0), ("system", 1)):
            sink = EngineSink()
            client = FeedClient(srv.url, sink, proxy=setting, **FAST)
            client.start()
            try:
                sink.wait_seq(len(events))
            finally:
                client.stop()
            assert len(proxy.targets) == through_proxy, setting
        monkeypatch.setenv("no_proxy", "127.0.0.1")  # the environment's exceptions hold too
        sink = EngineSink()
        client = FeedClient(srv.url, sink, proxy="system", **FAST)
        client.start()
        try:
            sink.wait_seq(len(events))
        finally:
            client.stop()
        assert len(proxy.targets) == 1


@pytest.mark.parametrize(("value", "expected"), [
    ("", None), ("  ", None), ("system", "system"), ("http://proxy.site:3128", "http://proxy.site:3128"),
    ("https://u:p@proxy.site", "https://u:p@proxy.site"),
])
def test_proxy_setting_accepted(value: str, expected: str | None) -> None:
    assert FeedSettings(proxy=value).proxy == expected


@pytest.mark.parametrize(("value", "message"), [
    ("socks5://proxy.site:1080", "SOCKS proxies are not supported"),
    ("proxy.site:3128", "http:// or https:// proxy URL expected"),
    ("http://:3128", "names no host"),
    ("http://proxy.site:3128/path", "without a path"),
    ("http://proxy.site:99999", "not a proxy URL"),
    ("http://user@proxy.site:3128", "no password"),
])
def test_a_bad_proxy_setting_names_the_field(value: str, message: str) -> None:
    with pytest.raises(BoardConfigError) as err:
        parse_board_config(f'[feed]\nproxy = "{value}"\n')
    text = str(err.value)
    assert "feed.proxy" in text and message in text


def test_proxy_for_log_hides_the_password() -> None:
    assert proxy_for_log("http://u:secret@proxy.site:3128") == "http://u:***@proxy.site:3128"
    assert proxy_for_log("http://proxy.site:3128") == "http://proxy.site:3128"
    assert proxy_for_log("http://u:secret@[2001:db8::1]:3128") == "http://u:***@[2001:db8::1]:3128"
    assert proxy_for_log("system") == "system" and proxy_for_log(None) is None


def test_tail_refuses_a_bad_proxy_before_connecting() -> None:
    out = subprocess.run([sys.executable, "-m", "wallboard", "tail", "ws://127.0.0.1:9/", "--proxy",
                          "socks5://proxy.site:1080", "--duration", "1"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--proxy" in out.stderr and "SOCKS proxies are not supported" in out.stderr


def test_a_proxy_websockets_cannot_use_shows_incompatible_without_its_password() -> None:
    # (FeedClient used directly: the board's config refuses such a setting before it gets here)
    with ServerThread() as srv:
        sink = EngineSink()
        client = FeedClient(srv.url, sink, proxy="bogus://u:hunter2@proxy.invalid:1", **FAST)
        client.start()
        try:
            sink.wait_state("incompatible")
        finally:
            client.stop()
    shown = " ".join(s.detail for s in sink.statuses)
    assert "unusable proxy setting: scheme bogus isn't supported" in shown and "hunter2" not in shown


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI to make a certificate")
def test_a_wss_feed_through_the_proxy_keeps_tls_end_to_end(proxy_loop: LoopThread, tmp_path: Path) -> None:
    """The proxy only tunnels: TLS is between the board and the feed, with the feed's certificate checked."""
    from wallboard.core import protocol as p
    from wallboard.feed.settings import client_ssl_context, server_ssl_context

    proxy = ConnectProxy(proxy_loop)
    cert, key = self_signed(tmp_path)
    with ServerThread(ssl_context=server_ssl_context(cert, key), token="t") as srv:
        srv.push([p.AgentState(ts=time.time(), agent_id="a1", state="available")])
        sink = EngineSink()
        client = FeedClient(srv.url, sink, token="t", ssl_context=client_ssl_context(cert), proxy=proxy.url,
                            **FAST)
        client.start()
        try:
            sink.wait_seq(1)
        finally:
            client.stop()
        untrusting = EngineSink()  # the same tunnel, without the feed's CA: refused, and said why
        client = FeedClient(srv.url, untrusting, token="t", ssl_context=client_ssl_context(None), proxy=proxy.url,
                            **FAST)
        client.start()
        try:
            untrusting.wait_for(lambda s: any("CERTIFICATE_VERIFY_FAILED" in st.detail for st in s.statuses))
        finally:
            client.stop()
    assert len(proxy.targets) >= 2 and untrusting.snapshots == 0
