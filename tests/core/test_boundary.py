"""The extension's boundary behaves the same for every class: every pyclass enum is hashable and
compares by identity of variant, every ``from_json`` takes ``str | bytes`` (and nothing else),
and each Rust error variant arrives as exactly its class of ``gradtrade.errors``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradtrade.errors as errors
from gradtrade.core import (
    DrawdownBreaker,
    InvalidInput,
    KalmanFilter,
    Market,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    Position,
    PositionSizer,
    RejectReason,
    RiskEngine,
    RiskLimits,
    Side,
    StreamingFeatures,
    SymbolFilters,
    TimeInForce,
    TradingState,
)

ENUMS: list[type] = [
    Market,
    Side,
    OrderType,
    TimeInForce,
    OrderStatus,
    TradingState,
    RejectReason,
]


def variants(enum: type) -> list[Any]:
    found = [v for name, v in vars(enum).items() if not name.startswith("_") and type(v) is enum]
    assert len(found) >= 2, f"{enum.__name__} exposes fewer than two variants"
    return found


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_enum_is_hashable_and_compares_by_variant(enum: type) -> None:
    members = variants(enum)
    assert len(set(members)) == len(members)
    assert len({hash(m) for m in members}) == len(members)
    for i, a in enumerate(members):
        assert a == a
        assert hash(a) == hash(getattr(enum, str(a).split(".")[-1]))
        assert a in set(members)
        assert {a: i}[a] == i
        for b in members[i + 1 :]:
            assert a != b
        assert a == int(a)  # eq_int: every enum also equals its discriminant
    assert members[0] != object()


def filters() -> SymbolFilters:
    return SymbolFilters("BTCUSDT", "0.01", "0.00001", min_qty="0.00001", min_notional="5")


def limits() -> RiskLimits:
    return RiskLimits(
        max_order_notional=10_000.0,
        max_position=1.0,
        max_leverage=3.0,
        max_open_orders=10,
        max_orders_per_second=5,
        price_band_bps=50.0,
        reduce_drawdown=0.05,
        halt_drawdown=0.1,
    )


def synced_book() -> OrderBook:
    book = OrderBook("BTCUSDT", "0.01", "0.00001", Market.SPOT)
    book.apply_snapshot(100, [["50000.00", "1.0"]], [["50000.01", "2.0"]])
    return book


def filled_position() -> Position:
    p = Position(filters())
    p.apply_fill(Side.BUY, 0.5, 50_000.0)
    return p


# Each maker builds a real object with state; its JSON must come back through both text kinds.
MAKERS: dict[str, Callable[[], object]] = {
    "OrderBook": synced_book,
    "KalmanFilter": lambda: KalmanFilter.local_level(1e-3, 1e-2),
    "StreamingFeatures": StreamingFeatures,
    "RiskLimits": limits,
    "SymbolFilters": filters,
    "DrawdownBreaker": lambda: DrawdownBreaker(0.05, 0.1),
    "RiskEngine": lambda: RiskEngine(limits(), filters()),
    "PositionSizer": lambda: PositionSizer(
        filters(), kelly_fraction=0.5, target_vol=0.2, max_leverage=3.0
    ),
    "Order": lambda: Order("s.1.1", filters(), Side.BUY, 0.001, 50_000.0),
    "Position": filled_position,
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_every_from_json_takes_str_and_bytes(name: str) -> None:
    obj = MAKERS[name]()
    cls = type(obj)
    saved = obj.to_json()  # type: ignore[attr-defined]
    assert json.loads(saved)
    from_text = cls.from_json(saved)  # type: ignore[attr-defined]
    from_bytes = cls.from_json(saved.encode())  # type: ignore[attr-defined]
    assert from_text.to_json() == saved
    assert from_bytes.to_json() == saved


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_every_from_json_refuses_other_types_and_bad_bytes(name: str) -> None:
    cls = type(MAKERS[name]())
    with pytest.raises(TypeError, match="must be str or bytes"):
        cls.from_json(bytearray(b"{}"))  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="must be str or bytes"):
        cls.from_json({"a": 1})  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="not UTF-8"):
        cls.from_json(b"\xff{")  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput):
        cls.from_json(b"{")  # type: ignore[attr-defined]


def test_each_error_variant_raises_exactly_its_class() -> None:
    book = OrderBook("BTCUSDT", "0.01", "0.00001", Market.SPOT)
    cases: list[tuple[type[BaseException], Callable[[], object]]] = [
        (errors.InvalidInput, lambda: SymbolFilters("", "0.01", "0.1")),
        (errors.BookNotSynced, lambda: book.apply_diff(1, 2, [], [])),
        (errors.InvalidTransition, lambda: order().transition(OrderStatus.REJECTED)),
        (errors.Overfill, lambda: order().apply_fill(1, 0.002, 50_000.0)),
        (errors.NumericalError, lambda: KalmanFilter.local_level(1e-3, 1e-3).update(1e300)),
    ]

    def order() -> Order:
        o = Order("s.1.1", filters(), Side.BUY, 0.001, 50_000.0)
        o.acknowledge(7)
        return o

    for cls, call in cases:
        with pytest.raises(cls) as raised:
            call()
        assert type(raised.value) is cls, (cls, type(raised.value))
        assert str(raised.value)

    gapped = synced_book()
    with pytest.raises(errors.SequenceGap) as gap:
        gapped.apply_diff(150, 151, [], [])
    assert type(gap.value) is errors.SequenceGap
    assert (gap.value.expected, gap.value.received) == (101, 150)


def test_invalid_input_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="symbol must not be empty"):
        SymbolFilters("", "0.01", "0.1")


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("sys.modules['gradtrade.errors'] = None", "ModuleNotFoundError"),
        (
            "sys.modules['gradtrade.errors'] = types.ModuleType('gradtrade.errors')",
            "AttributeError: module 'gradtrade.errors' has no attribute 'InvalidInput'",
        ),
    ],
    ids=["unimportable", "class-missing"],
)
def test_extension_import_fails_loudly_without_the_error_classes(setup: str, error: str) -> None:
    # A fresh interpreter: the classes are resolved once, when the extension is first imported.
    code = f"import sys, types\n{setup}\nimport gradtrade._core\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert error in result.stderr, result.stderr


@settings(max_examples=200, deadline=None)
@given(
    tick_decimals=st.integers(0, 8),
    step_decimals=st.integers(0, 8),
    min_notional=st.floats(0.0, 1e6, allow_nan=False),
    as_bytes=st.booleans(),
)
def test_symbol_filters_survive_json_in_either_text_kind(
    tick_decimals: int, step_decimals: int, min_notional: float, as_bytes: bool
) -> None:
    tick = f"{10.0**-tick_decimals:.{tick_decimals}f}"
    step = f"{10.0**-step_decimals:.{step_decimals}f}"
    f = SymbolFilters("XUSDT", tick, step, min_notional=min_notional)
    saved = f.to_json()
    back = SymbolFilters.from_json(saved.encode() if as_bytes else saved)
    assert back == f
    assert back.tick_size == f.tick_size and back.min_notional == min_notional


def test_a_size_argument_of_the_wrong_type_names_itself() -> None:
    with pytest.raises(TypeError, match=r"str .* or a number, got NoneType") as raised:
        OrderBook("BTCUSDT", None, "0.1")  # type: ignore[arg-type]
    assert "while processing 'tick_size'" in raised.value.__notes__
    with pytest.raises(TypeError, match="got list") as raised:
        SymbolFilters("BTCUSDT", "0.01", "0.1", min_qty=[1])  # type: ignore[arg-type]
    assert "while processing 'min_qty'" in raised.value.__notes__
    assert OrderBook("BTCUSDT", 0.01, 1).step_size == SymbolFilters("X", "0.01", 1).step_size
