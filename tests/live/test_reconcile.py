"""Reconciliation against the real local exchange: each discrepancy made for real (orders
placed on the account behind the trader's back, fills that happened while it was down, money
moved out of band, orders the exchange never got), with the exact report and verdict."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from gradtrade.core import OrderStatus, Side
from gradtrade.errors import InvalidInput
from gradtrade.events import FillEvent, IntentKind, Liquidity, OrderIntent
from gradtrade.execution.client import (
    Canceled,
    ExecutionEvent,
    VenueReject,
    VenueRejectReason,
)
from gradtrade.live.reconcile import (
    Discrepancy,
    DiscrepancyKind,
    ReconcileConfig,
    Verdict,
    reconcile,
)
from gradtrade.live.reconcile_apply import (
    adopt,
    apply_and_recheck,
    apply_repairs,
    reconcile_trader,
)
from gradtrade.venue.orders import Answered

if TYPE_CHECKING:
    from reconcile_harness import LocalExchange, Trader

# The harness fixtures: a module beside the trader tests' conftest.py, not a second one.
pytest_plugins = ("reconcile_harness",)
SYMBOL = "BTCUSDT"

K = DiscrepancyKind


def gap(d: Discrepancy) -> float:
    """Exchange minus believed of a discrepancy that has both numbers."""
    assert d.exchange is not None and d.believed is not None, d
    return d.exchange - d.believed


def fills_only(event: ExecutionEvent) -> bool:
    return isinstance(event, FillEvent)


async def test_consistent_after_real_trading_is_ok(spot_trader: Trader) -> None:
    await spot_trader.target(0.003)
    await spot_trader.target(0.001)
    exchange = await spot_trader.exchange_state()
    report = reconcile(spot_trader.believed(), exchange)
    assert report.verdict is Verdict.OK, report.discrepancies
    assert report.discrepancies == () and report.repairs == ()
    assert len(exchange.trades) >= 2


async def test_fill_missed_while_down_is_repaired_once(spot_trader: Trader) -> None:
    cid = await spot_trader.target(0.002, drop=fills_only)
    order = spot_trader.manager.orders[cid]
    assert order.filled_qty == 0 and order.status == OrderStatus.NEW
    exchange = await spot_trader.exchange_state()
    report = reconcile(spot_trader.believed(), exchange)
    assert report.verdict is Verdict.REPAIRED
    trades = [t for t in exchange.trades if t.order_id == order.exchange_order_id]
    assert trades and sum(t.qty for t in trades) == 0.002
    assert [d.kind for d in report.discrepancies] == [K.MISSING_FILL] * len(trades)
    assert [(f.trade_id, f.qty, f.price, f.fee, f.fee_asset) for f in report.missing_fills] == [
        (t.trade_id, t.qty, t.price, t.commission, t.commission_asset) for t in trades
    ]
    final, applied = apply_and_recheck(
        report,
        exchange,
        spot_trader.manager,
        spot_trader.portfolio,
        spot_trader.opening,
        spot_trader.since_ms,
    )
    assert final is report and applied.fills == len(trades) and applied.duplicates == 0
    assert order.status == OrderStatus.FILLED
    assert spot_trader.manager.slot(SYMBOL, IntentKind.REBALANCE) is None  # the slot is free
    again = apply_repairs(report, spot_trader.manager, spot_trader.portfolio)
    assert (again.fills, again.duplicates) == (0, len(trades))
    assert reconcile(spot_trader.believed(), exchange).verdict is Verdict.OK


def nothing(event: ExecutionEvent) -> bool:
    return True


async def test_ack_and_fills_missed_are_repaired(spot_trader: Trader) -> None:
    """Down after the send, before the answer: the journal has the order PENDING_NEW."""
    cid = await spot_trader.target(0.002, drop=nothing)
    assert spot_trader.manager.orders[cid].status == OrderStatus.PENDING_NEW
    exchange = await spot_trader.exchange_state()
    report = reconcile(spot_trader.believed(), exchange)
    assert report.verdict is Verdict.REPAIRED
    kinds = [d.kind for d in report.discrepancies]
    assert kinds[0] is K.ACK_MISSING and set(kinds[1:]) == {K.MISSING_FILL}
    oid = exchange.orders[cid].order_id  # type: ignore[union-attr]
    assert report.discrepancies[0] == Discrepancy(
        K.ACK_MISSING, cid, None, float(oid), f"the exchange accepted it as order {oid} (FILLED)"
    )
    final, applied = apply_and_recheck(
        report,
        exchange,
        spot_trader.manager,
        spot_trader.portfolio,
        spot_trader.opening,
        spot_trader.since_ms,
    )
    assert final.verdict is Verdict.REPAIRED and applied.acks == 1
    order = spot_trader.manager.orders[cid]
    assert order.exchange_order_id == oid and order.status == OrderStatus.FILLED
    again = apply_repairs(report, spot_trader.manager, spot_trader.portfolio)
    assert (again.acks, again.fills, again.duplicates) == (0, 0, len(report.missing_fills))


async def test_unknown_open_order_halts_unless_adopted(
    spot_trader: Trader, adopt_config: ReconcileConfig
) -> None:
    bid, _ = await spot_trader.best()
    tick = spot_trader.filters[SYMBOL].tick_size
    price = f"{round(bid * 0.9 / tick) * tick:.2f}"
    body = await spot_trader.direct("outsider-1", Side.BUY, "0.00100", price)
    await spot_trader.target(0.001)  # the trader's own business goes on beside it
    exchange = await spot_trader.exchange_state()
    report = reconcile(spot_trader.believed(), exchange)
    assert report.verdict is Verdict.HALT and report.repairs == ()
    assert report.discrepancies == (
        Discrepancy(
            K.UNKNOWN_ORDER,
            "outsider-1",
            None,
            0.001,
            f"BTCUSDT order {body['orderId']} BUY 0.001 @ {float(price)!r}, NEW, executed 0.0",
        ),
    )
    assert reconcile(spot_trader.believed(), exchange, adopt_config).verdict is Verdict.ADOPTED


async def test_fill_for_an_order_never_sent_halts_with_the_money_it_moved(
    spot_trader: Trader, adopt_config: ReconcileConfig
) -> None:
    await spot_trader.target(0.001)
    orders_before = {c: o.to_json() for c, o in spot_trader.manager.orders.items()}
    cash_before = spot_trader.portfolio.cash
    body = await spot_trader.direct("outsider-2", Side.BUY, "0.00200")
    believed = spot_trader.believed()
    exchange = await spot_trader.exchange_state()
    report = reconcile(believed, exchange)
    assert report.verdict is Verdict.HALT and report.repairs == ()
    theirs = [t for t in exchange.trades if t.order_id == body["orderId"]]
    unknown = report.of_kind(K.FILL_FOR_UNKNOWN_ORDER)
    assert [(d.subject, d.exchange) for d in unknown] == [
        (f"BTCUSDT#{t.trade_id}", t.qty) for t in theirs
    ]
    btc, usdt = report.of_kind(K.BALANCE_DIFFERS)
    assert (btc.subject, usdt.subject) == ("BTC", "USDT")
    assert btc.believed == believed.balances["BTC"]
    assert btc.exchange == exchange.balances["BTC"].total
    assert gap(btc) == pytest.approx(sum(t.qty - t.commission for t in theirs), abs=1e-12)
    assert gap(usdt) == pytest.approx(-sum(t.qty * t.price for t in theirs), abs=1e-6)
    assert len(report.discrepancies) == len(theirs) + 2
    assert reconcile(believed, exchange, adopt_config).verdict is Verdict.ADOPTED
    # judging changed nothing the trader holds
    assert {c: o.to_json() for c, o in spot_trader.manager.orders.items()} == orders_before
    assert spot_trader.portfolio.cash == cash_before


async def test_balance_moved_out_of_band(
    server: LocalExchange, spot_trader: Trader, adopt_config: ReconcileConfig
) -> None:
    await spot_trader.target(0.002)
    believed = spot_trader.believed()
    server.out_of_band("USDT", "-250")  # a withdrawal
    exchange = await spot_trader.exchange_state()
    report = reconcile(believed, exchange)
    assert report.verdict is Verdict.HALT
    (d,) = report.discrepancies
    assert (d.kind, d.subject, d.believed) == (K.BALANCE_DIFFERS, "USDT", believed.balances["USDT"])
    assert d.exchange == exchange.balances["USDT"].total
    assert d.exchange == pytest.approx(believed.balances["USDT"] - 250, abs=1e-6)
    assert reconcile(believed, exchange, adopt_config).verdict is Verdict.ADOPTED


async def test_base_balance_within_half_a_step_agrees_a_whole_step_halts(
    server: LocalExchange,
    spot_trader: Trader,
) -> None:
    step = spot_trader.filters[SYMBOL].step_size
    await spot_trader.target(0.001)
    server.out_of_band("BTC", f"{0.4 * step:.10f}")
    assert reconcile(spot_trader.believed(), await spot_trader.exchange_state()).verdict is (
        Verdict.OK
    )
    server.out_of_band("BTC", f"{0.6 * step:.10f}")  # one whole step in all
    report = reconcile(spot_trader.believed(), await spot_trader.exchange_state())
    (d,) = report.discrepancies
    assert report.verdict is Verdict.HALT and d.kind is K.BALANCE_DIFFERS and d.subject == "BTC"
    assert gap(d) == pytest.approx(step) and d.tolerance == 0.5 * step


async def test_negative_balance_halts_even_when_adopting(
    server: LocalExchange, spot_trader: Trader, adopt_config: ReconcileConfig
) -> None:
    believed = spot_trader.believed()
    server.out_of_band("USDT", f"-{believed.balances['USDT'] + 5:.8f}")
    exchange = await spot_trader.exchange_state()
    report = reconcile(believed, exchange, adopt_config)
    assert report.verdict is Verdict.HALT
    negative, differs = report.discrepancies
    assert (negative.kind, negative.subject) == (K.NEGATIVE_BALANCE, "USDT")
    assert negative.exchange == pytest.approx(-5.0)
    assert negative.detail == f"free {exchange.balances['USDT'].free!r}, locked 0.0"
    assert differs.kind is K.BALANCE_DIFFERS


async def test_believed_order_the_exchange_never_got(spot_trader: Trader) -> None:
    """Down after the journal write, before the send: the exchange has no such order."""
    _, ask = await spot_trader.best()
    now = time.time_ns()
    intent = OrderIntent(SYMBOL, now, 0.001, IntentKind.REBALANCE, ask)
    (proposal,) = spot_trader.manager.plan(intent, 0.0, now).proposals
    cid = spot_trader.manager.send(proposal, now).client_order_id  # journaled, never sent
    report = reconcile(spot_trader.believed(), await spot_trader.exchange_state())
    assert report.verdict is Verdict.HALT
    assert report.discrepancies == (
        Discrepancy(
            K.ORDER_MISSING,
            cid,
            0.0,
            None,
            "BTCUSDT BUY 0.001, PENDING_NEW in the journal; the exchange has no such order",
        ),
    )


async def test_order_sent_long_ago_and_never_placed_is_refused_retryably(
    spot_trader: Trader,
) -> None:
    """Down after the journal write, before the send, and restarted later than the exchange
    would accept that request: never placed, refused as UNAVAILABLE (the slot retries)."""
    _, ask = await spot_trader.best()
    sent = time.time_ns() - 20 * 10**9
    intent = OrderIntent(SYMBOL, sent, 0.001, IntentKind.REBALANCE, ask)
    (proposal,) = spot_trader.manager.plan(intent, 0.0, sent).proposals
    cid = spot_trader.manager.send(proposal, sent).client_order_id
    exchange = await spot_trader.exchange_state()
    report = reconcile(spot_trader.believed(), exchange)
    assert report.verdict is Verdict.REPAIRED
    (d,) = report.discrepancies
    assert (d.kind, d.subject, d.believed, d.exchange) == (K.NEVER_PLACED, cid, 0.001, None)
    assert d.detail == (
        f"sent at {sent // 10**6}, unknown to the exchange at {exchange.checked_ms} (more than "
        "15000 ms later): never placed"
    )
    (reject,) = report.repairs
    assert isinstance(reject, VenueReject) and reject.reason is VenueRejectReason.UNAVAILABLE
    final, applied = apply_and_recheck(
        report,
        exchange,
        spot_trader.manager,
        spot_trader.portfolio,
        spot_trader.opening,
        spot_trader.since_ms,
    )
    assert final is report and applied.ended == 1
    assert spot_trader.manager.orders[cid].status == OrderStatus.REJECTED
    assert spot_trader.manager.slot(SYMBOL, IntentKind.REBALANCE) is None
    rejects = dict(spot_trader.manager.venue_rejects)
    assert apply_repairs(report, spot_trader.manager, spot_trader.portfolio).ended == 0
    assert dict(spot_trader.manager.venue_rejects) == rejects  # not counted twice


async def test_cancel_while_down_is_repaired(resting_trader: Trader) -> None:
    cid = await resting_trader.target(0.001)  # rests post-only, acknowledged
    outcome = await resting_trader.gateway.cancel(SYMBOL, cid)  # its answer never read
    assert isinstance(outcome, Answered)
    exchange = await resting_trader.exchange_state()
    report = reconcile(resting_trader.believed(), exchange)
    assert report.verdict is Verdict.REPAIRED
    (d,) = report.discrepancies
    assert (d.kind, d.subject) == (K.ORDER_CLOSED, cid)
    assert d.detail == "CANCELED on the exchange with 0.0 executed; NEW in the journal"
    final, applied = apply_and_recheck(
        report,
        exchange,
        resting_trader.manager,
        resting_trader.portfolio,
        resting_trader.opening,
        resting_trader.since_ms,
    )
    assert final is report and applied.ended == 1
    assert resting_trader.manager.orders[cid].status == OrderStatus.CANCELED
    assert resting_trader.manager.slot(SYMBOL, IntentKind.REBALANCE) is None


async def test_journal_says_canceled_but_the_order_works(resting_trader: Trader) -> None:
    cid = await resting_trader.target(0.001)
    resting_trader.feed(Canceled(cid, time.time_ns()))  # a cancel recorded that never happened
    report = reconcile(resting_trader.believed(), await resting_trader.exchange_state())
    assert report.verdict is Verdict.HALT
    (d,) = report.discrepancies
    assert (d.kind, d.subject) == (K.ORDER_STATE_DIFFERS, cid)
    assert d.detail.startswith("CANCELED in the journal, open on the exchange: BTCUSDT order")


async def test_usdm_missing_fill_repaired_and_round_trip_agrees(usdm_trader: Trader) -> None:
    await usdm_trader.target(0.003)
    await usdm_trader.target(-0.002)  # through zero: realized PnL moves the wallet
    cid = await usdm_trader.target(0.001, drop=fills_only)
    exchange = await usdm_trader.exchange_state()
    assert exchange.positions[SYMBOL] == pytest.approx(0.001)
    report = reconcile(usdm_trader.believed(), exchange)
    assert report.verdict is Verdict.REPAIRED
    assert {d.kind for d in report.discrepancies} == {K.MISSING_FILL}
    assert {f.client_order_id for f in report.missing_fills} == {cid}
    final, applied = apply_and_recheck(
        report,
        exchange,
        usdm_trader.manager,
        usdm_trader.portfolio,
        usdm_trader.opening,
        usdm_trader.since_ms,
    )
    assert final is report and applied.fills == len(report.missing_fills)
    assert usdm_trader.portfolio.quantity(SYMBOL) == pytest.approx(0.001)


async def test_usdm_position_opened_behind_the_traders_back(
    usdm_trader: Trader, adopt_config: ReconcileConfig
) -> None:
    await usdm_trader.target(0.003)
    believed = usdm_trader.believed()
    body = await usdm_trader.direct("outsider-3", Side.SELL, "0.008")
    exchange = await usdm_trader.exchange_state()
    report = reconcile(believed, exchange)
    assert report.verdict is Verdict.HALT
    (position,) = report.of_kind(K.POSITION_DIFFERS)
    assert position.subject == SYMBOL and position.believed == pytest.approx(0.003)
    assert position.exchange == pytest.approx(-0.005)
    (wallet,) = report.of_kind(K.BALANCE_DIFFERS)
    theirs = [t for t in exchange.trades if t.order_id == int(body["orderId"])]
    assert wallet.subject == "USDT" and gap(wallet) == pytest.approx(
        sum(t.realized_pnl - t.commission for t in theirs), abs=1e-6
    )
    assert len(report.of_kind(K.FILL_FOR_UNKNOWN_ORDER)) == len(theirs)
    assert reconcile(believed, exchange, adopt_config).verdict is Verdict.ADOPTED


async def test_resting_order_filled_by_the_market_while_down(
    server: LocalExchange, resting_trader: Trader
) -> None:
    cid = await resting_trader.target(0.001)  # rests at the best bid, acknowledged
    order = resting_trader.manager.orders[cid]
    assert order.price is not None
    server.cross_book("spot", order.price, resting_trader.filters[SYMBOL].tick_size)
    exchange = await resting_trader.exchange_state()  # the client's reports are never fed
    queried = exchange.orders[cid]
    assert queried is not None and queried.status == OrderStatus.FILLED
    report = reconcile(resting_trader.believed(), exchange)
    assert report.verdict is Verdict.REPAIRED
    (fill,) = report.missing_fills
    assert (fill.client_order_id, fill.qty, fill.price) == (cid, 0.001, order.price)
    assert fill.liquidity is Liquidity.MAKER and fill.fee == pytest.approx(0.0005 * 0.001)
    final, _ = apply_and_recheck(
        report,
        exchange,
        resting_trader.manager,
        resting_trader.portfolio,
        resting_trader.opening,
        resting_trader.since_ms,
    )
    assert final is report and order.status == OrderStatus.FILLED


async def test_adopting_a_fill_of_an_unknown_order_rebases_the_balances(
    spot_trader: Trader, adopt_config: ReconcileConfig
) -> None:
    await spot_trader.target(0.001)
    await spot_trader.direct("outsider-4", Side.SELL, "0.00300")
    report = reconcile(spot_trader.believed(), await spot_trader.exchange_state(), adopt_config)
    assert report.verdict is Verdict.ADOPTED
    adoption = adopt(report, spot_trader.opening)
    assert adoption.positions == {} and adoption.foreign_orders == ()
    assert adoption.since_ms == report.checked_ms + 1
    spot_trader.opening, spot_trader.since_ms = adoption.opening, adoption.since_ms
    after = reconcile(spot_trader.believed(), await spot_trader.exchange_state())
    assert after.verdict is Verdict.OK, after.discrepancies
    with pytest.raises(InvalidInput, match="only an adopted report can be adopted, not ok"):
        adopt(after, spot_trader.opening)


async def test_the_traders_pass_repairs_then_agrees(spot_trader: Trader) -> None:
    cid = await spot_trader.target(0.002, drop=fills_only)
    args = (
        spot_trader.gateway,
        spot_trader.manager,
        spot_trader.portfolio,
        spot_trader.opening,
        spot_trader.since_ms,
    )
    report, applied = await reconcile_trader(*args)
    assert report.verdict is Verdict.REPAIRED and applied is not None and applied.fills > 0
    assert spot_trader.manager.orders[cid].status == OrderStatus.FILLED
    again, nothing = await reconcile_trader(*args)
    assert again.verdict is Verdict.OK and nothing is None


async def test_the_traders_pass_that_halts_changes_nothing(spot_trader: Trader) -> None:
    """A fill missed while down beside an order nobody knows: HALT (confirmed by a second
    read), and the missed fill is not applied either."""
    cid = await spot_trader.target(0.002, drop=fills_only)
    bid, _ = await spot_trader.best()
    tick = spot_trader.filters[SYMBOL].tick_size
    await spot_trader.direct(
        "outsider-5", Side.BUY, "0.00100", f"{round(bid * 0.9 / tick) * tick:.2f}"
    )
    before = spot_trader.manager.orders[cid].to_json(), spot_trader.portfolio.cash
    report, applied = await reconcile_trader(
        spot_trader.gateway,
        spot_trader.manager,
        spot_trader.portfolio,
        spot_trader.opening,
        spot_trader.since_ms,
        confirm_after_s=0.2,
    )
    assert report.verdict is Verdict.HALT and applied is None
    assert {d.kind for d in report.discrepancies} == {K.UNKNOWN_ORDER, K.MISSING_FILL}
    assert (spot_trader.manager.orders[cid].to_json(), spot_trader.portfolio.cash) == before
