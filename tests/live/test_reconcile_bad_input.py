"""Bad input from the exchange: real bodies of the local exchange, damaged, give InvalidInput
naming the endpoint and the field; a malformed answer served by the exchange halts the check
(MALFORMED_RESPONSE) without touching what the trader holds."""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtrade.core import SymbolFilters
from gradtrade.errors import InvalidInput
from gradtrade.live.reconcile import (
    BelievedState,
    DiscrepancyKind,
    ExchangeState,
    Verdict,
    reconcile,
)
from gradtrade.live.reconcile_exchange import (
    check,
    parse_order,
    parse_spot_balances,
    parse_trade,
    parse_usdm_account,
)
from gradtrade.venue.orders import Answered

if TYPE_CHECKING:
    from .reconcile_harness import LocalExchange, Trader

SYMBOL = "BTCUSDT"


async def bodies(trader: Trader) -> dict[str, Any]:
    """One real body of each kind reconciliation reads (after one trade and one resting order)."""
    await trader.target(0.002)
    bid, _ = await trader.best()
    tick = trader.filters[SYMBOL].tick_size
    await trader.direct(
        "resting-1",
        trader.manager.orders["rc.1.1"].side,
        "0.00100",
        f"{round(bid * 0.9 / tick) * tick:.2f}",
    )
    ex, gw = trader.gateway.rest.exchange, trader.gateway
    out = {}
    for name, fn, params in (
        ("trades", ex.privateGetMyTrades, {"symbol": SYMBOL}),
        ("open", ex.privateGetOpenOrders, {"symbol": SYMBOL}),
        ("account", ex.privateGetAccount, {}),
    ):
        outcome = await gw.send(fn, params)
        assert isinstance(outcome, Answered)
        out[name] = outcome.body
    return out


@pytest.fixture
async def real(spot_trader: Trader) -> dict[str, Any]:
    return await bodies(spot_trader)


DAMAGE = [
    ("trade", "qty", None, "field 'qty' is missing"),
    ("trade", "qty", "abc", "field 'qty' is not a number: 'abc'"),
    ("trade", "qty", "NaN", "field 'qty' must be positive, got 'NaN'"),
    ("trade", "price", "-1", "field 'price' must be positive, got '-1'"),
    ("trade", "commission", "Infinity", "field 'commission' must be finite"),
    ("trade", "id", "17", "field 'id' must be a non-negative integer, got '17'"),
    ("trade", "id", -3, "field 'id' must be a non-negative integer, got -3"),
    ("trade", "isBuyer", "true", "'isBuyer' and 'isMaker' must be booleans"),
    ("trade", "time", 1.5, "field 'time' must be a non-negative integer"),
    ("order", "status", "HALF_DONE", "field 'status' has an unknown value 'HALF_DONE'"),
    ("order", "side", "LONG", "field 'side' has an unknown value 'LONG'"),
    ("order", "executedQty", "-0.001", "field 'executedQty' must be non-negative"),
    ("order", "clientOrderId", "", "field 'clientOrderId' must be a short non-empty string"),
    ("order", "orderId", True, "field 'orderId' must be a non-negative integer, got True"),
    ("order", "origQty", [1], "field 'origQty' is not a number: [1]"),
]


@pytest.mark.parametrize(("body", "name", "value", "message"), DAMAGE)
def test_damaged_real_bodies_name_the_field(
    real: dict[str, Any], body: str, name: str, value: Any, message: str
) -> None:
    sample = copy.deepcopy(real["trades"][0] if body == "trade" else real["open"][0])
    if value is None:
        del sample[name]
    else:
        sample[name] = value
    parse = (lambda b: parse_trade(b, "spot", "trades[0]")) if body == "trade" else parse_order
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse(sample)


def test_real_bodies_parse(real: dict[str, Any]) -> None:
    trade = parse_trade(real["trades"][0], "spot")
    assert trade.symbol == SYMBOL and trade.qty > 0 and trade.commission_asset == "BTC"
    (order,) = [parse_order(o) for o in real["open"]]
    assert order.client_order_id == "resting-1" and order.executed_qty == 0.0
    balances = parse_spot_balances(real["account"])
    assert {"BTC", "USDT"} <= balances.keys()


