"""RiskLimits, SymbolFilters (from real exchangeInfo) and the RiskEngine pre-trade check."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.core import (
    Decision,
    InvalidInput,
    RejectReason,
    RiskEngine,
    RiskLimits,
    Side,
    SymbolFilters,
    TradingState,
)

LIMITS = {
    "max_order_notional": 20_000.0,
    "max_position": 0.5,
    "max_leverage": 3.0,
    "max_open_orders": 4,
    "max_orders_per_second": 3,
    "price_band_bps": 50.0,
    "reduce_drawdown": 0.05,
    "halt_drawdown": 0.10,
}


def exchange_info(data_dir: Path, name: str) -> str:
    """Body of a cryptofeed `URL -> ts: body` exchangeInfo recording."""
    first_line = (data_dir / "recordings" / "cryptofeed" / name).read_text().splitlines()[0]
    return first_line.split(": ", 1)[1]


def btc_filters() -> SymbolFilters:
    return SymbolFilters(
        "BTCUSDT", "0.01", "0.00001", min_qty="0.00001", min_notional=5, max_qty=9000
    )


def engine() -> RiskEngine:
    return RiskEngine(RiskLimits(**LIMITS), btc_filters())


def check(
    e: RiskEngine,
    side: Side = Side.BUY,
    quantity: float = 0.1,
    price: float = 60_000.0,
    *,
    mid: float = 60_000.0,
    position: float = 0.0,
    open_orders: int = 0,
    equity: float = 10_000.0,
    now_ns: int = 0,
    reduce_only: bool = False,
) -> Decision:
    return e.check(
        side, quantity, price, mid, position, open_orders, equity, now_ns, reduce_only=reduce_only
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_order_notional", math.nan),
        ("max_position", -1.0),
        ("max_leverage", math.inf),
        ("max_open_orders", 0),
        ("max_orders_per_second", 0),
        ("price_band_bps", 0.0),
        ("reduce_drawdown", 0.2),  # above halt_drawdown
        ("halt_drawdown", 1.5),
    ],
)
def test_bad_limits_name_the_field(field: str, value: float) -> None:
    with pytest.raises(InvalidInput, match=field):
        RiskLimits(**{**LIMITS, field: value})


def test_limits_and_filters_round_trip_json() -> None:
    limits = RiskLimits(**LIMITS)
    assert RiskLimits.from_json(limits.to_json()) == limits
    assert limits.max_open_orders == 4
    filters = btc_filters()
    assert SymbolFilters.from_json(filters.to_json().encode()) == filters
    with pytest.raises(InvalidInput):
        RiskLimits.from_json(limits.to_json().replace("3.0", "-3.0"))
    with pytest.raises(InvalidInput):
        SymbolFilters.from_json("{}")


def test_filters_validate_inputs() -> None:
    with pytest.raises(InvalidInput, match="not a decimal"):
        SymbolFilters("BTCUSDT", "abc", "0.001")
    with pytest.raises(InvalidInput, match="positive"):
        SymbolFilters("BTCUSDT", -0.01, "0.001")
    with pytest.raises(InvalidInput, match="min_notional"):
        SymbolFilters("BTCUSDT", "0.01", "0.001", min_notional=math.nan)
    with pytest.raises(InvalidInput, match="empty"):
        SymbolFilters("", "0.01", "0.001")


def test_spot_exchange_info(data_dir: Path) -> None:
    raw = exchange_info(data_dir, "BINANCE.0")
    btc = SymbolFilters.from_exchange_info_json(raw, "BTCUSDT")
    assert (btc.tick_size, btc.step_size, btc.min_qty, btc.min_notional) == (
        0.01,
        0.00001,
        0.00001,
        10.0,
    )
    assert (btc.min_price, btc.max_price, btc.max_qty) == (0.01, 1_000_000.0, 9000.0)
    assert (btc.base_asset, btc.quote_asset) == ("BTC", "USDT")
    nkn = SymbolFilters.from_exchange_info_json(raw.encode(), "NKNUSDT")
    assert (nkn.tick_size, nkn.step_size, nkn.min_qty) == (0.0001, 1.0, 1.0)
    with pytest.raises(InvalidInput, match="NOPE"):
        SymbolFilters.from_exchange_info_json(raw, "NOPE")


def test_usdm_exchange_info(data_dir: Path) -> None:
    raw = exchange_info(data_dir, "BINANCE_FUTURES.0")
    btc = SymbolFilters.from_exchange_info_json(raw, "BTCUSDT")
    # USD-M spells the minimum notional {"filterType": "MIN_NOTIONAL", "notional": "5"}.
    assert (btc.tick_size, btc.step_size, btc.min_qty, btc.min_notional) == (
        0.01,
        0.001,
        0.001,
        5.0,
    )
    assert btc.min_price == 556.72
    sushi = SymbolFilters.from_exchange_info_json(raw, "SUSHIUSDT")
    assert (sushi.tick_size, sushi.step_size) == (0.001, 1.0)


@pytest.mark.parametrize("name", ["BINANCE.0", "BINANCE_FUTURES.0"])
def test_every_recorded_symbol_parses_exactly(data_dir: Path, name: str) -> None:
    raw = exchange_info(data_dir, name)
    info = json.loads(raw)
    parsed = SymbolFilters.all_from_exchange_info_json(raw)
    assert len(parsed) == len(info["symbols"]) > 100
    for entry in info["symbols"]:
        filters = {f["filterType"]: f for f in entry["filters"]}
        got = parsed[entry["symbol"]]
        price, lot = filters["PRICE_FILTER"], filters["LOT_SIZE"]
        assert got.tick_size == float(Decimal(price["tickSize"]))
        assert got.step_size == float(Decimal(lot["stepSize"]))
        assert got.min_qty == max(float(Decimal(lot["minQty"])), got.step_size)
        notional = filters.get("MIN_NOTIONAL") or filters.get("NOTIONAL") or {}
        expected = notional.get("minNotional", notional.get("notional", "0"))
        assert got.min_notional == float(expected)
        assert got.quote_asset == entry["quoteAsset"]
    one = SymbolFilters.from_exchange_info_json(raw, info["symbols"][-1]["symbol"])
    assert one == parsed[info["symbols"][-1]["symbol"]]


def test_approves_a_plain_order() -> None:
    d = check(engine())
    assert d.approved and bool(d) and d.reason is None and d.message == ""


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"price": 60_000.005}, RejectReason.PRICE_TICK),
        ({"quantity": 0.100005}, RejectReason.QUANTITY_STEP),
        ({"quantity": 0.00005}, RejectReason.MIN_NOTIONAL),
        ({"quantity": 9001.0, "price": 60_000.0}, RejectReason.MAX_QUANTITY),
        ({"price": 60_300.01}, RejectReason.PRICE_BAND),
        ({"price": 59_699.99}, RejectReason.PRICE_BAND),
        ({"quantity": 0.4}, RejectReason.MAX_ORDER_NOTIONAL),
        ({"quantity": 0.3, "position": 0.3}, RejectReason.MAX_POSITION),
        ({"quantity": 0.3, "position": 0.2, "equity": 9_000.0}, RejectReason.MAX_LEVERAGE),
        ({"equity": 0.0}, RejectReason.MAX_LEVERAGE),
        ({"open_orders": 4}, RejectReason.MAX_OPEN_ORDERS),
        ({"quantity": math.nan}, RejectReason.INVALID_ORDER),
        ({"price": -1.0}, RejectReason.INVALID_ORDER),
        ({"mid": math.inf}, RejectReason.INVALID_ORDER),
        ({"equity": math.nan}, RejectReason.INVALID_ORDER),
        ({"open_orders": -1}, RejectReason.INVALID_ORDER),
        ({"side": Side.SELL, "quantity": 0.2, "position": 0.1, "reduce_only": True},
         RejectReason.REDUCE_ONLY),
    ],
)  # fmt: skip
def test_each_limit_rejects_with_its_reason(
    kwargs: dict[str, object], reason: RejectReason
) -> None:
    d = check(engine(), **kwargs)  # type: ignore[arg-type]
    assert not d.approved and not d
    assert d.reason == reason
    assert d.message  # a sentence for the log


def test_boundaries_are_inclusive() -> None:
    e = engine()
    assert check(e, price=60_300.0)  # exactly 50 bps
    assert check(e, price=59_700.0)
    assert check(e, quantity=1 / 3 * 1e-3 * 3)  # 0.001 after float noise
    assert check(e, quantity=0.5, position=0.0, equity=10_000.0).reason == (
        RejectReason.MAX_ORDER_NOTIONAL
    )
    # 0.2 + 0.3 = 0.5 = max_position, 30000 = 3 * 10000 = max leverage: both at the limit.
    assert check(e, quantity=0.3, position=0.2)


def test_reducing_orders_pass_position_and_leverage_limits() -> None:
    e = engine()
    # Already above max_position (limits changed): selling down is allowed, buying is not.
    assert check(e, Side.SELL, 0.3, position=0.9, equity=1_000.0)
    assert check(e, Side.BUY, 0.1, position=0.9).reason == RejectReason.MAX_POSITION
    # Flipping through zero counts as increasing exposure.
    assert check(e, Side.SELL, 0.3, position=0.2, reduce_only=True).reason == (
        RejectReason.REDUCE_ONLY
    )
    assert check(e, Side.SELL, 0.2, position=0.2, reduce_only=True)


def test_breaker_states_gate_orders() -> None:
    e = engine()
    assert e.update_equity(10_000.0) == TradingState.ACTIVE
    assert e.update_equity(9_400.0) == TradingState.REDUCING
    assert e.drawdown == pytest.approx(0.06)
    assert check(e, Side.BUY, 0.1).reason == RejectReason.REDUCING
    assert check(e, Side.SELL, 0.1, position=0.2)  # reduces
    assert check(e, Side.SELL, 0.1, position=-0.2).reason == RejectReason.REDUCING
    assert e.update_equity(10_500.0) == TradingState.REDUCING  # sticky until reset
    assert e.update_equity(9_400.0) == TradingState.HALTED  # 10.5% below 10500
    assert check(e, Side.SELL, 0.1, position=0.2).reason == RejectReason.HALTED
    e.reset()
    assert e.state == TradingState.ACTIVE
    assert check(e, Side.BUY, 0.1)
    with pytest.raises(InvalidInput):
        e.update_equity(math.nan)


def test_rate_limit_is_a_sliding_second() -> None:
    e = engine()
    for t in (0, 100, 200):
        assert e.check_and_record(Side.BUY, 0.01, 60_000.0, 60_000.0, 0.0, 0, 10_000.0, t)
    # check alone never records: asking twice gives the same answer.
    for _ in range(2):
        assert check(e, quantity=0.01, now_ns=999_999_999).reason == RejectReason.RATE_LIMIT
    assert check(e, quantity=0.01, now_ns=1_000_000_000)
    e.record_order(1_000_000_000)
    assert check(e, quantity=0.01, now_ns=1_000_000_099).reason == RejectReason.RATE_LIMIT
    assert check(e, quantity=0.01, now_ns=1_000_000_100)
    # A rejected check_and_record does not count.
    rejected = e.check_and_record(Side.BUY, 0.01, 59_000.0, 60_000.0, 0.0, 0, 10_000.0, 2 * 10**9)
    assert rejected.reason == RejectReason.PRICE_BAND


def test_engine_json_restores_breaker_and_rate_window() -> None:
    e = engine()
    e.update_equity(100.0)
    e.update_equity(94.0)
    for t in (0, 1, 2):
        e.record_order(t)
    back = RiskEngine.from_json(e.to_json())
    assert back.state == TradingState.REDUCING
    assert check(back, Side.SELL, 0.01, position=0.1, now_ns=3).reason == RejectReason.RATE_LIMIT
    assert back.limits == e.limits and back.filters == e.filters
    with pytest.raises(InvalidInput):
        RiskEngine.from_json('{"limits": 1}')


finite = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=300, deadline=None)
@given(
    buy=st.booleans(),
    steps=st.integers(1, 100_000),
    ticks=st.integers(5_900_000, 6_100_000),
    position_steps=st.integers(-60_000, 60_000),
    equity=st.floats(100.0, 50_000.0),
    open_orders=st.integers(0, 6),
)
def test_approved_orders_respect_every_limit(
    buy: bool, steps: int, ticks: int, position_steps: int, equity: float, open_orders: int
) -> None:
    side = Side.BUY if buy else Side.SELL
    quantity, price, position = steps * 1e-5, ticks / 100, position_steps * 1e-5
    d = check(
        engine(), side, quantity, price, position=position, equity=equity, open_orders=open_orders
    )
    if d.approved:
        after = position + side.sign * quantity
        assert 5.0 * (1 - 1e-9) <= quantity * price <= 20_000.0 * (1 + 1e-9)
        assert abs(price - 60_000.0) <= 300.0 + 1e-6
        assert open_orders < 4
        if abs(after) > abs(position):
            assert abs(after) <= 0.5 + 1e-12
            assert abs(after) * 60_000.0 <= 3.0 * equity * (1 + 1e-9)
    else:
        assert d.reason is not None and d.message


@settings(max_examples=300, deadline=None)
@given(q=finite, p=finite, m=finite, pos=finite, eq=finite, now=st.integers(-(2**63), 2**63 - 1))
def test_check_never_raises(q: float, p: float, m: float, pos: float, eq: float, now: int) -> None:
    d = engine().check(Side.SELL, q, p, m, pos, 0, eq, now)
    assert isinstance(d, Decision)
    assert d.approved == (d.reason is None)
