"""Bounded retention of terminal orders (``journal.keep_terminal_orders``): the journal's
mirror, its snapshots and the engine's order table stay bounded over a long run, a late report
about a pruned order is neither journaled, booked nor an unknown order, and a restart from a
snapshot taken after pruning equals a full replay (real SQLite on tmpfs: the fsyncs are real
calls, the medium is memory, so 10k orders take seconds).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gradtrade.core import (
    CandleFillConfig,
    FillAt,
    OrderStatus,
    Side,
    SymbolFilters,
    parse_client_order_id,
)
from gradtrade.events import FillEvent, IntentKind, Liquidity, OrderIntent
from gradtrade.execution.client import Ack, Canceled, VenueReject, VenueRejectReason
from gradtrade.execution.config import ExecutionConfig
from gradtrade.execution.fill_model import CandleModel
from gradtrade.execution.orders import OrderManager
from gradtrade.execution.simulated import SimulatedVenue
from gradtrade.live.config import JournalSection
from gradtrade.live.journaled import JournalingClient
from gradtrade.live.recorder import Recorder
from gradtrade.live.resume import next_session
from gradtrade.persistence import JournalOptions, RecordKind, TraderState, open_journal, recover
from gradtrade.persistence.journal import Journal

SYMBOL = "BTCUSDT"
T0 = 1_700_000_000_000_000_000


@pytest.fixture(scope="module")
def btc_filters(data_dir: Path) -> SymbolFilters:
    """BTCUSDT's filters from the recorded spot exchangeInfo."""
    line = (data_dir / "recordings" / "cryptofeed" / "BINANCE.0").read_text().splitlines()[0]
    return SymbolFilters.from_exchange_info_json(line.split(": ", 1)[1], SYMBOL)


