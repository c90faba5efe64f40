"""The protective-order rules of ``execution.protective``: stop-limit prices, OCO pairing."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from gradtrade.core import Side
from gradtrade.events import IntentKind, OrderStyle
from gradtrade.execution.client import OrderRequest
from gradtrade.execution.config import ProtectiveConfig
from gradtrade.execution.protective import oco_pair, oco_params, stop_limit


@given(
    side=st.sampled_from([Side.BUY, Side.SELL]),
    stop_ticks=st.integers(1, 10**8),
    tick=st.sampled_from([0.01, 0.1, 0.5, 1e-5]),
    offset=st.floats(0.1, 5_000),
    unit=st.sampled_from(["bps", "ticks"]),
)
def test_stop_limit_is_on_the_grid_beyond_the_stop(
    side: Side, stop_ticks: int, tick: float, offset: float, unit: str
) -> None:
    cfg = ProtectiveConfig(limit_offset=offset, limit_offset_unit=unit)  # type: ignore[arg-type]
    stop = stop_ticks * tick
    limit = stop_limit(side, stop, tick, cfg)
    assert math.isclose(limit / tick, round(limit / tick), abs_tol=1e-6)  # on the tick grid
    distance = offset * (tick if unit == "ticks" else stop * 1e-4)
    if side == Side.SELL:  # below the stop by the offset (rounded down), never below a tick
        assert limit >= tick - 1e-12
        assert limit <= stop - distance + 1e-9 * stop or limit == tick
        assert limit > stop - distance - tick - 1e-9 * stop or limit == tick
    else:  # above the stop by the offset, rounded up
        assert stop + distance - 1e-9 * stop <= limit < stop + distance + tick + 1e-9 * stop


def _req(cid: str, intent: IntentKind, side: Side = Side.SELL, qty: float = 0.5) -> OrderRequest:
    style = OrderStyle.STOP_MARKET if intent == IntentKind.STOP_LOSS else (
        OrderStyle.TAKE_PROFIT_MARKET
    )  # fmt: skip
    return OrderRequest(cid, "BTCUSDT", side, qty, style, intent, 0, 100.0, 100.0, True)


def test_oco_pairs_only_a_stop_loss_and_a_take_profit_alike() -> None:
    sl, tp = _req("a.0.1", IntentKind.STOP_LOSS), _req("a.0.2", IntentKind.TAKE_PROFIT)
    assert oco_pair([tp, sl]) == (sl, tp)
    assert oco_pair([sl]) is None
    assert oco_pair([sl, _req("a.0.3", IntentKind.STOP_LOSS)]) is None
    assert oco_pair([sl, _req("a.0.4", IntentKind.TAKE_PROFIT, qty=0.4)]) is None
    assert oco_pair([sl, _req("a.0.5", IntentKind.TAKE_PROFIT, side=Side.BUY)]) is None


def test_oco_params_put_the_take_profit_above_a_sell() -> None:
    base = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.50000"}
    sl = base | {"type": "STOP_LOSS_LIMIT", "stopPrice": "95.00", "price": "94.50",
                 "timeInForce": "GTC", "newClientOrderId": "a.0.1"}  # fmt: skip
    tp = base | {"type": "TAKE_PROFIT", "stopPrice": "110.00", "newClientOrderId": "a.0.2"}
    p = oco_params(sl, tp, Side.SELL)
    assert p == base | {
        "aboveType": "TAKE_PROFIT", "aboveStopPrice": "110.00", "aboveClientOrderId": "a.0.2",
        "belowType": "STOP_LOSS_LIMIT", "belowStopPrice": "95.00", "belowPrice": "94.50",
        "belowTimeInForce": "GTC", "belowClientOrderId": "a.0.1",
    }  # fmt: skip
    flipped = oco_params(sl, tp, Side.BUY)
    assert flipped["aboveClientOrderId"] == "a.0.1" and flipped["belowClientOrderId"] == "a.0.2"
