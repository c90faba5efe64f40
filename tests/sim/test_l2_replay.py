"""The L2 venue on the real hftbacktest spot recording, against a pure-Python reference.

The reference below re-implements the venue's documented rules (rust/sim/l2.rs, queue.rs)
directly from the JSON frames: its own book (dicts of integer ticks and steps, Binance's spot
sequence rule with the pre-snapshot diffs held), its own queue positions, latencies and fills.
A strategy places and cancels orders at a fixed cadence from each side's own book; the two
must agree on every decision's top of book, every fill and every order status change.
"""

from __future__ import annotations

import json
import resource
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from gradtrade.core import (
    BookStatus,
    FrameKind,
    InvalidInput,
    InvalidTransition,
    L2Venue,
    L2VenueConfig,
    Latency,
    Liquidity,
    OrderStatus,
    OrderType,
    QueueModel,
    Recording,
    Side,
    VenueReject,
    frame_kind,
)
from gradtrade.data.recordings import RecordedFrame

TICK, STEP = "0.01", "0.00000001"
MAKER, TAKER = 0.0002, 0.001
ENTRY_NS, CANCEL_NS = 5_000_000, 3_000_000
TERMINAL = {"FILLED", "CANCELED", "REJECTED", "EXPIRED"}


def units(text: str, scale: int) -> int:
    whole, _, frac = text.partition(".")
    frac = (frac + "0" * scale)[:scale]
    rest = text.partition(".")[2][scale:]
    assert not rest.strip("0"), f"{text} is off the grid"
    return int(whole) * 10**scale + int(frac or "0")


@dataclass
class RefOrder:
    id: str
    side: int
    kind: str
    price: int
    qty: int
    arrive: int
    filled: int = 0
    status: str = "PENDING_NEW"
    cancel_at: int | None = None
    ahead: int = 0
    traded: int = 0
    level: int = 0


