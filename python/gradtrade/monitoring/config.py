"""``MonitoringConfig``: where the metrics server listens and when market data counts as stale.

Loopback by default: the metrics and health endpoints carry no secrets, but they tell anyone who
can reach them what the account holds, so exposing them (``host: 0.0.0.0`` inside a container,
with the port published to 127.0.0.1 by compose) is an explicit choice.
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from gradtrade.config import StrictModel

DEFAULT_PORT = 9108


class MonitoringConfig(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, description="0 picks a free port")
    stale_after_s: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="/healthz fails when a stream is silent this long",
    )
    volatility_window: int = Field(
        default=24, ge=2, le=100_000, description="bars in the realized volatility of closes"
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if value == "localhost":
            return value
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(
                "must be an IP address (127.0.0.1, 0.0.0.0, ::1) or localhost"
            ) from None
        return value


__all__ = ["DEFAULT_PORT", "MonitoringConfig"]
