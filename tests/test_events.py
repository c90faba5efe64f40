"""events: ``Bar`` validation (one fast chain, detailed messages on refusal) and
``fast_frozen_init`` (the hot-path constructor of the per-bar frozen dataclasses)."""

from __future__ import annotations

import dataclasses
import math
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradtrade.engine.loop import DecisionRecord, EquityPoint
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar, Decision, fast_frozen_init
from gradtrade.strategy.book import BookTop
from gradtrade.strategy.protocol import StrategyContext

PRICES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 1e-300, 5e-324, 1e308, math.inf, -math.inf, math.nan]),
)


def _valid(o: float, h: float, lo: float, c: float, v: float, t0: int, t1: int) -> bool:
    """The rule the docstring states, written independently of ``Bar``."""
    prices = (o, h, lo, c)
    return (
        t1 > t0
        and all(math.isfinite(p) and p > 0 for p in prices)
        and math.isfinite(v)
        and v >= 0
        and lo <= o <= h
        and lo <= c <= h
    )


@given(PRICES, PRICES, PRICES, PRICES, PRICES, st.integers(-5, 5))
def test_bar_accepts_exactly_the_valid_candles(
    o: float, h: float, lo: float, c: float, v: float, dt: int
) -> None:
    if _valid(o, h, lo, c, v, 0, dt):
        bar = Bar("BTCUSDT", 0, dt, o, h, lo, c, v)
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (o, h, lo, c, v)
        assert bar.ts_ns == dt
    else:
        with pytest.raises(InvalidInput):
            Bar("BTCUSDT", 0, dt, o, h, lo, c, v)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((5, 5, 1.0, 1.0, 1.0, 1.0, 1.0), "bar close time 5 is not after its open 5"),
        ((0, 1, math.nan, 1.0, 1.0, 1.0, 1.0), "bar.open must be positive and finite, got nan"),
        ((0, 1, 1.0, math.inf, 1.0, 1.0, 1.0), "bar.high must be positive and finite, got inf"),
        ((0, 1, 1.0, 1.0, 0.0, 1.0, 1.0), "bar.low must be positive and finite, got 0.0"),
        ((0, 1, 1.0, 1.0, 1.0, 1.0, -1.0), "bar.volume must be non-negative and finite"),
        ((0, 1, 1.0, 2.0, 1.5, 1.8, 1.0), "low 1.5 / high 2.0 do not bound open 1.0"),
        ((0, 1, 1.0, 1.5, 0.5, 2.0, 1.0), "low 0.5 / high 1.5 do not bound open 1.0 and close 2.0"),
    ],
)
def test_a_refused_bar_names_what_is_wrong(args: tuple[float, ...], message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        Bar("BTCUSDT", *args)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", [Bar, EquityPoint, StrategyContext, BookTop, DecisionRecord])
def test_fast_init_builds_the_same_frozen_objects(cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    samples = {
        Bar: ("BTCUSDT", 0, 60, 10.0, 12.0, 9.0, 11.0, 3.0),
        EquityPoint: (60, 11.0, 1000.0, 0.5, 0.3, 0.01, None),
        StrategyContext: (60, "BTCUSDT", 0.5, 1000.0, 11.0),
        BookTop: ("BTCUSDT", 60, True, 10.0, 1.0, 10.5, 2.0, 3),
        DecisionRecord: (Decision("BTCUSDT", 60, 0.5, 0.0, 1e-4, "s"), 0.25, 0.5),
    }
    values = samples[cls]
    positional, keyword = cls(*values), cls(**dict(zip(names, values, strict=True)))
    assert positional == keyword
    assert tuple(getattr(positional, n) for n in names) == values
    assert hash(positional) == hash(keyword)
    assert pickle.loads(pickle.dumps(positional)) == positional
    assert dataclasses.replace(positional, **{names[-1]: values[-1]}) == positional
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(positional, names[0], values[0])
    with pytest.raises(TypeError):
        cls(*values[:1])  # a missing argument is still an error
    unchecked = cls._unchecked(*values)  # built through the mutable twin of its slots
    assert type(unchecked) is cls and unchecked == positional
    assert hash(unchecked) == hash(positional) and repr(unchecked) == repr(positional)
    assert pickle.loads(pickle.dumps(unchecked)) == positional
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(unchecked, names[0], values[0])


def test_fast_init_refuses_what_it_cannot_reproduce() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class KeywordOnly:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived(Base):  # the twin of its slots would not share its layout
        b: int

    for cls in (NoSlots, NotFrozen, WithFactory, KeywordOnly, Derived):
        with pytest.raises(TypeError):
            fast_frozen_init(cls)


def test_bar_series_builds_the_same_bars_and_refuses_the_first_bad_row() -> None:
    n = 50
    t0 = [i * 60 for i in range(n)]
    t1 = [t + 60 for t in t0]
    o = [100.0 + i for i in range(n)]
    h = [x + 2.0 for x in o]
    lo = [x - 1.0 for x in o]
    c = [x + 0.5 for x in o]
    v = [float(i) for i in range(n)]
    bars = Bar.series("BTCUSDT", t0, t1, o, h, lo, c, v)
    rows = zip(t0, t1, o, h, lo, c, v, strict=True)
    assert bars == [Bar("BTCUSDT", *row) for row in rows]
    assert all(type(b.open) is float and type(b.open_time_ns) is int for b in bars)
    bad_c = list(c)
    bad_c[7], bad_c[9] = h[7] + 1.0, math.nan
    with pytest.raises(InvalidInput, match=r"bar at 420: low 106.0 / high 109.0 do not bound"):
        Bar.series("BTCUSDT", t0, t1, o, h, lo, bad_c, v)
    bad_t1 = list(t1)
    bad_t1[1] = t0[1]
    with pytest.raises(InvalidInput, match="bar close time 60 is not after its open 60"):
        Bar.series("BTCUSDT", t0, bad_t1, o, h, lo, c, v)
    with pytest.raises(InvalidInput, match="same length"):
        Bar.series("BTCUSDT", t0, t1, o[:-1], h, lo, c, v)
    assert Bar.series("BTCUSDT", [], [], [], [], [], [], []) == []


def test_fast_init_keeps_plain_defaults() -> None:
    top = BookTop("BTCUSDT", 60, False, None, None, None, None)
    assert top.gaps == 0
    assert BookTop("BTCUSDT", 60, False, None, None, None, None, gaps=2).gaps == 2
    with pytest.raises(TypeError):
        BookTop("BTCUSDT", 60)  # type: ignore[call-arg]