class Reference:
    """The venue's rules, written again in plain Python."""

    def __init__(self, power: float | None, latency: tuple[list[int], list[int]] | None) -> None:
        self.power = power
        self.table = latency
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.last: int | None = None
        self.awaiting = False
        self.held: list[dict[str, Any]] = []
        self.orders: list[RefOrder] = []
        self.fills: list[tuple[int, str, int, int, int, bool, float]] = []
        self.events: list[tuple[int, str, str, str | None]] = []

    def entry_delay(self, t: int) -> int:
        if self.table is None:
            return ENTRY_NS
        ts, d = self.table
        if t <= ts[0]:
            return d[0]
        if t >= ts[-1]:
            return d[-1]
        i = next(k for k in range(len(ts)) if ts[k] > t)
        num, den = (d[i] - d[i - 1]) * (t - ts[i - 1]), ts[i] - ts[i - 1]
        step = abs(num) // den  # integer division toward zero, as in Rust
        return d[i - 1] + (step if num >= 0 else -step)

    def top(self) -> tuple[int, int]:
        return max(self.bids), min(self.asks)

    # --- the book ---
    def apply_diff(self, d: dict[str, Any]) -> bool:
        assert self.last is not None
        if d["u"] <= self.last:
            return False
        ok = d["U"] <= self.last + 1 if self.awaiting else d["U"] == self.last + 1
        assert ok, "the recording has no gap"
        for side, book in (("b", self.bids), ("a", self.asks)):
            for p, q in d[side]:
                price, qty = units(p, 2), units(q, 8)
                if qty:
                    book[price] = qty
                else:
                    book.pop(price, None)
        self.last, self.awaiting = d["u"], False
        return True

    def on_frame(self, ts: int, raw: bytes) -> None:
        msg = json.loads(raw)
        if "lastUpdateId" in msg:
            self.bids = {units(p, 2): units(q, 8) for p, q in msg["bids"] if units(q, 8)}
            self.asks = {units(p, 2): units(q, 8) for p, q in msg["asks"] if units(q, 8)}
            self.last, self.awaiting = msg["lastUpdateId"], True
            held, self.held = self.held, []
            for d in held:
                self.apply_diff(d)
            self.update_queues()
            return
        stream, data = msg["stream"], msg["data"]
        if "@depth" in stream:
            if self.last is None:
                self.held.append(data)
            elif self.apply_diff(data):
                self.update_queues()
        elif stream.endswith("@trade") and self.last is not None:
            self.on_trade(ts, units(data["p"], 2), units(data["q"], 8), data["m"])

    # --- queues ---
    def own_level(self, o: RefOrder) -> int:
        return (self.bids if o.side > 0 else self.asks).get(o.price, 0)

    def update_queues(self) -> None:
        for o in self.orders:
            if o.status not in ("NEW", "PARTIALLY_FILLED"):
                continue
            new = self.own_level(o)
            if new != o.level:
                cancelled = o.level - new - o.traded
                o.traded = 0
                if cancelled > 0 and self.power is not None and o.ahead > 0:
                    behind = o.level - o.ahead
                    fa, fb = float(o.ahead) ** self.power, float(max(behind, 0)) ** self.power
                    share = fa / (fa + fb)
                    c = float(cancelled)
                    overflow = max((1.0 - share) * c - max(behind, 0), 0.0)
                    advance = min(max(np.floor(share * c + overflow), 0.0), float(o.ahead))
                    o.ahead -= int(advance)
                o.ahead = min(o.ahead, new)
            o.level = new

    # --- our orders ---
    def fill(self, o: RefOrder, t: int, price: int, qty: int, maker: bool) -> None:
        o.filled += qty
        assert o.filled <= o.qty
        o.status = "FILLED" if o.filled == o.qty else "PARTIALLY_FILLED"
        fee = (price / 100) * (qty / 1e8) * (MAKER if maker else TAKER)
        self.fills.append((t, o.id, o.side, price, qty, maker, fee))
        if o.status == "FILLED":
            self.events.append((t, o.id, "FILLED", None))

    def arrive(self, o: RefOrder, t: int) -> None:
        bid, ask = self.top()
        best = ask if o.side > 0 else bid
        crosses = o.kind != "market" and o.side * (o.price - best) >= 0
        if o.kind == "maker" and crosses:
            o.status = "REJECTED"
            self.events.append((t, o.id, "REJECTED", "POST_ONLY_WOULD_CROSS"))
            return
        o.status = "NEW"
        self.events.append((t, o.id, "NEW", None))
        if o.kind == "market" or crosses:
            book = self.asks if o.side > 0 else self.bids
            want = o.qty - o.filled
            for price in sorted(book, reverse=o.side < 0):
                if want == 0 or (o.kind != "market" and o.side * (price - o.price) > 0):
                    break
                q = min(book[price], want)
                self.fill(o, t, price, q, maker=False)
                want -= q
            if o.status == "FILLED":
                return
            if o.kind == "market":
                o.status = "EXPIRED"
                self.events.append((t, o.id, "EXPIRED", None))
                return
        o.ahead = o.level = self.own_level(o)
        o.traded = 0

    def on_trade(self, t: int, price: int, qty: int, buyer_is_maker: bool) -> None:
        hit = 1 if buyer_is_maker else -1
        for o in self.orders:
            if o.side != hit or o.status not in ("NEW", "PARTIALLY_FILLED"):
                continue
            beyond = hit * (o.price - price)
            if beyond > 0:
                o.ahead, o.traded, passing = 0, 0, qty
            elif beyond == 0:
                used = min(qty, o.ahead)
                o.ahead -= used
                o.traded += qty
                passing = qty - used
            else:
                continue
            take = min(passing, o.qty - o.filled)
            if take > 0:
                self.fill(o, t, o.price, take, maker=True)

    def apply_actions(self, t: int, inclusive: bool) -> None:
        while True:
            due = []
            for i, o in enumerate(self.orders):
                if o.status == "PENDING_NEW":
                    due.append((o.arrive, 0, i))
                if o.cancel_at is not None:
                    due.append((o.cancel_at, 1, i))
            if not due:
                return
            at, what, i = min(due)
            if at > t or (at == t and not inclusive):
                return
            o = self.orders[i]
            if what == 0:
                self.arrive(o, at)
            else:
                o.cancel_at = None
                if o.status in TERMINAL:
                    self.events.append((at, o.id, o.status, "CANCEL_TOO_LATE"))
                else:
                    o.status = "CANCELED"
                    self.events.append((at, o.id, "CANCELED", None))


