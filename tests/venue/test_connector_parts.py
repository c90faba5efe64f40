"""Connector building blocks that need no server: config validation, backoff, weights, errors."""

from __future__ import annotations

import random
from pathlib import Path

import ccxt
import pytest

from gradtrade.core import OrderBook
from gradtrade.errors import (
    AuthenticationFailed,
    ConfigError,
    ExchangeRejected,
    FatalError,
    GradtradeError,
    InvalidInput,
    RateLimited,
    RetryableError,
    ServerError,
    scrub,
)
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.depth_sync import DepthSync
from gradtrade.venue.rest import Backoff, WeightTracker, from_ccxt, make_exchange, retry_after_s


def test_presets_and_local_url_only_change_urls() -> None:
    binance = ConnectorConfig.preset("binance", "usdm")
    assert binance.rest_url == "https://fapi.binance.com"
    local = ConnectorConfig.for_url("http://127.0.0.1:8123/", "spot")
    assert (local.rest_url, local.ws_url) == ("http://127.0.0.1:8123", "ws://127.0.0.1:8123")
    exchange = make_exchange(local)
    assert exchange.urls["api"]["public"] == "http://127.0.0.1:8123/api/v3"
    usdm = make_exchange(ConnectorConfig.for_url("http://127.0.0.1:9", "usdm"))
    assert usdm.urls["api"]["fapiPublic"] == "http://127.0.0.1:9/fapi/v1"


def test_bad_config_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rest_url: Value error, must start with http"):
        ConnectorConfig.validated({"rest_url": "ftp://x", "ws_url": "ws://x"})
    with pytest.raises(ConfigError, match="timeout_s"):
        ConnectorConfig.for_url("http://127.0.0.1:1", timeout_s=-1)
    with pytest.raises(ConfigError, match="market"):
        ConnectorConfig.for_url("http://127.0.0.1:1", "margin")  # type: ignore[arg-type]
    path = tmp_path / "conn.yaml"
    path.write_text("rest_url: http://127.0.0.1:1\nws_url: ws://127.0.0.1:1\npage_limt: 10\n")
    with pytest.raises(ConfigError, match=r"(?s)conn.yaml:.*page_limt: Extra inputs"):
        ConnectorConfig.from_file(path)
    with pytest.raises(ConfigError) as bad_key:  # a credential's value never reaches the text
        ConnectorConfig.for_url("http://127.0.0.1:1", api_key=["AKEY1234567"])
    assert "api_key" in str(bad_key.value) and "AKEY1234567" not in str(bad_key.value)
    error = ConfigError("x")
    assert isinstance(error, FatalError) and isinstance(error, InvalidInput)


def test_secrets_never_reach_repr_or_errors() -> None:
    config = ConnectorConfig.for_url(
        "http://127.0.0.1:1", api_key="AKEY123456", api_secret="SSECRET987"
    )
    assert "SSECRET987" not in repr(config) and "AKEY123456" not in str(config.model_dump())
    assert "SSECRET987" not in scrub("GET /api/v3/order?signature=SSECRET987&x=1")
    assert "AKEY123456" not in scrub('{"X-MBX-APIKEY": "AKEY123456"}')


def test_backoff_grows_exponentially_with_full_jitter_and_caps() -> None:
    backoff = Backoff(0.5, 8.0, random.Random(1))
    delays = [backoff.next_delay() for _ in range(12)]
    ceilings = [min(8.0, 0.5 * 2**k) for k in range(12)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[6:]) > 2.0  # grows toward the cap
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_weight_tracker_pauses_until_the_next_minute() -> None:
    tracker = WeightTracker(limit_per_minute=1200, safety=0.9)
    now_ms = 1_700_000_050_000.0  # 10 s into a minute
    tracker.observe({"x-mbx-used-weight-1m": "500"}, now_ms)
    assert tracker.pause_s(now_ms) == 0.0
    tracker.observe({"X-MBX-USED-WEIGHT-1M": "1100"}, now_ms)
    assert tracker.pause_s(now_ms) == pytest.approx(50.0)
    assert tracker.pause_s(now_ms + 51_000) == 0.0  # a new minute resets the server's count
    assert retry_after_s({"Retry-After": "7"}) == 7.0 and retry_after_s({}) is None


def test_ccxt_errors_map_onto_retryable_and_fatal() -> None:
    limited = from_ccxt(ccxt.DDoSProtection("binance 429 Too Many Requests"), retry_after=3.0)
    assert isinstance(limited, RateLimited) and limited.retry_after == 3.0
    assert limited.status == 429
    banned = from_ccxt(ccxt.DDoSProtection("binance 418 I'm a teapot"), retry_after=120.0)
    assert isinstance(banned, RateLimited) and banned.status == 418
    assert isinstance(from_ccxt(ccxt.RequestTimeout("t")), ServerError)
    assert isinstance(from_ccxt(ccxt.ExchangeNotAvailable("503")), RetryableError)
    assert isinstance(from_ccxt(ccxt.BadSymbol("nope")), ExchangeRejected)
    assert isinstance(from_ccxt(ccxt.AuthenticationError("key")), AuthenticationFailed)
    for error in (limited, banned):
        assert isinstance(error, GradtradeError)


def test_depth_sync_needs_a_buffer() -> None:
    book = OrderBook("BTCUSDT", "0.01", "0.00001", "spot")
    with pytest.raises(InvalidInput, match="max_buffer must be at least 1, not 0"):
        DepthSync(book, max_buffer=0)
