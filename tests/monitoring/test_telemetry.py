"""Telemetry attached to a real engine (recorded BTC/USDT 1h bars, the simulated venue, through
the paper driver) exports exactly what the engine did, and changes nothing it does:

* attaching it leaves fills, equity, decisions and skips identical to an engine without it;
* the scraped counters equal the engine's own records: orders sent, fills by liquidity,
  traded notional, decisions, bars timed, refusals by typed reason, the account's equity,
  position, costs and breaker state;
* the monitored journal re-raises a failed write unchanged, marks the journal unwritable, and
  a later successful write makes it writable again;
* the trader's observer callback records reconciliation results and journal failures;
* the same over the L2 recording (the book-driven venue); and for any sequence of venue answers
  (hypothesis) the counts equal the answers and only unanswered orders are remembered.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gradtrade.backtest.config import parse_backtest_config
from gradtrade.backtest.l2 import build_session, load_recording
from gradtrade.backtest.l2_config import parse_l2_config
from gradtrade.backtest.runner import build_strategy, fill_model, load_market_data, symbol_filters
from gradtrade.core import RejectReason, Side, SymbolFilters, TradingState
from gradtrade.engine import Engine, EngineLog, SimulatedClock, paper_replay
from gradtrade.engine.replay import backtest_replay, book_ticks
from gradtrade.errors import InvalidInput
from gradtrade.events import FillEvent, IntentKind, Liquidity, OrderStyle
from gradtrade.execution import OrderManager, PortfolioTracker, SimulatedVenue
from gradtrade.execution.client import (
    Ack,
    Canceled,
    ExecutionEvent,
    OrderRequest,
    VenueReject,
    VenueRejectReason,
)
from gradtrade.execution.config import ExecutionConfig
from gradtrade.live.telemetry import Telemetry
from gradtrade.monitoring import MonitoringConfig
from gradtrade.persistence import JournalRecord, RecordKind, open_journal
from gradtrade.risk import RiskConfig, RiskManager
from gradtrade.strategy.reference import QuoteAtBest

Build = Callable[..., tuple[Engine, list[Any], int]]


@pytest.fixture
def build(data_dir: Path) -> Build:
    def make(**over: Any) -> tuple[Engine, list[Any], int]:
        raw = {
            "data": {"path": str(data_dir / "klines/spot/BTC_USDT-1h.feather"),
                     "start": "2024-01-01", "end": "2024-03-01", "warmup_bars": 0},
            "strategy": {"kind": "ma_cross", "params": {"fast": 6, "slow": 24}},
            **over,
        }  # fmt: skip
        cfg = parse_backtest_config(raw)
        data = load_market_data(cfg)
        f = {data.symbol: symbol_filters(cfg)}
        strategy = build_strategy(cfg, data)
        engine = Engine(
            strategy,
            {data.symbol: RiskManager(cfg.risk, f[data.symbol], periods_per_year=8760)},
            OrderManager(strategy.name[:10], f, cfg.execution),
            SimulatedVenue(fill_model(cfg.fill), f),
            PortfolioTracker(cfg.initial_cash, f),
            SimulatedClock(),
            trade_from_ns=data.trade_from_ns,
        )
        return engine, data.bars, data.bars[-1].ts_ns

    return make


def run(engine: Engine, bars: list[Any], end: int) -> EngineLog:
    return asyncio.run(paper_replay(engine, bars, end, maxsize=16))


def scrape(t: Telemetry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(generate_latest(t.registry).decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def get(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


POST_ONLY = {
    "execution": {"style": "post_only", "post_only_timeout_s": 7200, "on_timeout": "cross"},
    "risk": {"stops": {"mode": "percent", "stop_loss": 2.0, "take_profit": 3.0}},
}


def test_attached_telemetry_changes_nothing_the_engine_does(build: Build) -> None:
    plain, bars, end = build(**POST_ONLY)
    watched, _, _ = build(**POST_ONLY)
    Telemetry().attach(watched)
    a, b = run(plain, bars, end), run(watched, bars, end)
    assert len(a.fills) > 20
    assert a.fills == b.fills and a.equity == b.equity and a.decisions == b.decisions
    assert a.skips == b.skips and plain.portfolio.equity() == watched.portfolio.equity()


def test_scraped_counters_equal_the_engines_records(build: Build) -> None:
    engine, bars, end = build(**POST_ONLY)
    t = Telemetry()
    t.attach(engine)
    log = run(engine, bars, end)
    m, sym = scrape(t), "BTCUSDT"
    sent = Counter(r.intent.value for r in engine.orders.requests.values())
    assert sent["stop_loss"] > 0 and sent["take_profit"] > 0 and sent["rebalance"] > 0
    for intent in ("rebalance", "flatten", "stop_loss", "take_profit"):
        got = get(m, "gradtrade_orders_submitted_total", symbol=sym, intent=intent)
        assert got == sent[intent], intent
    fills = Counter(f.liquidity.value for f in log.fills)
    assert fills["maker"] > 0 and fills["taker"] > 0
    for liq in ("maker", "taker"):
        assert get(m, "gradtrade_fills_total", symbol=sym, liquidity=liq) == fills[liq]
        notional = sum(f.qty * f.price for f in log.fills if f.liquidity.value == liq)
        got = get(m, "gradtrade_filled_notional_total", symbol=sym, liquidity=liq)
        assert math.isclose(got, notional, rel_tol=1e-12)
    assert get(m, "gradtrade_decisions_total", symbol=sym) == len(log.decisions)
    assert get(m, "gradtrade_decision_latency_seconds_count") == len(bars)
    # one latency per acknowledgement (orders refused on entry, or cancelled before the
    # venue took them, have none)
    acked = sum(o.exchange_order_id is not None for o in engine.orders.orders.values())
    assert 0 < acked < sum(sent.values())
    assert get(m, "gradtrade_order_ack_latency_seconds_count") == acked
    venue = engine.orders.venue_rejects  # post-only orders the market crossed, late cancels
    assert venue[VenueRejectReason.WOULD_TAKE] > 0
    for reason in VenueRejectReason:
        got = get(m, "gradtrade_orders_rejected_total", symbol=sym, stage="venue",
                  reason=reason.value)  # fmt: skip
        assert got == venue[reason], reason
    p = engine.portfolio
    assert get(m, "gradtrade_equity", asset="USDT") == p.equity()
    assert get(m, "gradtrade_position", symbol=sym) == p.quantity(sym)
    assert get(m, "gradtrade_fees_paid", asset="USDT") == p.fee_value > 0
    assert get(m, "gradtrade_drawdown_ratio") == p.drawdown
    assert get(m, "gradtrade_orders_in_flight", symbol=sym) == len(engine.orders.open_orders(sym))
    assert get(m, "gradtrade_breaker_state", symbol=sym) == int(TradingState.ACTIVE)
    assert math.isfinite(get(m, "gradtrade_realized_volatility", symbol=sym))
    assert math.isnan(get(m, "gradtrade_predicted_sigma", symbol=sym))  # ma_cross: no forecast


def test_refusals_are_counted_by_stage_and_typed_reason(build: Build) -> None:
    engine, bars, end = build(risk={"limits": {"max_position": 0.1}})
    t = Telemetry()
    t.attach(engine)
    run(engine, bars, end)
    m = scrape(t)
    refused = engine.risk["BTCUSDT"].rejections
    assert refused[RejectReason.MAX_POSITION] > 0
    for reason, n in refused.items():
        label = str(reason).rsplit(".", 1)[-1].lower()
        got = get(m, "gradtrade_orders_rejected_total", symbol="BTCUSDT", stage="risk",
                  reason=label)  # fmt: skip
        assert got == n
    zero = get(m, "gradtrade_orders_rejected_total", symbol="BTCUSDT", stage="venue",
               reason="insufficient_balance")  # fmt: skip
    assert zero == 0


def test_a_drawdown_halt_is_a_transition_a_state_and_a_health_reason(build: Build) -> None:
    engine, bars, end = build(risk={"reduce_drawdown": 0.001, "halt_drawdown": 0.002})
    t = Telemetry()
    t.attach(engine)
    assert t.health().ok
    run(engine, bars, end)
    m = scrape(t)
    assert get(m, "gradtrade_breaker_state", symbol="BTCUSDT") == 2
    assert get(m, "gradtrade_breaker_transitions_total", symbol="BTCUSDT", state="halted") == 1
    health = t.health()
    assert [r.value for r in health.reasons] == ["halted"]


def test_monitored_journal_marks_failures_and_recovers(tmp_path: Path) -> None:
    t = Telemetry()
    journal = t.journal(open_journal(f"sqlite:///{tmp_path / 'j.db'}?trader=mon"))

    def record(seq: int) -> JournalRecord:
        return JournalRecord.new(seq, 1, RecordKind.DECISION, "BTCUSDT", {"checkpoint": "x"})

    journal.append(record(1))
    assert t.journal_status.writable and t.journal_status.appends == 1
    with pytest.raises(InvalidInput, match="seq"):
        journal.append(record(5))  # a hole: refused by the journal, nothing written
    assert not t.journal_status.writable and t.journal_status.last_error == "InvalidInput"
    assert [r.value for r in t.health().reasons] == ["journal_unwritable"]
    assert journal.last_seq() == 1
    journal.append(record(2))
    assert t.journal_status.writable and t.health().ok
    m = scrape(t)
    assert get(m, "gradtrade_journal_appends_total") == 2
    assert get(m, "gradtrade_journal_write_failures_total") == 1
    assert get(m, "gradtrade_journal_append_seconds_count") == 2
    journal.close()


def test_trader_observer_records_reconciliations_and_journal_errors() -> None:
    class Reconciled:
        def __init__(self, found: int) -> None:
            self.discrepancies = found

    t = Telemetry(MonitoringConfig(stale_after_s=5))
    t.observe(object(), Reconciled(0))
    t.observe(object(), Reconciled(2))
    m = scrape(t)
    assert get(m, "gradtrade_reconciliation_runs_total") == 2
    assert get(m, "gradtrade_reconciliation_discrepancies_total") == 2
    assert get(m, "gradtrade_reconciliation_last_discrepancies") == 2
    t.observe(object(), OSError("disk full"))
    assert [r.value for r in t.health().reasons] == ["journal_unwritable"]
    with pytest.raises(InvalidInput):
        t.reconciled(-1)


def test_the_l2_engine_with_telemetry_is_the_same_engine(data_dir: Path) -> None:
    """Over the real spot L2 recording (the book-driven venue): identical fills and equity
    with and without telemetry, and the maker fills of QuoteAtBest counted as maker."""
    spot = data_dir / "recordings" / "hftbacktest" / "spot"
    cfg = parse_l2_config({
        "recording": {"paths": [str(spot / "btcusdt_20240808.gz"),
                                str(spot / "btcusdt_20240809.gz")]},
        "strategy": {"interval_ms": 1000},
        "execution": {"style": "post_only", "post_only_timeout_s": 20, "on_timeout": "reprice"},
        "output": {"double_costs": False, "html": False},
    })  # fmt: skip
    data = load_recording(cfg)
    logs, telemetry = [], Telemetry()
    for watched in (False, True):
        session = build_session(cfg, data, QuoteAtBest(0.1))
        if watched:
            telemetry.attach(session.engine)
        events = book_ticks(data.symbol, data.start_ns, data.end_ns, 1_000_000_000)
        logs.append(backtest_replay(session.engine, events, data.end_ns))
    plain, watched_log = logs
    assert len(plain.fills) > 5 and plain.fills == watched_log.fills
    assert plain.equity == watched_log.equity
    m = scrape(telemetry)
    makers = sum(f.liquidity.value == "maker" for f in plain.fills)
    assert makers > 0
    assert get(m, "gradtrade_fills_total", symbol=data.symbol, liquidity="maker") == makers


class ScriptedVenue:
    """An ExecutionClient whose answers the test scripts (the wrapper is what is tested)."""

    def __init__(self) -> None:
        self.sent: list[OrderRequest] = []
        self.pending: list[ExecutionEvent] = []

    def submit(self, request: OrderRequest) -> None:
        self.sent.append(request)

    def cancel(self, client_order_id: str, ts_ns: int) -> None:
        pass

    def poll(self) -> list[ExecutionEvent]:
        out, self.pending = self.pending, []
        return out


OUTCOMES = st.sampled_from(["ack", "ack_fill_maker", "ack_fill_taker", "ack_cancel", "reject",
                            "none"])  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    orders=st.lists(
        st.tuples(st.sampled_from(list(IntentKind)), OUTCOMES,
                  st.sampled_from(list(VenueRejectReason))),
        max_size=30,
    )
)  # fmt: skip
def test_venue_counts_equal_the_events_for_any_outcomes(
    orders: list[tuple[IntentKind, str, VenueRejectReason]],
) -> None:
    filters = {"BTCUSDT": SymbolFilters("BTCUSDT", "0.01", "0.00001", "0", "0")}
    venue = ScriptedVenue()
    engine = Engine(
        QuoteAtBest(0.1),
        {"BTCUSDT": RiskManager(RiskConfig(), filters["BTCUSDT"], periods_per_year=8760)},
        OrderManager("q", filters, ExecutionConfig()),
        venue,
        PortfolioTracker(10_000.0, filters),
    )
    t = Telemetry()
    t.attach(engine)
    expected: Counter[tuple[str, str]] = Counter()
    open_ids = set()
    for i, (intent, outcome, reason) in enumerate(orders):
        cid = f"q.0.{i}"
        engine.venue.submit(
            OrderRequest(cid, "BTCUSDT", Side.BUY, 0.1, OrderStyle.MARKET, intent, i, 100.0)
        )
        expected["submitted", intent.value] += 1
        events: list[ExecutionEvent] = []
        if outcome.startswith("ack"):
            events.append(Ack(cid, i, i))
            expected["ack", ""] += 1
        if outcome.startswith("ack_fill"):
            liq = Liquidity.MAKER if outcome.endswith("maker") else Liquidity.TAKER
            events.append(FillEvent(cid, i, "BTCUSDT", Side.BUY, 100.0, 0.1, 0.01, "USDT", liq, i))
            expected["fill", liq.value] += 1
        if outcome == "ack_cancel":
            events.append(Canceled(cid, i))
        if outcome == "reject":
            events.append(VenueReject(cid, reason, "refused", i))
            expected["reject", reason.value] += 1
        if outcome == "none":
            open_ids.add(cid)
        venue.pending = events
        assert engine.venue.poll() == events  # the engine sees exactly what the venue said
    m = scrape(t)
    for intent in IntentKind:
        got = get(m, "gradtrade_orders_submitted_total", symbol="BTCUSDT", intent=intent.value)
        assert got == expected["submitted", intent.value]
    assert get(m, "gradtrade_order_ack_latency_seconds_count") == expected["ack", ""]
    for liq in Liquidity:
        got = get(m, "gradtrade_fills_total", symbol="BTCUSDT", liquidity=liq.value)
        assert got == expected["fill", liq.value]
    for reason in VenueRejectReason:
        got = get(m, "gradtrade_orders_rejected_total", symbol="BTCUSDT", stage="venue",
                  reason=reason.value)  # fmt: skip
        assert got == expected["reject", reason.value]
    assert set(t._sent) == open_ids  # only orders still waiting for an answer are remembered
