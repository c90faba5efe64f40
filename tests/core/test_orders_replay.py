"""Order and position accounting replayed on real Binance trades, against Decimal references."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest

from gradtrade.core import Order, OrderStatus, Position, Side, SymbolFilters

FILTERS = SymbolFilters(
    "BTCUSDT", "0.01", "0.00001", min_qty="0.00001", base_asset="BTC", quote_asset="USDT"
)
EIGHT = Decimal("0.00000001")


def spot_trades(data_dir: Path, limit: int) -> list[dict[str, object]]:
    path = data_dir / "recordings" / "hftbacktest" / "spot" / "btcusdt_20240808.gz"
    trades: list[dict[str, object]] = []
    with gzip.open(path, "rt") as lines:
        for line in lines:
            if "@trade" in line:
                trades.append(json.loads(line.partition(" ")[2])["data"])
                if len(trades) == limit:
                    break
    assert len(trades) == limit
    return trades


def test_real_trades_fill_one_order_exactly(data_dir: Path) -> None:
    trades = spot_trades(data_dir, 400)
    total = sum(Decimal(str(t["q"])) for t in trades)
    order = Order("replay.0.1", FILTERS, Side.BUY, float(total), 70_000.0)
    cumulative = Decimal(0)
    notional = Decimal(0)
    fees = Decimal(0)
    new_report = {
        "e": "executionReport", "E": trades[0]["E"], "s": "BTCUSDT", "c": "replay.0.1",
        "S": "BUY", "o": "LIMIT", "f": "GTC", "q": f"{total:.8f}", "p": "70000.00000000",
        "C": "", "x": "NEW", "X": "NEW", "i": 1, "l": "0", "z": "0", "L": "0", "n": "0",
        "N": None, "T": trades[0]["T"], "t": -1,
    }  # fmt: skip
    reports = [json.dumps(new_report)]
    for i, t in enumerate(trades):
        qty, price = Decimal(str(t["q"])), Decimal(str(t["p"]))
        cumulative += qty
        notional += qty * price
        fee = (qty * price * Decimal("0.001")).quantize(EIGHT)
        fees += fee
        status = "FILLED" if i == len(trades) - 1 else "PARTIALLY_FILLED"
        report = {
            "e": "executionReport", "E": t["E"], "s": "BTCUSDT", "c": "replay.0.1", "S": "BUY",
            "o": "LIMIT", "f": "GTC", "q": f"{total:.8f}", "p": "70000.00000000", "C": "",
            "x": "TRADE", "X": status, "i": 1, "l": t["q"], "z": f"{cumulative:.8f}",
            "L": t["p"], "n": f"{fee:.8f}", "N": "USDT", "T": t["T"], "t": t["t"],
        }  # fmt: skip
        reports.append(json.dumps(report))
    for raw in reports:
        assert order.apply_execution_report_json(raw)
    assert order.status == OrderStatus.FILLED
    assert order.filled_qty == float(total)
    assert order.average_price == pytest.approx(float(notional / total), rel=1e-14)
    assert order.filled_notional == pytest.approx(float(notional), rel=1e-14)
    assert order.fees["USDT"] == pytest.approx(float(fees), abs=1e-9)
    assert order.trade_ids == [t["t"] for t in trades]
    # The whole stream again (a reconnect replaying it, NEW included) changes nothing.
    snapshot = order.to_json()
    assert not any(order.apply_execution_report_json(raw) for raw in reports)
    assert order.to_json() == snapshot
    assert Order.from_json(snapshot).to_json() == snapshot


class ReferencePosition:
    """Average-cost accounting in Decimal, written independently of the Rust one."""

    def __init__(self) -> None:
        self.qty = Decimal(0)
        self.avg = Decimal(0)
        self.realized = Decimal(0)

    def fill(self, signed_qty: Decimal, price: Decimal) -> None:
        if self.qty == 0 or (self.qty > 0) == (signed_qty > 0):
            new_qty = self.qty + signed_qty
            self.avg = (self.avg * abs(self.qty) + price * abs(signed_qty)) / abs(new_qty)
            self.qty = new_qty
            return
        closing = min(abs(signed_qty), abs(self.qty))
        direction = 1 if self.qty > 0 else -1
        self.realized += closing * (price - self.avg) * direction
        self.qty += signed_qty
        if self.qty == 0:
            self.avg = Decimal(0)
        elif (self.qty > 0) != (direction > 0):
            self.avg = price  # flipped: the rest opened at this price


def test_position_matches_a_decimal_reference_on_real_trades(data_dir: Path) -> None:
    """Real trade sizes and prices; the side is the trade's taker side (buyer is maker -> a sell)
    while |position| <= 0.02 BTC, else the side that reduces it, so the position crosses zero
    often, by fills of every size."""
    trades = spot_trades(data_dir, 3000)
    position, reference = Position(FILTERS), ReferencePosition()
    flips = 0
    for t in trades:
        qty, price = Decimal(str(t["q"])), Decimal(str(t["p"]))
        if abs(reference.qty) <= Decimal("0.02"):
            side = Side.SELL if t["m"] else Side.BUY
        else:
            side = Side.SELL if reference.qty > 0 else Side.BUY
        before = reference.qty
        reference.fill(qty if side == Side.BUY else -qty, price)
        flips += before != 0 and reference.qty != 0 and (before > 0) != (reference.qty > 0)
        position.apply_fill(side, float(qty), float(price))
        assert position.quantity == float(reference.qty)
        assert position.is_flat == (reference.qty == 0)
        if reference.qty != 0:
            assert position.average_entry == pytest.approx(float(reference.avg), rel=1e-12)
        assert position.realized_pnl == pytest.approx(float(reference.realized), abs=1e-6)
    assert flips > 10, "the replay should exercise flips through zero"
    mark = float(Decimal(str(trades[-1]["p"])))
    expected_unrealized = reference.qty * (Decimal(str(mark)) - reference.avg)
    assert position.unrealized_pnl(mark) == pytest.approx(float(expected_unrealized), abs=1e-6)
