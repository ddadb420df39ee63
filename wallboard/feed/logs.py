"""Structured (key=value) log lines for the feed, and a guard that keeps bearer tokens out of logs."""

from __future__ import annotations

import logging


def kv(event: str, **fields: object) -> str:
    """``event key=value ...``; values with spaces are quoted so lines stay machine-readable."""
    parts = [event]
    for k, v in fields.items():
        s = str(v)
        if not s or any(c in s for c in ' "='):
            s = '"' + s.replace('"', '\\"') + '"'
        parts.append(f"{k}={s}")
    return " ".join(parts)


class RedactAuthorization(logging.Filter):
    """websockets logs handshake headers at DEBUG level; blank the (Proxy-)Authorization header's value."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args and any(
                isinstance(a, str) and a.lower() in ("authorization", "proxy-authorization") for a in args):
            record.args = tuple("[redacted]" if i > 0 else a for i, a in enumerate(args))
        return True


def websockets_logger(name: str) -> logging.Logger:
    """A logger for websockets' own messages with the redaction filter attached (filters do not inherit)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactAuthorization) for f in logger.filters):
        logger.addFilter(RedactAuthorization())
    return logger
