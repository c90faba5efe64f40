"""Historical downloads through ccxt from the local exchange (a real server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.feather as feather
import pytest
from click.testing import CliRunner

from gradtrade.cli import main
from gradtrade.data.connector import ExchangeConnector
from gradtrade.data.store import CandleStore, SeriesKey
from gradtrade.errors import ExchangeRejected, RetriesExhausted
from gradtrade.local_exchange import ExchangeServer, ServerThread
from gradtrade.venue.config import ConnectorConfig

ROWS = 12_000  # 24 pages of 500: enough pagination, fast enough for CI
SINCE = pd.Timestamp("2025-05-20", tz="UTC")
OHLCV = ["open", "high", "low", "close", "volume"]


@pytest.fixture(scope="module")
def spot_slice(tmp_path_factory: pytest.TempPathFactory, btc_1m: pd.DataFrame) -> Path:
    """The first ROWS real 1m candles, under a freqtrade name the exchange can replay."""
    path = tmp_path_factory.mktemp("replay") / "BTC_USDT-1m.feather"
    feather.write_feather(btc_1m.iloc[:ROWS].reset_index(drop=True), path)
    return path


@pytest.fixture
async def spot_server(spot_slice: Path) -> AsyncIterator[ExchangeServer]:
    server = ExchangeServer(replay=[spot_slice])
    await server.start(0)
    yield server
    await server.stop()


def config(server: ExchangeServer, market: str = "spot", **kw: object) -> ConnectorConfig:
    settings = {"page_limit": 500, "flush_rows": 2_000, "backoff_base_s": 0.01, **kw}
    return ConnectorConfig.for_url(server.url, market, **settings)  # type: ignore[arg-type]


def assert_same_as_source(stored: pd.DataFrame, source: pd.DataFrame) -> None:
    assert len(stored) == len(source)
    assert stored["date"].is_unique
    np.testing.assert_array_equal(
        pd.DatetimeIndex(stored["date"]).asi8, pd.DatetimeIndex(source["date"]).as_unit("ns").asi8
    )
    np.testing.assert_array_equal(stored[OHLCV].to_numpy(), source[OHLCV].to_numpy())


async def test_download_reads_back_identical_to_the_source(
    tmp_path: Path, spot_server: ExchangeServer, btc_1m: pd.DataFrame
) -> None:
    store = CandleStore(tmp_path)
    async with ExchangeConnector(config(spot_server)) as conn:
        result = await conn.download(store, "BTC/USDT", "1m", since=SINCE, progress=False)
        again = await conn.download(store, "BTC/USDT", "1m", since=SINCE, progress=False)
    assert result.pages >= ROWS // 500 and result.rows_new == ROWS and result.gaps == []
    assert_same_as_source(store.read(conn.key("BTC/USDT", "1m")), btc_1m.iloc[:ROWS])
    assert again.rows_fetched == 0  # everything was already stored: nothing re-downloaded
    assert conn.metrics.requests >= result.pages and conn.metrics.retries == 0


async def test_cancelled_download_resumes_without_gap_or_duplicate(
    tmp_path: Path, spot_server: ExchangeServer, btc_1m: pd.DataFrame
) -> None:
    store = CandleStore(tmp_path)
    async with ExchangeConnector(config(spot_server)) as conn:
        key = conn.key("BTC/USDT", "1m")
        task = asyncio.create_task(
            conn.download(store, "BTC/USDT", "1m", since=SINCE, progress=False)
        )
        while conn.metrics.requests < 12:  # cancel midway, between pages
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        partial = store.read(key)
        assert 0 < len(partial) < ROWS  # what was fetched before the cancel is kept
        resumed = await conn.download(store, "BTC/USDT", "1m", since=SINCE, progress=False)
    assert resumed.rows_new == ROWS - len(partial)
    assert resumed.rows_fetched == ROWS - len(partial)  # only the missing part was fetched
    assert_same_as_source(store.read(key), btc_1m.iloc[:ROWS])


async def test_server_errors_are_retried_then_a_dead_server_is_resumed_later(
    tmp_path: Path, spot_server: ExchangeServer, btc_1m: pd.DataFrame
) -> None:
    store = CandleStore(tmp_path)
    async with ExchangeConnector(config(spot_server, max_retries=3)) as conn:
        key = conn.key("BTC/USDT", "1m")
        spot_server.faults.fail_rest(503, count=2, retry_after=0, path_prefix="/api/v3/klines")
        first = await conn.download(
            store, "BTC/USDT", "1m", since=SINCE, until=SINCE + pd.Timedelta(minutes=3000),
            progress=False,
        )  # fmt: skip
        assert first.rows_new == 3000 and conn.metrics.server_errors == 2
        assert conn.metrics.retries == 2

        spot_server.faults.fail_rest(500, count=10, retry_after=0, path_prefix="/api/v3/klines")
        with pytest.raises(RetriesExhausted, match="gave up after 4 attempts"):
            await conn.download(store, "BTC/USDT", "1m", since=SINCE, progress=False)
        spot_server.faults.clear()
        resumed = await conn.download(store, "BTC/USDT", "1m", since=SINCE, progress=False)
    assert resumed.rows_new == ROWS - 3000
    assert_same_as_source(store.read(key), btc_1m.iloc[:ROWS])


async def test_rate_limits_honour_retry_after(tmp_path: Path, spot_server: ExchangeServer) -> None:
    store = CandleStore(tmp_path)
    async with ExchangeConnector(config(spot_server, backoff_base_s=5.0)) as conn:
        spot_server.faults.fail_rest(429, count=1, retry_after=1, path_prefix="/api/v3/klines")
        spot_server.faults.fail_rest(418, count=1, retry_after=1, path_prefix="/api/v3/klines")
        started = time.monotonic()
        result = await conn.download(
            store, "BTC/USDT", "1m", since=SINCE, until=SINCE + pd.Timedelta(minutes=500),
            progress=False,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.rows_new == 500 and conn.metrics.rate_limited == 2
    # Retry-After (1 s each) was used, not the 5 s backoff base.
    assert 2.0 <= elapsed < 5.0


async def test_bad_symbol_and_spot_funding_are_fatal(
    tmp_path: Path, spot_server: ExchangeServer
) -> None:
    async with ExchangeConnector(config(spot_server)) as conn:
        with pytest.raises(ExchangeRejected):
            await conn.download(CandleStore(tmp_path), "NOPE/USDT", "1m", since=SINCE)
        with pytest.raises(ExchangeRejected, match="USD-M"):
            await conn.download(
                CandleStore(tmp_path), "BTC/USDT", "1h", since=SINCE, kind="funding"
            )
    assert conn.metrics.retries == 0


async def test_usdm_candles_funding_and_mark_prices_download(
    tmp_path: Path, data_dir: Path
) -> None:
    futures = data_dir / "klines" / "futures"
    server = ExchangeServer(
        replay=[
            futures / "BTC_USDT_USDT-8h-funding_rate.feather",
            futures / "BTC_USDT_USDT-1h-mark.feather",
            futures / "BTC_USDT_USDT-1h-futures.feather",
        ]
    )
    await server.start(0)
    store = CandleStore(tmp_path)
    since, until = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-03-01", tz="UTC")
    try:
        async with ExchangeConnector(config(server, "usdm")) as conn:
            funding = await conn.download(
                store,
                "BTC/USDT:USDT",
                "8h",
                since=since,
                until=until,
                kind="funding",
                progress=False,
            )
            mark = await conn.download(
                store, "BTC/USDT:USDT", "1h", since=since, until=until, kind="mark", progress=False
            )
            candles = await conn.download(
                store, "BTC/USDT:USDT", "1h", since=since, until=until, progress=False
            )
    finally:
        await server.stop()
    source = pd.read_feather(futures / "BTC_USDT_USDT-8h-funding_rate.feather")
    source = source.loc[(source["date"] >= since) & (source["date"] < until)]
    stored = store.read(SeriesKey("local", "usdm", "BTC/USDT:USDT", "8h", "funding"))
    assert funding.rows_new == len(source) == len(stored) and funding.gaps == []
    np.testing.assert_array_equal(stored["rate"].to_numpy(), source["open"].to_numpy())
    mark_source = pd.read_feather(futures / "BTC_USDT_USDT-1h-mark.feather")
    mark_source = mark_source.loc[(mark_source["date"] >= since) & (mark_source["date"] < until)]
    assert_same_as_source(
        store.read(SeriesKey("local", "usdm", "BTC/USDT:USDT", "1h", "mark")), mark_source
    )
    assert mark.rows_new == len(mark_source)
    perp = pd.read_feather(futures / "BTC_USDT_USDT-1h-futures.feather")
    perp = perp.loc[(perp["date"] >= since) & (perp["date"] < until)]
    assert_same_as_source(store.read(SeriesKey("local", "usdm", "BTC/USDT:USDT", "1h")), perp)
    assert candles.rows_new == len(perp)


async def test_an_unreachable_exchange_is_retried_then_reported(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conn = ExchangeConnector(
        ConnectorConfig.for_url(f"http://127.0.0.1:{port}", max_retries=2, backoff_base_s=0.01)
    )
    try:
        with pytest.raises(RetriesExhausted, match="gave up after 3 attempts") as info:
            await conn.start()
    finally:
        await conn.close()
    assert isinstance(info.value.__cause__, Exception)
    assert conn.metrics.server_errors == 3 and conn.metrics.retries == 2


def test_download_command_with_a_progress_bar(tmp_path: Path, spot_slice: Path) -> None:
    with ServerThread(ExchangeServer(replay=[spot_slice])) as server:
        args = ["download", "--symbol", "BTC/USDT", "--timeframe", "1h", "--since", "2025-05-20"]
        args += ["--until", "2025-05-25", "--exchange-url", server.url, "--data-dir", str(tmp_path)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert "120 new" in result.output
        bad = CliRunner().invoke(main, [*args[:-4], "--exchange-url", "ftp://x"])
        assert bad.exit_code == 1 and "rest_url" in bad.output
