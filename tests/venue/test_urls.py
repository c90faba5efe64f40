"""The one table of Binance endpoints, as the connector and ccxt clients read it."""

from __future__ import annotations

import pytest

from gradtrade.errors import ConfigError, InvalidInput
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.rest import make_exchange
from gradtrade.venue.urls import BINANCE, BINANCE_TESTNET, PRESETS, ccxt_urls


def test_ccxt_urls_local_and_remote() -> None:
    local = ccxt_urls("http://127.0.0.1:8765", "spot")["api"]
    assert local["public"] == "http://127.0.0.1:8765/api/v3"
    assert local["fapiPrivateV2"] == "http://127.0.0.1:8765/fapi/v2"
    assert local["ws"]["spot"] == "ws://127.0.0.1:8765/stream/ws"
    assert local["ws"]["ws-api"]["spot"] == "ws://127.0.0.1:8765/ws-api/v3"
    real = ccxt_urls(BINANCE, "usdm")["api"]
    assert real["fapiPublic"] == "https://fapi.binance.com/fapi/v1"
    assert real["ws"]["linear"] == "wss://fstream.binance.com/ws"
    assert ccxt_urls(BINANCE_TESTNET)["api"]["public"] == "https://testnet.binance.vision/api/v3"
    with pytest.raises(InvalidInput):
        ccxt_urls("127.0.0.1:8765")
    with pytest.raises(InvalidInput):
        ccxt_urls("http://127.0.0.1:1", "coinm")


def test_testnet_usdm_streams_are_on_fstream() -> None:
    # Binance's USD-M testnet serves market streams at wss://fstream.binancefuture.com
    # (stream.binancefuture.com is the retired host the connector preset used to name).
    connector = ConnectorConfig.preset(BINANCE_TESTNET, "usdm")
    assert connector.ws_url == "wss://fstream.binancefuture.com"
    assert ccxt_urls(BINANCE_TESTNET, "usdm")["api"]["ws"]["linear"] == f"{connector.ws_url}/ws"


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_connector_and_ccxt_mapping_agree(name: str, market: str) -> None:
    config = ConnectorConfig.preset(name, market)  # type: ignore[arg-type]
    mapping = ccxt_urls(name, market)["api"]
    rest = make_exchange(config).urls["api"]
    for key, url in config.ccxt_urls().items():
        assert mapping[key] == url == rest[key], key
    side = "spot" if market == "spot" else "linear"
    assert mapping["ws"][side] == f"{config.ws_url}/ws"


def test_unknown_preset_or_market_is_named() -> None:
    with pytest.raises(ConfigError, match="preset: 'mainnet'"):
        ConnectorConfig.preset("mainnet")
    with pytest.raises(ConfigError, match="market: 'coinm'"):
        ConnectorConfig.preset(BINANCE, "coinm")  # type: ignore[arg-type]
