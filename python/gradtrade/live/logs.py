"""Structured logs of the trader: text lines or JSON lines, every message scrubbed.

Invariant: whatever a log call formats passes through ``errors.scrub`` (a ``name=value``
credential is replaced by ``<redacted>``) before it is written, in both formats; the JSON form
is one object per line with ``ts`` (UTC ISO 8601), ``level``, ``logger`` and ``msg`` (plus
``exc`` when an exception is attached), for log shippers.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Literal

import orjson

from gradtrade.errors import scrub


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
        out = {
            "ts": ts,
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        if record.exc_info:
            out["exc"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(out).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure_logging(fmt: Literal["text", "json"], level: str = "INFO") -> logging.Handler:
    """One stderr handler on the root logger in the chosen format; returns it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


__all__ = ["JsonFormatter", "TextFormatter", "configure_logging"]
