"""Credentials never reach a log record or an error text of the connector.

Two layers, both applied to the whole text:

* :func:`gradtrade.errors.scrub` replaces the value of every ``name=value`` / ``name: value``
  pair whose name is a credential's (``signature``, ``X-MBX-APIKEY``, ``apiKey``, ``secret``...),
  in the forms URLs, headers, dicts, JSON and YAML give them, and leaves other text unchanged;
* :func:`redact` also replaces every occurrence of the configured key and secret themselves,
  wherever they stand (a secret pasted into the wrong field, a header printed in another form).

Invariant, once :func:`install_log_filter` ran (``make_exchange`` runs it for every ccxt client):
every record logged to the ccxt, aiohttp or websockets loggers is redacted before any handler
sees it: its message, its arguments and its traceback text. With DEBUG logging ccxt logs each
request's headers (``X-MBX-APIKEY``) and URL or body (``signature=``); those lines still appear,
with ``<redacted>`` in place of the values. A filter on a logger does not see records of its
child loggers, so it is installed on every logger of those libraries that exists, and on the
logger each ccxt client logs to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from gradtrade.errors import scrub

REDACTED = "<redacted>"
# shorter values are too likely to be ordinary text (a test key of "k" would blank every "k")
MIN_SECRET_LEN = 6
LIBRARY_LOGGERS = ("ccxt", "aiohttp", "websockets")
# created lazily by those libraries; listed so the filter is on them before their first record
KNOWN_LOGGERS = (
    "ccxt.base.exchange",
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
    "websockets.client",
    "websockets.server",
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` scrubbed of credential pairs and of every literal occurrence of ``secrets``."""
    for secret in sorted(set(secrets), key=len, reverse=True):  # longest first: no partial leaks
        if len(secret) >= MIN_SECRET_LEN:
            text = text.replace(secret, REDACTED)
    return scrub(text)


class RedactingFilter(logging.Filter):
    """Rewrites each record it sees into its redacted text (it never drops a record)."""

    def __init__(self) -> None:
        super().__init__("gradtrade.redaction")
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: keep both
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


LOG_FILTER = RedactingFilter()


def install_log_filter(
    secrets: Iterable[str] = (), loggers: Iterable[logging.Logger] = ()
) -> RedactingFilter:
    """Put the one :data:`LOG_FILTER` on the library loggers (and ``loggers``), remembering
    ``secrets`` to redact literally. Idempotent: a logger never gets the filter twice."""
    LOG_FILTER.secrets.update(s for s in secrets if len(s) >= MIN_SECRET_LEN)
    names = {*LIBRARY_LOGGERS, *KNOWN_LOGGERS}
    names.update(
        name
        for name in list(logging.Logger.manager.loggerDict)
        if name.split(".", 1)[0] in LIBRARY_LOGGERS
    )
    targets = [logging.getLogger(name) for name in sorted(names)] + list(loggers)
    for logger in targets:
        if LOG_FILTER not in logger.filters:
            logger.addFilter(LOG_FILTER)
    return LOG_FILTER


__all__ = [
    "LOG_FILTER",
    "REDACTED",
    "RedactingFilter",
    "install_log_filter",
    "redact",
]