def decisions(book_top: tuple[int, int], k: int) -> list[tuple[str, int, str, int, int | None]]:
    """The strategy: (id, side, kind, qty steps, price ticks) from the top of book at step k."""
    bid, ask = book_top
    out: list[tuple[str, int, str, int, int | None]] = [
        (f"b{k}", 1, "limit", 1_000_000, bid),
        (f"s{k}", -1, "limit", 1_000_000, ask),
        (f"d{k}", 1, "limit", 500_000, bid - 100),
    ]
    if k % 5 == 0:
        out.append((f"p{k}", 1, "maker", 100_000, ask))
    if k % 3 == 0:
        out.append((f"m{k}", -1, "market", 200_000, None))
    if k % 4 == 0:
        out.append((f"x{k}", 1, "limit", 300_000_000, ask + 50))
    if k == 7:
        # Larger than the whole displayed ask side: walks every level, the rest expires.
        out.append((f"big{k}", 1, "market", 100_000 * 10**8, None))
    return out


KINDS = {"limit": OrderType.LIMIT, "maker": OrderType.LIMIT_MAKER, "market": OrderType.MARKET}


def recording_arrays(frames: list[RecordedFrame]) -> Recording:
    """The recording as the driver's arrays, built here with NumPy (not Recording.from_frames)."""
    kinds = np.array([int(frame_kind(f.raw)) for f in frames], dtype=np.uint8)
    lengths = np.array([len(f.raw) for f in frames], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ts = np.array([f.ts_ns for f in frames], dtype=np.int64)
    return Recording(ts, kinds, b"".join(f.raw for f in frames), offsets)


@pytest.mark.parametrize(
    ("power", "table"),
    [(None, False), (2.0, True)],
    ids=["risk_averse-constant_latency", "power2-table_latency"],
)
def test_replay_fills_match_the_python_reference(
    hft_spot_frames: list[RecordedFrame], power: float | None, table: bool
) -> None:
    frames = hft_spot_frames
    snapshot_ts = next(f.ts_ns for f in frames if f.source == "rest")
    end = frames[-1].ts_ns
    lat_ts = [snapshot_ts + k * 60_000_000_000 for k in range(11)]
    lat_delay = [2_000_000 + (k % 3) * 4_000_000 for k in range(11)]
    latency = (lat_ts, lat_delay) if table else None
    entry = (
        Latency.table(np.array(lat_ts, np.int64), np.array(lat_delay, np.int64))
        if table
        else Latency.constant(ENTRY_NS)
    )
    queue = QueueModel.risk_averse() if power is None else QueueModel.probabilistic(power)
    config = L2VenueConfig(
        maker_fee_rate=MAKER,
        taker_fee_rate=TAKER,
        queue=queue,
        entry_latency=entry,
        cancel_latency=Latency.constant(CANCEL_NS),
    )
    venue = L2Venue("BTCUSDT", TICK, STEP, config)
    rec = recording_arrays(frames)
    ref = Reference(power, latency)

    times = list(range(snapshot_ts + 5_000_000_000, end, 20_000_000_000))
    cursor = 0
    placed: list[str] = []
    for k, t in enumerate(times):
        venue.run_until(rec, t)
        while cursor < len(frames) and frames[cursor].ts_ns <= t:
            ref.apply_actions(frames[cursor].ts_ns, inclusive=False)
            ref.on_frame(frames[cursor].ts_ns, frames[cursor].raw)
            cursor += 1
        ref.apply_actions(t, inclusive=True)
        bid, ask = venue.best_bid(), venue.best_ask()
        assert bid is not None and ask is not None
        top = (round(bid[0] * 100), round(ask[0] * 100))
        assert top == ref.top(), f"books differ at decision {k}"
        for o in ref.orders:
            status, filled, _ = venue.order_state(o.id)
            assert (status.__repr__().split(".")[-1], round(filled * 1e8)) == (
                o.status,
                o.filled,
            ), o.id
        for oid in placed:
            o = next(x for x in ref.orders if x.id == oid)
            if o.status not in TERMINAL and o.cancel_at is None:
                venue.cancel(t, oid)
                o.cancel_at = t + CANCEL_NS
        placed = []
        for oid, side, kind, qty, price in decisions(top, k):
            venue.submit(
                t,
                oid,
                Side.BUY if side > 0 else Side.SELL,
                KINDS[kind],
                qty / 1e8,
                None if price is None else price / 100,
            )
            ref.orders.append(RefOrder(oid, side, kind, price or 0, qty, t + ref.entry_delay(t)))
            placed.append(oid)
    venue.run_until(rec, end)
    for f in frames[cursor:]:
        ref.apply_actions(f.ts_ns, inclusive=False)
        ref.on_frame(f.ts_ns, f.raw)
    ref.apply_actions(end, inclusive=True)

    got = [
        (
            f.ts_ns,
            f.client_id,
            f.side.sign,
            round(f.price * 100),
            round(f.qty * 1e8),
            f.liquidity == Liquidity.MAKER,
        )
        for f in venue.take_fills()
    ]
    want = [f[:6] for f in ref.fills]
    assert got == want
    events = [
        (
            e.ts_ns,
            e.client_id,
            repr(e.status).split(".")[-1],
            None if e.reason is None else repr(e.reason).split(".")[-1],
        )
        for e in venue.take_order_events()
    ]
    assert events == ref.events
    # The run exercises every rule: maker fills, taker walks, partials, rejections, cancels.
    maker = sum(1 for f in want if f[5])
    assert maker >= 10 and len(want) - maker >= 5, (maker, len(want))
    statuses = {e[2] for e in ref.events}
    assert {"CANCELED", "EXPIRED", "REJECTED", "FILLED"} <= statuses
    assert any(o.status == "CANCELED" and 0 < o.filled < o.qty for o in ref.orders) or any(
        0 < o.filled < o.qty for o in ref.orders
    )
    base = sum(f[2] * f[4] for f in ref.fills)
    assert venue.position == pytest.approx(base / 1e8, abs=1e-12)
    cash = -sum(f[2] * f[3] * f[4] for f in ref.fills) * 1e-10
    assert venue.cash == pytest.approx(cash, rel=1e-12)
    assert venue.fees == pytest.approx(sum(f[6] for f in ref.fills), rel=1e-12)


def test_no_op_replay_counts_every_event_and_ends_at_the_last_ticker(
    hft_spot_frames: list[RecordedFrame],
) -> None:
    rec = Recording.from_frames(hft_spot_frames)
    venue = L2Venue("BTCUSDT", TICK, STEP, L2VenueConfig())
    assert venue.run_until(rec, hft_spot_frames[-1].ts_ns) == len(hft_spot_frames) == len(rec)
    c = venue.counters
    assert (c["trades"], c["book_tickers"], c["snapshots"], c["sequence_gaps"]) == (
        19_904,
        73_174,
        1,
        0,
    )
    assert c["depth_buffered"] > 0 and c["depth_applied"] > 6000
    assert c["depth_buffered"] + c["depth_applied"] + c["depth_stale"] >= 6495
    assert venue.best_bid() is not None and venue.best_bid()[0] == 61602.01  # type: ignore[index]
    assert venue.best_ask() is not None and venue.best_ask()[0] == 61602.02  # type: ignore[index]
    assert [e.status for e in venue.take_book_events()] == [BookStatus.SYNCED]
    assert rec.next_ts is None


def test_memory_stays_flat_over_repeated_replays(hft_spot_frames: list[RecordedFrame]) -> None:
    rec = Recording.from_frames(hft_spot_frames)
    end = hft_spot_frames[-1].ts_ns

    def one_replay() -> None:
        rec.rewind()
        venue = L2Venue("BTCUSDT", TICK, STEP, L2VenueConfig())
        start = hft_spot_frames[0].ts_ns
        for k, t in enumerate(range(start, end, 1_000_000_000)):
            venue.run_until(rec, t)
            top = venue.best_bid() if venue.book_valid else None
            if top is not None and venue.open_orders < 4:
                venue.submit(t, f"q{k}", Side.BUY, OrderType.LIMIT, 0.001, top[0])
        venue.run_until(rec, end)
        venue.take_fills()
        venue.take_order_events()

    one_replay()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(3):
        one_replay()
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 4096, f"max RSS grew by {grown_kib} KiB over three replays"


def test_a_dropped_diff_stops_fills_until_a_resync(hft_spot_frames: list[RecordedFrame]) -> None:
    depth = [i for i, f in enumerate(hft_spot_frames) if b"@depth" in f.raw[:40]]
    drop = depth[len(depth) // 2]
    frames = hft_spot_frames[:drop] + hft_spot_frames[drop + 1 :]
    rec = Recording.from_frames(frames)
    venue = L2Venue("BTCUSDT", TICK, STEP, L2VenueConfig())
    t_gap = hft_spot_frames[drop].ts_ns
    t_next = hft_spot_frames[depth[len(depth) // 2 + 1]].ts_ns
    venue.run_until(rec, t_gap - 1_000_000_000)
    bid = venue.best_bid()
    assert bid is not None
    venue.submit(venue.now or 0, "rest", Side.BUY, OrderType.LIMIT, 0.01, bid[0])
    venue.run_until(rec, t_next)
    events = venue.take_book_events()
    assert [e.status for e in events] == [BookStatus.SYNCED, BookStatus.SEQUENCE_GAP]
    assert not venue.book_valid
    filled_at_gap = venue.order_state("rest")[1]
    venue.submit(t_next, "late", Side.SELL, OrderType.MARKET, 0.001)
    venue.run_until(rec, frames[-1].ts_ns)
    assert venue.order_state("rest")[1] == filled_at_gap, "no fill on a stale book"
    late = [e for e in venue.take_order_events() if e.client_id == "late"]
    assert late[-1].status == OrderStatus.REJECTED
    assert late[-1].reason == VenueReject.BOOK_NOT_SYNCED
    assert venue.counters["trades_on_invalid_book"] > 1000


def test_bad_orders_and_frames_are_typed_errors(hft_spot_frames: list[RecordedFrame]) -> None:
    venue = L2Venue("BTCUSDT", TICK, STEP, L2VenueConfig())
    venue.advance_to(100)
    for qty in (float("nan"), float("inf"), -1.0, 0.0):
        with pytest.raises(InvalidInput):
            venue.submit(100, "a", Side.BUY, OrderType.LIMIT, qty, 100.0)
    with pytest.raises(InvalidInput, match="multiple"):
        venue.submit(100, "a", Side.BUY, OrderType.LIMIT, 1.0, 100.001)
    venue.submit(100, "a", Side.BUY, OrderType.LIMIT, 1.0, 100.0)
    with pytest.raises(InvalidInput, match="duplicate"):
        venue.submit(100, "a", Side.BUY, OrderType.LIMIT, 1.0, 100.0)
    with pytest.raises(InvalidInput, match="unknown"):
        venue.cancel(100, "zz")
    with pytest.raises(InvalidInput, match="STOP_MARKET"):
        venue.submit(100, "b", Side.BUY, OrderType.STOP_MARKET, 1.0)
    with pytest.raises(InvalidInput, match="time order"):
        venue.submit(50, "c", Side.BUY, OrderType.MARKET, 1.0)
    venue.advance_to(200)
    # It arrived on an unsynced book: rejected, so a cancel is an invalid transition.
    with pytest.raises(InvalidTransition, match="REJECTED"):
        venue.cancel(200, "a")
    trade = next(f.raw for f in hft_spot_frames if b"@trade" in f.raw[:40])
    with pytest.raises(InvalidInput, match="symbol"):
        L2Venue("ETHUSDT", TICK, STEP, L2VenueConfig()).process(1, FrameKind.TRADE, trade)
    with pytest.raises(InvalidInput, match="trade frame"):
        venue.process(300, FrameKind.TRADE, b"{not json")
    with pytest.raises(InvalidInput, match="kinds"):
        Recording(np.zeros(2, np.int64), np.zeros(1, np.uint8), b"", np.zeros(3, np.int64))
    with pytest.raises(InvalidInput, match="power"):
        QueueModel.probabilistic(float("nan"))
    with pytest.raises(InvalidInput, match="latency"):
        Latency.constant(-1)
