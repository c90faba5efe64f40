"""Small pure pieces: the order state table, signing, kline selection."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from gradtrade.core import OrderStatus, Side
from gradtrade.errors import InvalidTransition, Overfill
from gradtrade.local_exchange.auth import sign, verify_request
from gradtrade.local_exchange.errors import ApiError
from gradtrade.local_exchange.matching import Fill, Order, Position
from gradtrade.local_exchange.series import KlineSeries, fmt

S = OrderStatus


def _order(qty: str = "1") -> Order:
    return Order("k", "spot", "BTCUSDT", 1, "c", Side.BUY, "LIMIT", "GTC", Decimal(100),
                 Decimal(qty), 0)  # fmt: skip


def _fill(qty: str) -> Fill:
    return Fill(1, Decimal(100), Decimal(qty), Decimal(0), "BTC", False, 0)


def test_order_state_table() -> None:
    o = _order()
    o.add_fill(_fill("0.4"))
    assert o.status == OrderStatus.PARTIALLY_FILLED
    with pytest.raises(Overfill):
        o.add_fill(_fill("0.7"))
    o.add_fill(_fill("0.6"))
    assert o.status == OrderStatus.FILLED
    for status in (S.CANCELED, S.EXPIRED, S.PARTIALLY_FILLED, S.NEW):
        with pytest.raises(InvalidTransition):
            o.move(status)  # nothing leaves FILLED
    canceled = _order()
    canceled.move(OrderStatus.CANCELED)
    with pytest.raises(InvalidTransition):
        canceled.add_fill(_fill("0.1"))


def test_position_realized_pnl() -> None:
    p = Position()
    assert p.trade(Decimal("2"), Decimal(100)) == 0
    assert p.trade(Decimal("1"), Decimal(103)) == 0 and p.entry == 101
    assert p.trade(Decimal("-4"), Decimal(110)) == Decimal(27)  # closes 3 at +9, flips short 1
    assert (p.amount, p.entry) == (Decimal(-1), Decimal(110))


def test_signature_over_query_and_body() -> None:
    keys = {"k": "s"}
    query, body = "symbol=BTCUSDT&timestamp=1000", "side=BUY&quantity=1"
    signature = sign("s", query + body)
    params = {"symbol": "BTCUSDT", "timestamp": "1000", "side": "BUY", "quantity": "1"}
    assert verify_request(keys, "k", query, f"{body}&signature={signature}", params, 1500) == "k"
    with pytest.raises(ApiError) as err:
        verify_request(keys, "k", query, f"{body}&quantity=2&signature={signature}", params, 1500)
    assert err.value.code == -1022


def test_kline_window_and_number_text() -> None:
    s = KlineSeries(60_000, np.arange(0, 600_000, 60_000, dtype=np.int64), np.ones((10, 5)))
    assert s.window(None, None, 3) == (7, 10)
    assert s.window(120_000, None, 3) == (2, 5)
    assert s.window(120_000, 180_000, 3) == (2, 4)
    assert s.window(None, 200_000, 2) == (2, 4)
    for x in (0.1, 1e-8, 61602.01, 123456789.123, 5e-324):
        assert float(fmt(x)) == x and "e" not in fmt(x)
