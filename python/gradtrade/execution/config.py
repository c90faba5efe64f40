"""``ExecutionConfig``: how the OrderManager works a target position (strict YAML section)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from gradtrade.config import StrictModel


class ProtectiveConfig(StrictModel):
    """Exchange-side stops in live trading. A spot stop goes out as a market stop (STOP_LOSS /
    TAKE_PROFIT) only where the symbol's exchangeInfo ``orderTypes`` list it (real Binance spot
    BTCUSDT does not); otherwise as STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT whose limit is
    ``limit_offset`` (``bps`` of the stop, or ``ticks``) beyond the stop, on the side that
    still fills in a fast market (a sell below it, a buy above it). ``spot_market_stops``
    says whether market stops are listed when the order types are not known. With
    ``spot_oco`` a spot stop-loss and take-profit placed together go out as one OCO list: the
    coins are locked once (two separate sells of the same coins: Binance refuses the second
    for insufficient balance) and the leg that works expires the other on the exchange.
    USD-M stops are STOP_MARKET / TAKE_PROFIT_MARKET, reduce-only."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    limit_offset: float = Field(default=50.0, gt=0, le=10_000)
    limit_offset_unit: Literal["bps", "ticks"] = "bps"
    spot_market_stops: bool = False
    spot_oco: bool = True


class ExecutionConfig(StrictModel):
    """``style: market`` crosses at once; ``post_only`` rests at the best price of our side and,
    after ``post_only_timeout_s`` without a complete fill, reprices (``on_timeout: reprice``) or
    crosses the rest (``cross``); over candles an order meets the market only at bar opens, so
    give it a few bars (e.g. 10800 s on 1h bars). Retryable venue refusals wait
    ``retry_backoff_ms`` doubling per attempt, at most ``max_retries`` times; the session
    number keeps client ids unique across restarts (ids are ``strategy.session.seq``);
    ``protective`` shapes the exchange-side stops of the live client."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    style: Literal["market", "post_only"] = "market"
    post_only_timeout_s: float = Field(default=60.0, gt=0, le=86_400)
    on_timeout: Literal["reprice", "cross"] = "cross"
    retry_backoff_ms: float = Field(default=250.0, gt=0, le=600_000)
    max_retries: int = Field(default=5, ge=0, le=100)
    session: int = Field(default=0, ge=0, lt=36**12)
    protective: ProtectiveConfig = Field(default_factory=ProtectiveConfig)


__all__ = ["ExecutionConfig", "ProtectiveConfig"]
