"""Security checks on the feed: constant-time token comparison, tokens never logged, failed-auth rate limit,
TLS with a private CA (made here with the openssl CLI), loopback by default."""

from __future__ import annotations

import argparse
import ast
import asyncio
import inspect
import io
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from wallboard.feed.client import FeedClient
from wallboard.reliability.harness import FAST, EngineSink, LoopThread, ServerThread
from wallboard.reliability.table import Row

CMD = "python -m wallboard.reliability --only security"


def token_compare_is_constant_time() -> list[str]:
    """Problems found in FeedServer._check_request: the token must only meet hmac.compare_digest."""
    from wallboard.feed import server

    tree = ast.parse(inspect.getsource(server.FeedServer._check_request).lstrip().replace("\n    ", "\n"))
    problems = []
    uses_digest = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "compare_digest":
            uses_digest = True
        if isinstance(node, ast.Compare):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            if names & {"token", "given", "value"}:
                problems.append(f"token compared with an operator: {ast.unparse(node)}")
    if not uses_digest:
        problems.append("hmac.compare_digest not used")
    return problems


async def _status(url: str, token: str | None, source_ip: str = "127.0.0.1") -> int:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    from wallboard.feed.logs import websockets_logger

    host, port = url.split("//")[1].strip("/").rsplit(":", 1)
    sock = socket.socket()
    sock.bind((source_ip, 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    try:
        async with connect(url, sock=sock, additional_headers=headers,
                           logger=websockets_logger("wallboard.feed.ws.client")):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def auth_and_logs(row: Row) -> int:
    """Wrong tokens until the limit, then 429 even for the right one; other addresses unaffected; nothing
    logged (DEBUG, every logger) contains a token. Returns the number of bad attempts made."""
    token = "tok-" + "Zq9" * 8
    wrong = "wrong-" + token[::-1]
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    attempts = 0
    loop = LoopThread()
    try:
        with ServerThread(token=token, auth_failures_max=10, auth_failures_window_s=60.0) as srv:
            codes = [loop.run(_status(srv.url, None))] + [loop.run(_status(srv.url, wrong)) for _ in range(9)]
            attempts += 10
            if set(codes) != {401}:
                row.fail(f"before the limit: {codes}")
            limited = [loop.run(_status(srv.url, wrong)), loop.run(_status(srv.url, token))]
            attempts += 1
            if limited != [429, 429]:
                row.fail(f"after 10 failures: {limited} (want 429 for wrong and right tokens)")
            other = [loop.run(_status(srv.url, token, "127.0.0.2")), loop.run(_status(srv.url, wrong, "127.0.0.2"))]
            attempts += 1
            if other != [101, 401]:
                row.fail(f"another address was affected by the lock-out: {other}")
            sink = EngineSink()
            client = FeedClient(srv.url, sink, token=wrong, **FAST)
            client.start()
            try:
                sink.wait_for(lambda s: "auth_failed" in s.states, what="auth_failed")
                client_detail = next(d for st, d in sink.transitions if st == "auth_failed")
            finally:
                client.stop()
            attempts += 1
            row.detail["auth"] = {"first_10": sorted(set(codes)), "after": limited, "other_address": other,
                                  "client_detail": client_detail}
    finally:
        loop.close()
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = captured.getvalue()
    leaks = text.count(token) + text.count(wrong)
    row.detail["log_lines"] = text.count("\n")
    if leaks:
        row.data_lost += leaks
        row.fail(f"a token appeared {leaks} times in the logs")
    if "auth_refused" not in text or "auth_limited" not in text:
        row.fail("refusals were not logged")
    return attempts


def make_private_ca(d: Path) -> dict[str, Path]:
    """A CA (CA:TRUE) and a server certificate for 127.0.0.1/localhost signed by it, plus a second,
    unrelated CA. openssl CLI only."""
    def sh(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    for ca in ("ca", "other-ca"):
        sh("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", f"{ca}.key",
           "-out", f"{ca}.pem", "-subj", f"/CN=wallboard test {ca}",
           "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    sh("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
       "-subj", "/CN=localhost")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                               "extendedKeyUsage=serverAuth\n")
    sh("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
       "-days", "2", "-out", "server.pem", "-extfile", "ext.cnf")
    return {"ca": d / "ca.pem", "other": d / "other-ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


def tls_private_ca(row: Row) -> None:
    from wallboard.core import protocol as p
    from wallboard.feed.settings import client_ssl_context, server_ssl_context

    if shutil.which("openssl") is None:
        row.fail("openssl CLI missing: TLS not checked")
        return
    with tempfile.TemporaryDirectory() as d:
        files = make_private_ca(Path(d))
        ctx = server_ssl_context(files["cert"], files["key"])
        with ServerThread(ssl_context=ctx) as srv:
            srv.publish([p.AgentState(ts=time.time(), agent_id="a1", state="available")])
            results = {}
            for name, ca in (("private CA", files["ca"]), ("system trust only", None),
                             ("another CA", files["other"])):
                sink = EngineSink()
                client = FeedClient(srv.url, sink, ssl_context=client_ssl_context(ca), **FAST)
                client.start()
                try:
                    if ca == files["ca"]:
                        sink.wait_seq(1)
                    else:
                        sink.wait_for(lambda s: "reconnecting" in s.states, what="refusal")
                    detail = next((d for st, d in sink.transitions if st == "reconnecting"), "")
                finally:
                    client.stop()
                results[name] = "connected" if sink.seq == 1 else ("refused: certificate" if
                                                                   "CERTIFICATE" in detail.upper() else detail)
        row.detail["tls"] = results
        if results["private CA"] != "connected" or any(v == "connected" for k, v in results.items()
                                                       if k != "private CA"):
            row.fail(f"TLS: {results}")


def loopback_by_default(row: Row) -> None:
    from wallboard.commands import serve
    from wallboard.feed.server import ServerConfig

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["--source", "synthetic:1"])
    with ServerThread() as srv:
        bound = [s.getsockname()[0] for s in srv.server._server.sockets]  # type: ignore[union-attr]
    row.detail["bind"] = {"ServerConfig.host": ServerConfig().host, "serve --host default": args.host,
                          "bound": bound}
    if ServerConfig().host != "127.0.0.1" or args.host != "127.0.0.1" or bound != ["127.0.0.1"]:
        row.fail(f"not loopback by default: {row.detail['bind']}")


def security() -> Row:
    row = Row("security: token, logs, auth rate limit, TLS private CA, loopback", command=CMD)
    t0 = time.monotonic()
    problems = token_compare_is_constant_time()
    for problem in problems:
        row.fail(problem)
    attempts = auth_and_logs(row)
    tls_private_ca(row)
    loopback_by_default(row)
    row.bad_inputs = attempts
    row.faults = (f"{attempts} bad-token handshakes (429 after 10/60 s per address); TLS refused without the "
                  f"private CA")
    row.load = "-"
    row.notes = row.notes or "compare_digest; tokens in DEBUG logs: 0; binds 127.0.0.1 by default"
    row.seconds = time.monotonic() - t0
    return row
