"""``L2SimulatedVenue`` on the real spot recording: the protocol's typed events, in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradtrade.core import L2VenueConfig, Latency, Recording, Side, SymbolFilters
from gradtrade.data.recordings import read_hftbacktest
from gradtrade.events import FillEvent, IntentKind, Liquidity, OrderStyle
from gradtrade.execution.client import Ack, Canceled, OrderRequest, VenueReject, VenueRejectReason
from gradtrade.execution.l2_venue import L2SimulatedVenue

S = 1_000_000_000


@pytest.fixture(scope="module")
def recording(data_dir: Path) -> tuple[Recording, int]:
    spot = data_dir / "recordings" / "hftbacktest" / "spot"
    frames = list(read_hftbacktest(spot / "btcusdt_20240808.gz"))
    return Recording.from_frames(frames), frames[0].ts_ns


@pytest.fixture
def venue(recording: tuple[Recording, int]) -> L2SimulatedVenue:
    rec, _ = recording
    rec.rewind()
    filters = SymbolFilters("BTCUSDT", "0.01", "0.00000001", "0", "0")
    config = L2VenueConfig(
        maker_fee_rate=0.0002, taker_fee_rate=0.001,
        entry_latency=Latency.constant(5_000_000), cancel_latency=Latency.constant(3_000_000),
    )  # fmt: skip
    return L2SimulatedVenue(rec, filters, config)


def req(cid: str, side: Side, qty: float, style: OrderStyle, ts: int, price: float | None = None,
        ref: float = 60_000.0) -> OrderRequest:  # fmt: skip
    return OrderRequest(cid, "BTCUSDT", side, qty, style, IntentKind.REBALANCE, ts, ref, price)


def test_a_market_order_is_acked_then_filled_walking_the_book(venue, recording) -> None:
    _, t0 = recording
    venue.advance(t0 + 60 * S)
    valid, bid, ask = venue.top()
    assert valid and bid is not None and ask is not None and bid[0] < ask[0]
    now = t0 + 60 * S
    venue.submit(req("m.0.1", Side.BUY, 0.5, OrderStyle.MARKET, now, ref=ask[0]))
    assert venue.poll() == []  # not arrived yet: the entry latency
    venue.advance(now + S)
    events = venue.poll()
    assert isinstance(events[0], Ack) and events[0].ts_ns == now + 5_000_000
    fills = [e for e in events if isinstance(e, FillEvent)]
    assert fills and all(f.liquidity == Liquidity.TAKER for f in fills)
    assert sum(f.qty for f in fills) == pytest.approx(0.5, abs=1e-9)
    assert all(f.ts_ns == events[0].ts_ns for f in fills)  # it walked the book at arrival
    prices = [f.price for f in fills]
    assert prices == sorted(prices)  # level by level, best first
    assert all(f.slippage == pytest.approx((f.price - ask[0]) * f.qty) for f in fills)
    assert len({f.trade_id for f in fills}) == len(fills)
    assert venue.venue.position == pytest.approx(0.5, abs=1e-12)


def test_refusals_are_typed_and_change_nothing(venue, recording) -> None:
    _, t0 = recording
    now = t0 + 60 * S
    venue.advance(now)
    _, bid, ask = venue.top()
    assert bid is not None and ask is not None
    venue.submit(req("a.0.1", Side.BUY, 0.0000000115, OrderStyle.MARKET, now))
    venue.submit(req("a.0.2", Side.SELL, 0.001, OrderStyle.STOP_MARKET, now, price=50_000.0))
    venue.submit(req("a.0.3", Side.BUY, 0.001, OrderStyle.POST_ONLY, now, price=ask[0] + 10))
    venue.cancel("a.0.9", now)
    venue.advance(now + S)
    by_id = {e.client_order_id: e for e in venue.poll()}
    assert by_id["a.0.1"].reason == VenueRejectReason.INVALID_ORDER  # type: ignore[union-attr]
    assert by_id["a.0.2"].reason == VenueRejectReason.UNSUPPORTED  # type: ignore[union-attr]
    assert by_id["a.0.3"].reason == VenueRejectReason.WOULD_TAKE  # type: ignore[union-attr]
    assert by_id["a.0.9"].reason == VenueRejectReason.UNKNOWN_ORDER  # type: ignore[union-attr]
    assert all(isinstance(e, VenueReject) for e in by_id.values())
    assert venue.venue.position == 0 and venue.venue.open_orders == 0


def test_an_order_before_the_snapshot_is_refused_retryably(venue, recording) -> None:
    _, t0 = recording
    venue.submit(req("b.0.1", Side.BUY, 0.001, OrderStyle.MARKET, t0 - S))
    venue.advance(t0 - S + 10_000_000)
    assert not venue.synced
    (event,) = venue.poll()
    assert isinstance(event, VenueReject) and event.reason == VenueRejectReason.UNAVAILABLE
    assert event.reason.retryable


def test_a_resting_order_is_cancelled_with_latency(venue, recording) -> None:
    _, t0 = recording
    now = t0 + 60 * S
    venue.advance(now)
    _, bid, _ = venue.top()
    assert bid is not None
    venue.submit(req("c.0.1", Side.BUY, 0.001, OrderStyle.POST_ONLY, now, price=bid[0] - 100))
    venue.advance(now + 10_000_000)
    (ack,) = venue.poll()
    assert isinstance(ack, Ack)
    venue.cancel("c.0.1", now + 10_000_000)
    venue.advance(now + 20_000_000)
    (done,) = venue.poll()
    assert isinstance(done, Canceled) and done.ts_ns == now + 13_000_000
    venue.cancel("c.0.1", now + 20_000_000)  # already gone: typed, not raised
    (again,) = venue.poll()
    assert isinstance(again, VenueReject) and again.reason == VenueRejectReason.UNKNOWN_ORDER