def test_account_bodies_refuse_duplicates_and_non_lists(real: dict[str, Any]) -> None:
    account = copy.deepcopy(real["account"])
    account["balances"].append(dict(account["balances"][0]))
    asset = account["balances"][0]["asset"]
    with pytest.raises(InvalidInput, match=f"asset '{asset}' is reported twice"):
        parse_spot_balances(account)
    with pytest.raises(InvalidInput, match=r"account.balances: expected a JSON list, got dict"):
        parse_spot_balances({"balances": {}})
    with pytest.raises(InvalidInput, match=r"account: field 'positions' is missing"):
        parse_usdm_account({"assets": []})
    with pytest.raises(InvalidInput, match="expected a JSON object, got str"):
        parse_trade("not a trade", "usdm")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.data(),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.text(max_size=80),
        st.lists(st.integers(), max_size=2),
    ),
)
def test_any_damage_to_a_trade_is_refused_or_harmless(
    real: dict[str, Any], data: st.DataObject, value: Any
) -> None:
    """Whatever one field becomes, parsing raises InvalidInput or returns a trade whose numbers
    are finite and whose quantities and price are positive: never another error, never NaN."""
    sample = copy.deepcopy(real["trades"][0])
    name = data.draw(st.sampled_from(sorted(sample)))
    sample[name] = value
    try:
        trade = parse_trade(sample, "spot")
    except InvalidInput:
        return
    assert all(math.isfinite(x) for x in (trade.price, trade.qty, trade.commission))
    assert trade.price > 0 and trade.qty > 0 and trade.trade_id >= 0


async def test_malformed_answer_from_the_exchange_halts_the_check(
    server: LocalExchange, spot_trader: Trader
) -> None:
    await spot_trader.target(0.002)
    believed = spot_trader.believed()
    orders = {c: o.to_json() for c, o in spot_trader.manager.orders.items()}
    server.out_of_band("USDT", "NaN")  # the exchange now serves "free": "NaN"
    report = await check(spot_trader.gateway, believed)
    assert report.verdict is Verdict.HALT and report.repairs == ()
    (d,) = report.discrepancies
    assert d.kind is DiscrepancyKind.MALFORMED_RESPONSE
    assert "account.balances[" in d.detail and "field 'free' must be finite, got 'NaN'" in d.detail
    assert spot_trader.believed() == believed
    assert {c: o.to_json() for c, o in spot_trader.manager.orders.items()} == orders


async def test_check_of_a_healthy_account_is_ok(spot_trader: Trader) -> None:
    await spot_trader.target(0.002)
    report = await check(spot_trader.gateway, spot_trader.believed())
    assert report.verdict is Verdict.OK and report.discrepancies == ()


def test_a_belief_that_cannot_be_judged_is_refused() -> None:
    f = SymbolFilters(SYMBOL, "0.01", "0.00001", base_asset="BTC", quote_asset="USDT")
    filters = {SYMBOL: f}
    with pytest.raises(InvalidInput, match="believed balance of USDT must be finite, got nan"):
        BelievedState("spot", filters, {}, frozenset(), 0, {"USDT": math.nan})
    with pytest.raises(InvalidInput, match="need the symbol's base and quote asset"):
        BelievedState(
            "spot", {SYMBOL: SymbolFilters(SYMBOL, "0.01", "0.00001")}, {}, frozenset(), 0, {}
        )
    with pytest.raises(InvalidInput, match="since_ms must be non-negative"):
        BelievedState("spot", filters, {}, frozenset(), -1, {})
    believed = BelievedState("spot", filters, {}, frozenset(), 0, {"USDT": 1.0})
    usdm = ExchangeState("usdm", 1, (), {}, (), {})
    with pytest.raises(InvalidInput, match="believed spot state against a usdm account"):
        reconcile(believed, usdm)


async def test_a_trade_window_too_far_back_is_refused_before_any_request(
    spot_trader: Trader,
) -> None:
    believed = dataclasses.replace(spot_trader.believed(), since_ms=0)
    requests = spot_trader.gateway.rest.metrics.requests
    with pytest.raises(InvalidInput, match=r"since_ms is \d+ days back \(at most 90"):
        await check(spot_trader.gateway, believed)
    assert spot_trader.gateway.rest.metrics.requests == requests


def test_usdm_account_entry_prices_one_way_hedge_and_malformed() -> None:
    assets = [{"asset": "USDT", "walletBalance": "100"}]

    def leg(amount: str, entry: Any) -> dict[str, Any]:
        return {"symbol": "BTCUSDT", "positionAmt": amount, "entryPrice": entry}

    _, pos, entries = parse_usdm_account(
        {"assets": assets, "positions": [leg("0.005", "60000.01")]}
    )
    assert pos == {"BTCUSDT": 0.005} and entries == {"BTCUSDT": 60000.01}  # the price as it is
    hedged = {"assets": assets, "positions": [leg("0.003", "60000"), leg("-0.001", "62000")]}
    _, pos, entries = parse_usdm_account(hedged)
    assert pos["BTCUSDT"] == pytest.approx(0.002)
    assert entries["BTCUSDT"] == pytest.approx((0.003 * 60000 - 0.001 * 62000) / 0.002)
    _, pos, entries = parse_usdm_account({"assets": assets, "positions": [leg("0", "0")]})
    assert pos == {"BTCUSDT": 0.0} and entries == {}  # flat: no entry price
    for bad in ("0", "-1", "nan", None):
        with pytest.raises(InvalidInput, match=r"account.positions\[0\].*entryPrice"):
            parse_usdm_account({"assets": assets, "positions": [leg("0.005", bad)]})
