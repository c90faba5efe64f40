"""Where and how the connector talks to an exchange: a validated pydantic model.

The code never assumes which exchange it talks to: Binance, Binance testnet and the local
exchange differ only in these URLs. ``rest_url`` is the REST base (``https://api.binance.com``
for spot, ``https://fapi.binance.com`` for USD-M); ``ws_url`` is the market-data stream base
(``wss://stream.binance.com:9443``, ``wss://fstream.binance.com``), under which combined
streams live at ``/stream?streams=a/b``. Invalid values raise ``ConfigError`` naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from gradtrade.errors import ConfigError

Market = Literal["spot", "usdm"]

PRESETS: dict[str, dict[Market, tuple[str, str]]] = {
    "binance": {
        "spot": ("https://api.binance.com", "wss://stream.binance.com:9443"),
        "usdm": ("https://fapi.binance.com", "wss://fstream.binance.com"),
    },
    "testnet": {
        "spot": ("https://testnet.binance.vision", "wss://stream.testnet.binance.vision"),
        "usdm": ("https://testnet.binancefuture.com", "wss://stream.binancefuture.com"),
    },
}


class ConnectorConfig(BaseModel):
    """Connection settings for one market of one Binance-compatible exchange."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
        rest, ws = PRESETS[name][market]
        return cls.validated({"market": market, "rest_url": rest, "ws_url": ws, **overrides})

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
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None

    @classmethod
    def from_file(cls, path: Path) -> ConnectorConfig:
        """Load a YAML or JSON file; errors name the file and the field."""
        import yaml

        try:
            values = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: expected a mapping of settings")
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(f"{path}: {_describe(exc)}") from None

    def ccxt_urls(self) -> dict[str, str]:
        """The ccxt ``urls['api']`` entries pointing this market's endpoints at ``rest_url``."""
        base = self.rest_url
        if self.market == "spot":
            names = {"public": "api/v3", "private": "api/v3", "v1": "api/v1"}
            names.update({f"sapi{v}": f"sapi/v{v[-1] if v else 1}" for v in ("", "V2", "V3")})
            return {k: f"{base}/{v}" for k, v in names.items()}
        fapi = {
            "fapiPublic": "fapi/v1",
            "fapiPublicV2": "fapi/v2",
            "fapiPublicV3": "fapi/v3",
            "fapiPrivate": "fapi/v1",
            "fapiPrivateV2": "fapi/v2",
            "fapiPrivateV3": "fapi/v3",
            "fapiData": "futures/data",
        }
        return {k: f"{base}/{v}" for k, v in fapi.items()}

    def rest_path(self, endpoint: str) -> str:
        """Full URL of a public REST endpoint, e.g. ``depth`` or ``time``."""
        prefix = "api/v3" if self.market == "spot" else "fapi/v1"
        return f"{self.rest_url}/{prefix}/{endpoint}"


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "(config)"
        parts.append(f"{field}: {error['msg']}")
    return "invalid connector config: " + "; ".join(parts)


__all__ = ["PRESETS", "ConnectorConfig", "Market"]
