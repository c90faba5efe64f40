"""SimulatedVenue on the Rust candle model: acks before fills, typed refusals, post-only
arrival and volume-capped partial fills, stops, OCO, tick rounding."""

from __future__ import annotations

import pytest

from gradtrade.core import Side
from gradtrade.events import Bar, FillEvent, IntentKind, OrderStyle
from gradtrade.execution import Ack, Canceled, OrderRequest, SimulatedVenue, VenueReject
from gradtrade.execution import VenueRejectReason as R

H = 3_600_000_000_000


def _bar(i: int, o: float, h: float, lo: float, c: float) -> Bar:
    return Bar("BTCUSDT", i * H, (i + 1) * H, o, h, lo, c, 10.0)


def _req(cid: str, side: Side, qty: float, style: OrderStyle, price: float | None = None,
         ts: int = 0) -> OrderRequest:  # fmt: skip
    return OrderRequest(cid, "BTCUSDT", side, qty, style, IntentKind.REBALANCE, ts, 100.0, price)


def test_market_order_fills_at_the_decision_close_with_the_flat_cost(
    venue: SimulatedVenue,
) -> None:
    venue.on_market(_bar(0, 100.0, 101.0, 99.0, 100.5))
    venue.submit(_req("a.0.1", Side.BUY, 0.5, OrderStyle.MARKET))
    ack, fill = venue.poll()
    assert isinstance(ack, Ack) and isinstance(fill, FillEvent)
    assert (fill.price, fill.qty) == (100.5, 0.5)
    assert fill.fee == pytest.approx(0.5 * 100.5 * 10e-4)
    assert fill.slippage == pytest.approx(0.5 * 0.5)  # against the reference price 100
    assert venue.poll() == []


def test_refusals_are_typed(venue: SimulatedVenue) -> None:
    venue.submit(_req("a.0.1", Side.BUY, 0.000015, OrderStyle.MARKET))
    venue.submit(_req("a.0.2", Side.BUY, 0.1, OrderStyle.POST_ONLY, None))
    venue.cancel("a.0.3", 0)
    reasons = [e.reason for e in venue.poll() if isinstance(e, VenueReject)]
    assert reasons == [R.INVALID_ORDER, R.INVALID_ORDER, R.UNKNOWN_ORDER]
    assert not any(r.retryable for r in reasons)


def test_stops_gap_to_the_open_and_the_stop_loss_wins_a_two_sided_bar(
    venue: SimulatedVenue,
) -> None:
    venue.on_market(_bar(0, 100.0, 101.0, 99.0, 100.0))
    venue.submit(_req("a.0.1", Side.SELL, 0.5, OrderStyle.STOP_MARKET, 95.0))
    venue.submit(_req("a.0.2", Side.SELL, 0.5, OrderStyle.TAKE_PROFIT_MARKET, 105.0))
    venue.poll()
    venue.on_market(_bar(1, 100.0, 104.0, 96.0, 101.0))  # reaches neither
    assert venue.poll() == []
    venue.on_market(_bar(2, 101.0, 106.0, 94.0, 100.0))  # reaches both: adverse first
    fill, canceled = venue.poll()
    assert isinstance(fill, FillEvent) and fill.client_order_id == "a.0.1"
    assert fill.price == 95.0
    assert isinstance(canceled, Canceled) and canceled.client_order_id == "a.0.2"
    venue.submit(_req("a.0.3", Side.SELL, 0.5, OrderStyle.STOP_MARKET, 95.0, ts=3 * H))
    venue.poll()
    venue.on_market(_bar(3, 90.0, 92.0, 89.0, 91.0))  # gapped through: fills at the open
    (gap,) = venue.poll()
    assert isinstance(gap, FillEvent) and gap.price == 90.0


def test_off_grid_prices_round_against_us(venue: SimulatedVenue) -> None:
    venue.on_market(_bar(0, 100.0, 101.0, 99.0, 100.005))  # a close off the 0.01 tick
    venue.submit(_req("a.0.1", Side.BUY, 0.5, OrderStyle.MARKET))
    venue.submit(_req("a.0.2", Side.SELL, 0.5, OrderStyle.MARKET))
    buy, sell = (e for e in venue.poll() if isinstance(e, FillEvent))
    assert buy.price == pytest.approx(100.01) and sell.price == pytest.approx(100.0)


def test_post_only_arrives_at_the_open_and_fills_traded_through_under_the_cap(
    venue: SimulatedVenue,
) -> None:
    venue.on_market(_bar(0, 100.0, 101.0, 99.0, 100.0))
    venue.submit(_req("a.0.1", Side.BUY, 2.0, OrderStyle.POST_ONLY, 99.5))
    venue.submit(_req("a.0.2", Side.BUY, 1.0, OrderStyle.POST_ONLY, 101.0))
    assert venue.poll() == []  # nothing is acknowledged before the order reaches the market
    venue.on_market(_bar(1, 100.0, 100.5, 99.0, 99.8))  # volume 10: at most 1.0 per bar
    ack, refused, fill = venue.poll()
    assert isinstance(ack, Ack) and ack.client_order_id == "a.0.1"
    assert isinstance(fill, FillEvent) and (fill.price, fill.qty) == (99.5, 1.0)
    assert fill.liquidity.value == "maker" and fill.fee == pytest.approx(99.5 * 2e-4)
    assert isinstance(refused, VenueReject) and refused.reason == R.WOULD_TAKE  # open crossed
    venue.on_market(_bar(2, 99.8, 100.0, 99.6, 99.9))  # not traded through: no fill
    assert venue.poll() == []
    venue.on_market(_bar(3, 99.8, 100.0, 99.0, 99.9))
    (rest,) = venue.poll()
    assert isinstance(rest, FillEvent) and rest.qty == 1.0  # the remainder, never more
    venue.on_market(_bar(4, 99.8, 100.0, 98.0, 99.9))
    assert venue.poll() == []
