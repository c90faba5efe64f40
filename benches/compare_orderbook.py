"""Order-book replay: gradtrade against NautilusTrader and a sortedcontainers book.

The real spot recording (hftbacktest BTCUSDT, two chained files) is synced the Binance way (REST
snapshot, stale diffs dropped); then every following depth frame is applied, one call per frame,
from Python, with the clock running from the raw websocket bytes to the updated book:

* gradtrade: ``OrderBook.apply_depth_json(raw)`` (parsing, sequence check, validation in Rust);
* NautilusTrader: ``orjson.loads`` then, per level, the ``OrderBookDelta`` that Nautilus's own
  Binance adapter builds (``Price.from_str``, ``Quantity.from_str``, ``BookOrder``, UPDATE or
  DELETE), applied with ``OrderBook.apply_delta`` (L2_MBP);
* sortedcontainers: ``orjson.loads`` then, per level, ``float`` prices and quantities into one
  ``SortedDict`` per side (delete on zero), with the same sequence check.

Cost is reported per price level applied (the recording averages ~46 levels per frame). Each
engine replays the same frames several times (fresh book from the snapshot each time, untimed);
the median is reported. All three books must end on the same best bid/ask (61602.01/61602.02).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from gradtrade.core import OrderBook
from gradtrade.data.recordings import read_hftbacktest

Top = tuple[float, float]


def load(data_dir: Path) -> tuple[bytes, list[bytes], int]:
    """(snapshot, the depth frames that follow it, number of price levels in those frames)."""
    spot = data_dir / "recordings" / "hftbacktest" / "spot"
    frames = list(read_hftbacktest(spot / "btcusdt_20240808.gz", spot / "btcusdt_20240809.gz"))
    snapshot = next(f.raw for f in frames if f.source == "rest")
    last_id = orjson.loads(snapshot)["lastUpdateId"]
    diffs, levels = [], 0
    for frame in frames:
        if frame.source != "ws" or b"@depth" not in frame.raw[:40]:
            continue
        data = orjson.loads(frame.raw)["data"]
        if data["u"] <= last_id:
            continue  # stale: already in the snapshot
        diffs.append(frame.raw)
        levels += len(data["b"]) + len(data["a"])
    return snapshot, diffs, levels


def gradtrade_engine(snapshot: bytes, diffs: list[bytes]) -> Callable[[], Top]:
    def run() -> Top:
        book = OrderBook("BTCUSDT", "0.01", "0.00000001", "spot")
        book.apply_snapshot_json(snapshot)
        apply = book.apply_depth_json
        start = time.perf_counter_ns()
        for raw in diffs:
            apply(raw)
        run.elapsed = time.perf_counter_ns() - start  # type: ignore[attr-defined]
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is not None and ask is not None
        return bid[0], ask[0]

    return run


def nautilus_engine(snapshot: bytes, diffs: list[bytes]) -> Callable[[], Top]:
    from nautilus_trader.model.book import OrderBook as NautilusBook
    from nautilus_trader.model.data import BookOrder, OrderBookDelta
    from nautilus_trader.model.enums import BookAction, BookType, OrderSide
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.model.objects import Price, Quantity

    iid = InstrumentId.from_str("BTCUSDT.BINANCE")
    buy, sell = OrderSide.BUY, OrderSide.SELL
    update, delete = BookAction.UPDATE, BookAction.DELETE

    def apply_levels(
        book: NautilusBook, levels: list[list[str]], side: OrderSide, seq: int
    ) -> None:
        # As nautilus_trader/adapters/binance/common/schemas/market.py builds them.
        for price, qty in levels:
            size = Quantity.from_str(qty)
            order = BookOrder(side, Price.from_str(price), size, 0)
            action = update if size > 0 else delete
            book.apply_delta(OrderBookDelta(iid, action, order, 0, seq, 0, 0))

    def run() -> Top:
        book = NautilusBook(iid, BookType.L2_MBP)
        snap = orjson.loads(snapshot)
        apply_levels(book, snap["bids"], buy, snap["lastUpdateId"])
        apply_levels(book, snap["asks"], sell, snap["lastUpdateId"])
        loads = orjson.loads
        start = time.perf_counter_ns()
        for raw in diffs:
            data = loads(raw)["data"]
            apply_levels(book, data["b"], buy, data["u"])
            apply_levels(book, data["a"], sell, data["u"])
        run.elapsed = time.perf_counter_ns() - start  # type: ignore[attr-defined]
        return float(book.best_bid_price()), float(book.best_ask_price())

    return run


def sorted_dict_engine(snapshot: bytes, diffs: list[bytes]) -> Callable[[], Top]:
    from sortedcontainers import SortedDict

    def run() -> Top:
        bids: SortedDict = SortedDict()
        asks: SortedDict = SortedDict()
        snap = orjson.loads(snapshot)
        for p, q in snap["bids"]:
            bids[float(p)] = float(q)
        for p, q in snap["asks"]:
            asks[float(p)] = float(q)
        last = snap["lastUpdateId"]
        first = True
        loads = orjson.loads
        start = time.perf_counter_ns()
        for raw in diffs:
            data = loads(raw)["data"]
            if not (data["U"] <= last + 1 if first else data["U"] == last + 1):
                raise RuntimeError("sequence gap")
            first = False
            last = data["u"]
            for book, levels in ((bids, data["b"]), (asks, data["a"])):
                for p, q in levels:
                    price, qty = float(p), float(q)
                    if qty == 0.0:
                        book.pop(price, None)
                    else:
                        book[price] = qty
        run.elapsed = time.perf_counter_ns() - start  # type: ignore[attr-defined]
        return bids.peekitem(-1)[0], asks.peekitem(0)[0]

    return run


def measure(engine: Callable[[], Top], repeats: int) -> tuple[float, Top, list[float]]:
    """Median elapsed seconds over ``repeats`` replays (GC off while timing) and the final top."""
    times, top = [], (0.0, 0.0)
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            top = engine()
        finally:
            gc.enable()
        times.append(engine.elapsed / 1e9)  # type: ignore[attr-defined]
    return statistics.median(times), top, times


def run(data_dir: Path, quick: bool) -> str:
    snapshot, diffs, levels = load(data_dir)
    repeats = 3 if quick else 7
    engines = {
        "gradtrade `apply_depth_json`": gradtrade_engine(snapshot, diffs),
        "NautilusTrader `OrderBook.apply_delta` (+ delta objects)": nautilus_engine(
            snapshot, diffs
        ),
        "sortedcontainers `SortedDict` + orjson": sorted_dict_engine(snapshot, diffs),
    }
    results = {name: measure(engine, repeats) for name, engine in engines.items()}
    tops = {(round(top[0], 8), round(top[1], 8)) for _, top, _ in results.values()}
    if tops != {(61602.01, 61602.02)}:
        raise RuntimeError(f"the engines disagree on the final top of book: {tops}")
    ours = next(iter(results.values()))[0]
    lines = [
        f"Spot BTCUSDT recording (hftbacktest), {len(diffs):,} depth frames after the snapshot, "
        f"{levels:,} price levels, replayed frame by frame from Python; median of {repeats} "
        "runs. Every engine ends on best bid/ask 61602.01/61602.02.",
        "",
        "| engine | ns per level | ns per frame | total ms | gradtrade is faster by |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (median, _, _) in results.items():
        ratio = "—" if median == ours else f"{median / ours:.1f}x"
        lines.append(
            f"| {name} | {median * 1e9 / levels:,.1f} | {median * 1e9 / len(diffs):,.0f} | "
            f"{median * 1e3:,.1f} | {ratio} |"
        )
    names = list(results)
    nautilus_ratio = results[names[1]][0] / ours
    sorted_ratio = results[names[2]][0] / ours
    lines += [
        "",
        f"Targets (issue 2): >= 4x NautilusTrader: **{nautilus_ratio:.1f}x** "
        f"({'met' if nautilus_ratio >= 4 else 'MISSED'}); >= 20x sortedcontainers: "
        f"**{sorted_ratio:.1f}x** ({'met' if sorted_ratio >= 20 else 'MISSED'}).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data"), quick=True))
