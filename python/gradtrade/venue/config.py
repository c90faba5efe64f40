"""Where and how the connector talks to an exchange: a validated pydantic model.

The code never assumes which exchange it talks to: Binance, Binance testnet and the local
exchange differ only in these URLs. ``rest_url`` is the REST base (``https://api.binance.com``
for spot, ``https://fapi.binance.com`` for USD-M); ``ws_url`` is the market-data stream base
(``wss://stream.binance.com:9443``, ``wss://fstream.binance.com``), under which combined
streams live at ``/stream?streams=a/b``. Invalid values raise ``ConfigError`` naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator

from gradtrade.config import StrictModel, load, validate
from gradtrade.errors import ConfigError
from gradtrade.venue.urls import PRESETS, Market, rest_api_urls


class ConnectorConfig(StrictModel):
    """Connection settings for one market of one Binance-compatible exchange."""

    market: Market = "spot"
    rest_url: str = Field(description="REST base URL, e.g. https://api.binance.com")
    ws_url: str = Field(description="stream base URL, e.g. wss://stream.binance.com:9443")
    exchange_id: str = Field("binance", description="name used in the store's paths")
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    timeout_s: float = Field(10.0, gt=0, le=300)
    max_retries: int = Field(8, ge=0, le=100)
    backoff_base_s: float = Field(0.5, gt=0, le=60)
    backoff_max_s: float = Field(30.0, gt=0, le=3600)
    stale_after_s: float = Field(10.0, gt=0, le=3600, description="stream watchdog timeout")
    weight_limit_per_minute: int | None = Field(
        None, gt=0, description="REST request weight budget; default Binance's per market"
    )
    weight_safety: float = Field(0.9, gt=0, le=1, description="pause above this budget share")
    page_limit: int = Field(1000, ge=1, le=1500, description="klines per request")
    depth_limit: int = Field(1000, ge=5, le=5000, description="levels of the REST snapshot")
    flush_rows: int = Field(20_000, ge=1, description="store write every N downloaded rows")

    @property
    def weight_budget(self) -> int:
        """Request weight per minute the client paces itself by: the configured one, else
        Binance's (6000 spot, 2400 USD-M)."""
        if self.weight_limit_per_minute is not None:
            return self.weight_limit_per_minute
        return 6000 if self.market == "spot" else 2400

    @field_validator("rest_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("ws_url")
    @classmethod
    def _ws(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value.rstrip("/")

    @classmethod
    def preset(cls, name: str, market: Market = "spot", **overrides: Any) -> ConnectorConfig:
        """``binance`` or ``testnet`` URLs for ``market``, with any field overridden."""
        if name not in PRESETS:
            raise ConfigError(f"preset: {name!r} is not one of {sorted(PRESETS)}")
        if market not in PRESETS[name]:
            raise ConfigError(f"market: {market!r} is not one of {sorted(PRESETS[name])}")
        urls = PRESETS[name][market]
        return cls.validated(
            {"market": market, "rest_url": urls.rest, "ws_url": urls.ws, **overrides}
        )

    @classmethod
    def for_url(cls, url: str, market: Market = "spot", **overrides: Any) -> ConnectorConfig:
        """One server answering REST and streams on the same host (the local exchange)."""
        ws = url.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        if market == "usdm":
            ws += "/fapi"  # the local exchange serves USD-M streams under /fapi
        return cls.validated(
            {"market": market, "rest_url": url, "ws_url": ws, "exchange_id": "local", **overrides}
        )

    @classmethod
    def validated(cls, values: dict[str, Any]) -> ConnectorConfig:
        """Build from a mapping; a bad value raises ``ConfigError`` naming each bad field."""
        return validate(cls, values, "connector", ConfigError)

    @classmethod
    def from_file(cls, path: Path) -> ConnectorConfig:
        """Load a YAML or JSON file; errors name the file and the field."""
        return load(cls, path, ConfigError)

    def ccxt_urls(self) -> dict[str, str]:
        """The ccxt ``urls['api']`` entries pointing this market's endpoints at ``rest_url``."""
        return rest_api_urls(self.rest_url, self.market)

    def rest_path(self, endpoint: str) -> str:
        """Full URL of a public REST endpoint, e.g. ``depth`` or ``time``."""
        prefix = "api/v3" if self.market == "spot" else "fapi/v1"
        return f"{self.rest_url}/{prefix}/{endpoint}"


__all__ = ["PRESETS", "ConnectorConfig", "Market"]
