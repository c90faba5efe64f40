"""The ``book:`` config section and the paper fill over the live book, without a network: the
section is off by default and refuses what no depth stream serves (naming the field), and a
market order walks a synced Rust ``OrderBook`` level by level (property test), while an
unsynced or stale book is never filled on."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.core import OrderBook, Side, SymbolFilters
from gradtrade.engine.assembly import fill_model
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar, Liquidity
from gradtrade.execution.config import FillSection
from gradtrade.live.book import LiveBook, LiveBookModel, paper_fill_model
from gradtrade.live.config import BookSection, load_trader_config, parse_trader_config
from gradtrade.venue.config import ConnectorConfig

from .harness import REPO_ROOT

TICK, STEP, FEE = 0.01, 0.00001, 0.001
FILTERS = SymbolFilters("BTCUSDT", "0.01", "0.00001", base_asset="BTC", quote_asset="USDT")
BAR = Bar("BTCUSDT", 0, 60_000_000_000, 100.0, 101.0, 99.0, 100.5, 10.0)


def test_book_section_is_off_by_default_and_the_shipped_configs_keep_it_off() -> None:
    assert parse_trader_config({}).book.enabled is False
    shipped = sorted((REPO_ROOT / "configs").glob("*trader*.yaml"))
    assert shipped
    for path in shipped:
        assert load_trader_config(path).book == BookSection(), path


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"book": {"enabled": True, "speed": "250ms"}}, "book.speed"),  # a USD-M speed on spot
        ({"venue": {"market": "usdm"}, "book": {"speed": "1000ms"}}, "book.speed"),
        ({"book": {"cadence_s": 0}}, "book.cadence_s"),
        ({"book": {"depth_levels": 1}}, "book.depth_levels"),
        ({"book": {"stale_after_s": -1}}, "book.stale_after_s"),
        ({"book": {"levels": 10}}, "book.levels"),  # unknown key
    ],
)
def test_bad_book_section_names_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput, match=field.replace(".", r"\.")):
        parse_trader_config(raw)


def test_a_disabled_section_makes_no_book() -> None:
    with pytest.raises(InvalidInput, match=r"book\.enabled"):
        LiveBook(ConnectorConfig.for_url("http://127.0.0.1:9"), "BTCUSDT", BookSection())


def _live_book(bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> LiveBook:
    """A ``LiveBook`` whose stream holds a synced book of these levels (no connection made)."""
    live = LiveBook(
        ConnectorConfig.for_url("http://127.0.0.1:9"), "BTCUSDT",
        BookSection(enabled=True, depth_levels=50, stale_after_s=5.0),
    )  # fmt: skip
    book = OrderBook("BTCUSDT", "0.01", "0.00001", "spot")
    snapshot = {
        "lastUpdateId": 10,
        "bids": [[f"{p:.2f}", f"{q:.5f}"] for p, q in bids],
        "asks": [[f"{p:.2f}", f"{q:.5f}"] for p, q in asks],
    }
    book.apply_snapshot_json(orjson.dumps(snapshot))
    live.stream.book, live.stream.synced = book, True
    live.stream.last_frame_ns = time.time_ns()
    return live


def _model(live: LiveBook) -> LiveBookModel:
    inner = fill_model(FillSection(), {"BTCUSDT": FILTERS})
    model = paper_fill_model(inner, live, FILTERS, FEE * 1e4)
    assert isinstance(model, LiveBookModel)
    return model


levels = st.lists(
    st.tuples(st.integers(1, 400), st.integers(1, 50_000)), min_size=1, max_size=30,
    unique_by=lambda x: x[0],
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(asks=levels, bids=levels, lots=st.integers(1, 300_000), buy=st.booleans())
def test_a_market_order_walks_the_live_book(
    asks: list[tuple[int, int]], bids: list[tuple[int, int]], lots: int, buy: bool
) -> None:
    ask_levels = sorted((100.0 + t * TICK, q * STEP) for t, q in asks)
    bid_levels = sorted(((100.0 - t * TICK, q * STEP) for t, q in bids), reverse=True)
    live = _live_book(bid_levels, ask_levels)
    model = _model(live)
    assert model.immediate and live.is_valid
    side = Side.BUY if buy else Side.SELL
    qty = lots * STEP
    quote = model.market(side, qty, BAR)
    book_side = ask_levels if buy else bid_levels
    assert quote.liquidity == Liquidity.TAKER and model.book_fills == 1
    # best price first, one fill per level, never more than the level or the order holds
    assert [round(p / TICK) for p, _, _ in quote.levels] == [
        round(p / TICK) for p, _ in book_side[: len(quote.levels)]
    ]
    for (price, q, fee), (_, level_qty) in zip(quote.levels, book_side, strict=False):
        assert 0 < q <= level_qty + 1e-12
        assert fee == pytest.approx(price * q * FEE)
    available = sum(q for _, q in book_side)
    assert quote.qty == pytest.approx(min(qty, available), abs=STEP / 2)
    if quote.levels:
        vwap = sum(p * q for p, q, _ in quote.levels) / quote.qty
        assert quote.price == pytest.approx(vwap)


def test_an_unsynced_or_stale_book_is_never_filled_on() -> None:
    live = _live_book([(99.99, 1.0)], [(100.01, 1.0)])
    model = _model(live)
    live.stream.synced = False  # a gap: resyncing
    assert not live.is_valid and live.top() == (False, None, None)
    assert not model.immediate  # the venue holds the market order for the next bar
    quote = model.market(Side.BUY, 0.5, BAR)  # the next bar, still resyncing: the candle model
    assert model.book_fills == 0 and model.fallback_fills == 1 and not quote.levels
    live.stream.synced = True
    live.stream.last_frame_ns = time.time_ns() - 6_000_000_000  # silent past stale_after_s
    assert not live.is_valid and not model.immediate
    live.stream.last_frame_ns = time.time_ns()
    assert live.is_valid and model.immediate
    assert live.top() == (True, (99.99, 1.0), (100.01, 1.0))
    with pytest.raises(InvalidInput, match="immediate"):
        model.immediate = True


def test_without_a_book_the_paper_model_is_the_configured_one(tmp_path: Path) -> None:
    inner = fill_model(FillSection(), {"BTCUSDT": FILTERS})
    assert paper_fill_model(inner, None, FILTERS, 10.0) is inner
