"""Property test of the matching engine (no server): whatever orders arrive, balances never go
negative, locked funds equal what open orders reserve, and money is conserved up to fees."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.core import Side
from gradtrade.local_exchange.errors import ApiError
from gradtrade.local_exchange.state import ExchangeState
from gradtrade.local_exchange.trading import Trading

ORDER = st.fixed_dictionaries(
    {
        "side": st.sampled_from(["BUY", "SELL"]),
        "type": st.sampled_from(["LIMIT", "MARKET", "LIMIT_MAKER"]),
        "timeInForce": st.sampled_from(["GTC", "IOC", "FOK"]),
        "quantity": st.integers(1, 400).map(lambda n: str(Decimal(n) / 100)),
        "price": st.integers(9_500, 10_500).map(lambda n: str(Decimal(n) / 100)),
    }
)


def _engine() -> Trading:
    state = ExchangeState()
    m = state.market("spot", "BTCUSDT", "BTC", "USDT")
    m.l2.replace([(99.0, 1.0), (98.5, 2.0), (97.0, 3.0)], [(100.0, 1.0), (101.5, 2.0)], 10)
    return Trading(state, {"k": "s"}, fees={"spot": ("0.0005", "0.001")},
                   balances={"USDT": "1000", "BTC": "3"})  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(ORDER, min_size=1, max_size=12), st.lists(st.booleans(), max_size=12))
def test_balances_locks_and_conservation(orders: list[dict[str, str]], cancels: list[bool]) -> None:
    t = _engine()
    for i, spec in enumerate(orders):
        params = {"symbol": "BTCUSDT", **spec}
        if spec["type"] == "MARKET":
            del params["price"], params["timeInForce"]
        elif spec["type"] == "LIMIT_MAKER":
            del params["timeInForce"]
        try:
            t.new_order("k", "spot", params)
        except ApiError:
            pass  # a refusal changes nothing; the invariants below still hold
        if i < len(cancels) and cancels[i] and t.resting.get(("spot", "BTCUSDT")):
            victim = t.resting[("spot", "BTCUSDT")][0]
            t.cancel("k", "spot", {"symbol": "BTCUSDT", "orderId": str(victim.order_id)})
    acct = t.accounts["k"]
    usdt, btc = acct.balances["USDT"], acct.balances["BTC"]
    assert min(usdt + btc) >= 0
    open_orders = t.resting.get(("spot", "BTCUSDT"), [])
    assert usdt[1] == sum((o.price * o.remaining for o in open_orders if o.side == Side.BUY),
                          Decimal(0))  # fmt: skip
    assert btc[1] == sum((o.remaining for o in open_orders if o.side == Side.SELL), Decimal(0))
    expect_usdt, expect_btc = Decimal(1000), Decimal(3)
    for order, fill in t.fills:
        assert order.executed <= order.qty
        if order.side == Side.BUY:
            expect_usdt -= fill.price * fill.qty
            expect_btc += fill.qty - fill.commission
        else:
            expect_usdt += fill.price * fill.qty - fill.commission
            expect_btc -= fill.qty
    assert usdt[0] + usdt[1] == expect_usdt
    assert btc[0] + btc[1] == expect_btc