@pytest.fixture
def shm() -> Iterator[Path]:
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    path = Path(tempfile.mkdtemp(prefix="gt-prune-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def full_replay(journal: Journal) -> TraderState:
    """Every record from the first, ignoring the snapshot."""
    state = TraderState()
    for record in journal.read():
        state.apply(record)
    return state


def objects(state: TraderState) -> dict[str, str]:
    return {k: v for k, v in state.snapshot_objects().items() if not k.startswith("extra/")}


@dataclass
class Session:
    """A trader's order path without market data: the engine's ``OrderManager`` sends, the
    ``JournalingClient`` journals write-ahead around a ``SimulatedVenue`` (which gets no bars:
    it never fills), and the venue's reports come in as reconciliation's repairs do
    (``inject``) and go through ``poll`` to the manager, as ``Engine._drain`` does."""

    recorder: Recorder
    manager: OrderManager
    client: JournalingClient
    position: float = 0.0
    trade_id: int = 0
    booked: list[FillEvent] = field(default_factory=list)

    @classmethod
    def start(
        cls, journal: Journal, filters: SymbolFilters, keep: int, every: int, session: int = 1
    ) -> Session:
        recorder = Recorder(journal, recover(journal), every, keep_terminal_orders=keep)
        if SYMBOL not in recorder.state.filters:
            recorder.record(
                RecordKind.INSTRUMENT, SYMBOL, {"filters": json.loads(filters.to_json())}
            )
        config = ExecutionConfig(
            session=next_session(recorder.state, session), style="post_only", on_timeout="reprice"
        )
        manager = OrderManager("prune", {SYMBOL: filters}, config)
        model = CandleModel(CandleFillConfig(fill_at=FillAt.NEXT_OPEN))
        client = JournalingClient(
            SimulatedVenue(model, {SYMBOL: filters}), recorder, manager.orders
        )
        recorder.on_prune.append(manager.forget)
        return cls(recorder, manager, client)

    def drain(self) -> None:
        for event in self.client.poll():
            fill, _ = self.manager.on_event(event)
            if fill is not None:
                self.booked.append(fill)
                self.position += fill.side.sign * fill.qty

    def order(self, n: int, outcome: str, price: float = 60_000.0) -> str:
        """One post-only order of 0.002 toward the other side (the venue gets no bar, so it neither
        acknowledges nor fills it: the reports below do), ending as ``outcome``."""
        ts = T0 + n * 1_000_000_000
        target = self.position + (-0.002 if self.position > 0 else 0.002)  # qty 0.002 always
        plan = self.manager.plan(
            OrderIntent(SYMBOL, ts, target, IntentKind.REBALANCE, price), self.position, ts
        )
        (proposal,) = plan.proposals
        request = self.manager.send(proposal, ts)
        self.client.submit(request)
        cid = request.client_order_id
        if outcome == "rejected":
            self.client.inject([VenueReject(cid, VenueRejectReason.INVALID_ORDER, "no", ts)])
        else:
            self.client.inject([Ack(cid, 10_000 + n, ts)])
        if outcome in ("filled", "partial_canceled"):
            qty = proposal.qty / (2 if outcome == "partial_canceled" else 1)
            self.trade_id += 1
            assert proposal.price is not None
            self.client.inject([self.fill(cid, proposal.side, qty, self.trade_id, ts,
                                          proposal.price)])  # fmt: skip
        self.drain()
        if outcome in ("canceled", "partial_canceled"):
            assert self.manager.request_cancel(cid)
            self.client.cancel(cid, ts)  # the venue answers Canceled
        elif outcome == "expired":
            self.client.inject([Canceled(cid, ts, OrderStatus.EXPIRED)])
        self.drain()
        assert self.manager.slot(SYMBOL, IntentKind.REBALANCE) is None
        self.recorder.maybe_snapshot()
        return cid

    @staticmethod
    def fill(cid: str, side: Side, qty: float, trade_id: int, ts: int, price: float) -> FillEvent:
        return FillEvent(cid, trade_id, SYMBOL, side, price, qty, round(qty * price * 1e-3, 8),
                         "USDT", Liquidity.TAKER, ts)  # fmt: skip


def test_journal_section_validates_the_bound() -> None:
    assert JournalSection().keep_terminal_orders == 1000
    with pytest.raises(ValueError, match="keep_terminal_orders"):
        JournalSection(keep_terminal_orders=-1)


def test_ten_thousand_orders_stay_bounded_and_late_reports_change_nothing(
    shm: Path, btc_filters: SymbolFilters
) -> None:
    keep, every = 100, 500
    url = f"{shm / 'j.db'}?trader=prune"
    with open_journal(url) as journal:
        s = Session.start(journal, btc_filters, keep, every)
        outcomes = ["filled", "filled", "rejected", "filled", "canceled", "expired"]
        first = s.order(0, "filled")
        sizes: dict[int, int] = {}
        for n in range(1, 10_000):
            s.order(n, outcomes[n % len(outcomes)])
            state, manager = s.recorder.state, s.manager
            assert len(state.orders) <= keep + every
            assert len(manager.orders) <= keep + every and len(manager.requests) <= keep + every
            assert len(manager._trades) <= keep + every
            if n in (2_000, 9_999):
                snap = journal.latest_snapshot()
                assert snap is not None
                sizes[n] = sum(len(text) for text in snap.objects.values())
                assert sum(name.startswith("order/") for name in snap.objects) <= keep
        assert sizes[9_999] <= 1.1 * sizes[2_000]
        assert s.recorder.state.pruned_count >= 9_000
        assert s.recorder.state.was_pruned(first) and first not in s.manager.orders
        # a late duplicate of the first order's fill, and its ack again: dropped, not unknown
        seq, booked = journal.last_seq(), len(s.booked)
        s.client.inject([s.fill(first, Side.BUY, 0.002, 1, T0, 60_000.0), Ack(first, 10_000, T0)])
        s.drain()
        assert journal.last_seq() == seq and len(s.booked) == booked
        assert s.client.late == 2 and s.client.refused == 0
        last = s.recorder.state
    with open_journal(url, JournalOptions(readonly=True)) as journal:
        restarted = recover(journal)
        assert objects(restarted) == objects(full_replay(journal)) == objects(last)
    assert next_session(restarted, 1) == 2


_OUTCOMES = st.sampled_from(["filled", "rejected", "canceled", "expired", "partial_canceled"])


@example(
    keep=1, every=2, plan=[("filled", n % 3 == 2, False) for n in range(9)], reconciled_since=4
)  # prunes, restarts on a session all of whose orders are pruned
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    keep=st.integers(0, 6),
    every=st.integers(1, 25),
    plan=st.lists(st.tuples(_OUTCOMES, st.booleans(), st.booleans()), min_size=1, max_size=40),
    reconciled_since=st.none() | st.integers(0, 80),
)
def test_pruning_then_restart_equals_a_full_replay(
    shm: Path, btc_filters: SymbolFilters, keep: int, every: int,
    plan: list[tuple[str, bool, bool]], reconciled_since: int | None,
) -> None:  # fmt: skip
    """Random order lifecycles, restarts (a new session each) and snapshots: the state a
    restart recovers (snapshot + tail) equals the full replay and the writer's mirror; terminal
    orders past ``keep`` leave only once their fills are before the reconciliation window;
    open orders and the sessions of pruned ids are never lost."""
    url = f"{shm / f'p{len(list(shm.iterdir()))}.db'}?trader=prune"
    journal = open_journal(url)
    s = Session.start(journal, btc_filters, keep, every)
    if reconciled_since is not None:
        since_ms = T0 // 1_000_000 + reconciled_since * 1_000
        baseline = {"opening": {}, "since_ms": since_ms}
        s.recorder.record(RecordKind.RECONCILIATION, "account", {"ok": True, "baseline": baseline})
    ids: list[str] = []
    try:
        for n, (outcome, restart, snapshot) in enumerate(plan):
            ids.append(s.order(n, outcome))
            if snapshot:
                s.recorder.maybe_snapshot(force=True)
            if restart:
                mirror = objects(s.recorder.state)
                journal.close()
                journal = open_journal(url)
                restarted = recover(journal)
                assert objects(restarted) == objects(full_replay(journal)) == mirror
                s = Session.start(journal, btc_filters, keep, every, session=1)
                assert s.manager.config.session > max(
                    _session(cid) for cid in ids
                )  # no id is sent twice, pruned or not
        state = s.recorder.state
        s.recorder.maybe_snapshot(force=True)
        terminal = [cid for cid, o in state.orders.items() if o.is_terminal]
        if reconciled_since is None:
            assert len(terminal) <= keep
        for n, cid in enumerate(ids):
            if cid not in state.orders:
                assert state.was_pruned(cid)
                filled = plan[n][0] in ("filled", "partial_canceled")
                # its trades are before the window reconciliation re-reads
                assert reconciled_since is None or not filled or n < reconciled_since
        assert all(not state.was_pruned(cid) for cid in state.orders)
        journal.close()
        journal = open_journal(url, JournalOptions(readonly=True))
        assert objects(recover(journal)) == objects(full_replay(journal)) == objects(state)
    finally:
        journal.close()


def _session(cid: str) -> int:
    return parse_client_order_id(cid)[1]
