"""Readers of recorded Binance market data, for replay in tests, benchmarks and backtests.

Two recording formats are understood (see ``../shared/data/README.md``):

* hftbacktest: gzip text, one ``<local_receive_ts_ns> <json>`` per line, where the JSON is a
  combined-stream websocket frame ``{"stream": ..., "data": ...}`` or, once per set, a REST depth
  snapshot ``{"lastUpdateId": ..., "bids": ..., "asks": ...}``;
* cryptofeed: ``X.ws.1.0`` (``<unix_ts>: <frame>`` after a header line with the websocket URL) and
  ``X.http.0.0`` (``<url> -> <unix_ts>: <body>``), interleaved here by timestamp; ``X.0`` holds the
  ``exchangeInfo`` response.

Every reader yields :class:`RecordedFrame` in receive order, with the payload as the exact bytes
received: feed ``raw`` straight to ``OrderBook.apply_depth_json`` / ``apply_snapshot_json``.

    >>> for frame in read_hftbacktest(spot_dir / "btcusdt_20240808.gz"):  # doctest: +SKIP
    ...     if frame.source == "rest":
    ...         book.apply_snapshot_json(frame.raw)
"""

from __future__ import annotations

import gzip
import heapq
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qs, urlparse

from gradtrade.errors import InvalidInput

Source = Literal["ws", "rest"]


class RecordedFrame(NamedTuple):
    """One recorded message: when it was received, its exact bytes, and where it came from."""

    ts_ns: int
    """Local receive time, nanoseconds since the Unix epoch."""
    raw: bytes
    """The message as received (a websocket frame or a REST response body)."""
    source: Source
    """``"ws"`` for a websocket frame, ``"rest"`` for a REST response."""
    url: str | None = None
    """The REST request URL when the recording kept it (cryptofeed), else None."""


def _seconds_text_to_ns(text: str) -> int:
    """``"1633998512.0633569"`` -> 1633998512063356900, exactly (no float on the way)."""
    whole, _, frac = text.strip().partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise InvalidInput(f"not a unix timestamp: {text!r}")
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])


def read_hftbacktest(*paths: Path | str) -> Iterator[RecordedFrame]:
    """Frames of one or more hftbacktest files, in the given order (pass chained days in order).

    A line whose JSON is not a combined-stream frame is the REST depth snapshot (``"rest"``).
    """
    for path in paths:
        with gzip.open(path, "rb") as lines:
            for number, line in enumerate(lines, 1):
                line = line.rstrip(b"\r\n")
                if not line:
                    continue
                stamp, sep, raw = line.partition(b" ")
                if not sep or not stamp.isdigit():
                    raise InvalidInput(f"{path}:{number}: expected '<ts_ns> <json>'")
                source: Source = "ws" if raw.startswith(b'{"stream"') else "rest"
                yield RecordedFrame(int(stamp), raw, source)


def _cryptofeed_ws(path: Path) -> Iterator[RecordedFrame]:
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            line = line.rstrip(b"\r\n")
            stamp, sep, raw = line.partition(b": ")
            if not line or (number == 1 and b" <-> " in line):
                continue  # header: the websocket URL with its subscriptions
            if not sep:
                raise InvalidInput(f"{path}:{number}: expected '<unix_ts>: <frame>'")
            yield RecordedFrame(_seconds_text_to_ns(stamp.decode()), raw, "ws")


def _cryptofeed_http(path: Path) -> Iterator[RecordedFrame]:
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            line = line.rstrip(b"\r\n")
            if not line:
                continue
            url, sep, rest = line.partition(b" -> ")
            stamp, sep2, body = rest.partition(b": ")
            if not sep or not sep2:
                raise InvalidInput(f"{path}:{number}: expected '<url> -> <unix_ts>: <body>'")
            yield RecordedFrame(_seconds_text_to_ns(stamp.decode()), body, "rest", url.decode())


def read_cryptofeed(directory: Path | str, exchange: str = "BINANCE") -> Iterator[RecordedFrame]:
    """REST responses and websocket frames of one cryptofeed recording, merged by receive time.

    ``exchange`` is the file prefix: ``"BINANCE"`` (spot) or ``"BINANCE_FUTURES"`` (USD-M).
    """
    directory = Path(directory)
    streams: list[Iterable[RecordedFrame]] = [
        _cryptofeed_http(directory / f"{exchange}.http.0.0"),
        _cryptofeed_ws(directory / f"{exchange}.ws.1.0"),
    ]
    # heapq.merge is stable: on equal timestamps the REST response comes first.
    yield from heapq.merge(*streams, key=lambda frame: frame.ts_ns)


def read_exchange_info(directory: Path | str, exchange: str = "BINANCE") -> dict[str, Any]:
    """The recorded ``exchangeInfo`` response of a cryptofeed recording, as a dict."""
    path = Path(directory) / f"{exchange}.0"
    with path.open("rb") as lines:
        first = lines.readline()
    _, sep, body = first.partition(b": ")
    if not sep:
        raise InvalidInput(f"{path}: expected '<url> -> <unix_ts>: <body>' on the first line")
    info: dict[str, Any] = json.loads(body)
    return info


def rest_depth_symbol(url: str) -> str:
    """The ``symbol`` query parameter of a REST depth URL (``.../depth?symbol=NKNUSDT&...``)."""
    values = parse_qs(urlparse(url).query).get("symbol")
    if not values:
        raise InvalidInput(f"no symbol in {url!r}")
    return values[0].upper()


__all__ = [
    "RecordedFrame",
    "Source",
    "read_cryptofeed",
    "read_exchange_info",
    "read_hftbacktest",
    "rest_depth_symbol",
]
