"""``ExecutionConfig``: how the OrderManager works a target position; ``FillSection``: the
simulated venue's candle fill model and its costs (strict YAML sections)."""

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


class LadderSection(StrictModel):
    """The ladder book of each bar (``execution.ladder``): ``levels`` per side, the size unit a
    ``level_share`` of the bar's volume (level k holds k+1 units, at least one lot each)."""

    levels: int = Field(default=10, ge=1, le=1000)
    level_share: float = Field(default=0.0005, ge=0, le=1)


class FillSection(StrictModel):
    """The candle fill model (``core.CandleFillConfig``, rust/sim/candle.rs). ``next_open``: a
    market order decided at a bar's close fills at the next bar's open; ``decision_close``:
    at that close (the evaluation's convention: set half_spread_bps and impact_k to 0 and
    taker_fee_bps to evaluate.cost_bps to reproduce ``gradtrade evaluate``). Every fill pays
    the half spread plus the impact ``impact_k * sigma * sqrt(q / V)`` (capped) when it takes
    liquidity; limits fill only when traded through, at most ``max_volume_share`` of a bar.

    ``model: walk_book`` instead walks a market order through the decision bar's ``ladder``
    book, level by level at the taker fee (``execution.fill_model.WalkBookModel``, the book
    ``gradtrade exchange serve --stepped`` shows); fill_at, half_spread_bps, impact_k and
    max_impact_bps do not apply to its market orders (the ladder is the spread and impact)."""

    model: Literal["candle", "walk_book"] = "candle"
    ladder: LadderSection = LadderSection()
    fill_at: Literal["next_open", "decision_close"] = "next_open"
    half_spread_bps: float = Field(default=1.0, ge=0, le=1000)
    impact_k: float = Field(default=1.0, ge=0, le=100)
    taker_fee_bps: float = Field(default=10.0, ge=0, le=1000)
    maker_fee_bps: float = Field(default=10.0, ge=-100, le=1000)
    max_volume_share: float = Field(default=0.1, gt=0, le=1)
    max_impact_bps: float = Field(default=500.0, ge=0, le=10_000)

    @property
    def cost_bps(self) -> float:
        """What a market order pays besides the impact: half spread plus taker fee."""
        return self.half_spread_bps + self.taker_fee_bps

    def doubled(self) -> FillSection:
        """Twice every assumed cost (spread, impact, fees), for the report's stress run."""
        return self.model_copy(
            update={
                "half_spread_bps": 2 * self.half_spread_bps,
                "impact_k": 2 * self.impact_k,
                "taker_fee_bps": 2 * self.taker_fee_bps,
                "maker_fee_bps": 2 * self.maker_fee_bps,
            }
        )


__all__ = ["ExecutionConfig", "FillSection", "LadderSection", "ProtectiveConfig"]
