"""Command-line plumbing shared by `wallboard serve` and `wallboard tail`: the token and TLS contexts."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

TOKEN_ENV = "WALLBOARD_TOKEN"


class SettingsError(ValueError):
    pass


def resolve_token(token: str | None, token_file: str | Path | None) -> str | None:
    """``--token``, else ``--token-file`` (first line, stripped), else $WALLBOARD_TOKEN, else None."""
    if token:
        return token
    if token_file:
        try:
            text = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"cannot read token file {token_file}: {exc.strerror or exc}") from exc
        if not text:
            raise SettingsError(f"token file {token_file} is empty")
        return text.splitlines()[0].strip()
    return os.environ.get(TOKEN_ENV) or None


def server_ssl_context(cert: str | Path | None, key: str | Path | None) -> ssl.SSLContext | None:
    if not cert and not key:
        return None
    if not cert:
        raise SettingsError("--tls-key needs --tls-cert")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key) if key else None)
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(f"cannot load the TLS certificate/key: {exc}") from exc
    return ctx


def client_ssl_context(cafile: str | Path | None) -> ssl.SSLContext:
    """System trust store, plus ``cafile`` (e.g. a site's own CA or a self-signed server certificate)."""
    ctx = ssl.create_default_context()
    if cafile:
        try:
            ctx.load_verify_locations(str(cafile))
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(f"cannot load CA file {cafile}: {exc}") from exc
    return ctx
