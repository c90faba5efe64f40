"""Fixtures of the journal tests: a real redis-server on loopback, journals of both backends,
and a trading scenario (real BTCUSDT filters and prices) journaled next to the live objects."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.feather as feather
import pytest
import redis

from gradtrade.core import (
    DrawdownBreaker,
    Order,
    OrderStatus,
    Position,
    Side,
    SymbolFilters,
    client_order_id,
)
from gradtrade.persistence import JournalRecord, RecordKind


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """A redis-server process of this test session."""

    port: int
    process: subprocess.Popen[bytes]
    directory: Path

    def url(self, trader: str, **options: str) -> str:
        query = "&".join([f"trader={trader}", *(f"{k}={v}" for k, v in options.items())])
        return f"redis://127.0.0.1:{self.port}/0?{query}"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_redis(directory: Path, *args: str) -> RedisServer:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (scripts/test.sh installs it with apt-get)")
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
         "--save", "", "--daemonize", "no", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = RedisServer(port, process, directory)
    deadline = time.monotonic() + 10
    while True:
        try:
            if server.client().ping():
                return server
        except (redis.AuthenticationError, redis.ResponseError):
            return server  # up, and asking for the password it was started with
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """The durable server every Redis journal test uses (AOF, fsync on every write)."""
    server = start_redis(
        tmp_path_factory.mktemp("redis"), "--appendonly", "yes", "--appendfsync", "always"
    )
    yield server
    server.stop()


@pytest.fixture
def start_redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Starts extra redis-servers with the given options for one test (``directory`` reuses
    another's data, as a restart does); stops them after it."""
    servers: list[RedisServer] = []

    def start(*args: str, directory: Path | None = None) -> RedisServer:
        servers.append(start_redis(directory or tmp_path / f"redis-{len(servers)}", *args))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh journal of each backend."""
    trader = f"t-{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        return f"{tmp_path / 'journal.db'}?trader={trader}"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url(trader)


@pytest.fixture(scope="session")
def btc_filters(data_dir: Path) -> SymbolFilters:
    """BTCUSDT's filters from the recorded spot exchangeInfo."""
    line = (data_dir / "recordings" / "cryptofeed" / "BINANCE.0").read_text().splitlines()[0]
    return SymbolFilters.from_exchange_info_json(line.split(": ", 1)[1], "BTCUSDT")


@pytest.fixture(scope="session")
def closes(data_dir: Path) -> list[tuple[int, float]]:
    """(open time ns, close) of the recorded BTC/USDT 1h candles."""
    table = feather.read_table(data_dir / "klines" / "spot" / "BTC_USDT-1h.feather")
    dates = table.column("date").cast("int64").to_pylist()
    return list(zip(dates, table.column("close").to_pylist(), strict=True))


@dataclass
class Scenario:
    """Journal records of a trading session and the live objects they were taken from."""

    filters: SymbolFilters
    records: list[JournalRecord] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    breaker: DrawdownBreaker = field(default_factory=lambda: DrawdownBreaker(0.05, 0.10))
    in_flight: set[str] = field(default_factory=set)
    breaker_journaled: str | None = None  # the breaker as of its last journaled transition

    def add(self, ts_ns: int, kind: RecordKind, key: str, payload: dict[str, object]) -> None:
        seq = len(self.records) + 1
        self.records.append(JournalRecord.new(seq, ts_ns, kind, key, payload))


def _fill(s: Scenario, order: Order, trade_id: int, qty: float, price: float, ts: int) -> None:
    fee = round(qty * price * 0.001, 8)
    s.add(ts, RecordKind.FILL, order.client_order_id, {
        "trade_id": trade_id, "quantity": qty, "price": price, "fee": fee,
        "fee_asset": "USDT", "time_ms": ts // 1_000_000,
    })  # fmt: skip
    assert order.apply_fill(trade_id, qty, price, fee, "USDT", ts // 1_000_000)
    position = s.positions.setdefault(order.symbol, Position(s.filters))
    position.apply_fill(order.side, qty, price, fee, "USDT")


def build_scenario(
    filters: SymbolFilters, closes: list[tuple[int, float]], n_orders: int
) -> Scenario:
    """Orders that fill, fill in parts, get canceled, rejected, or stay unacknowledged."""
    s = Scenario(filters)
    symbol = filters.symbol
    s.add(closes[0][0], RecordKind.INSTRUMENT, symbol, {"filters": json.loads(filters.to_json())})
    first_close = closes[0][1]
    trade_id = 1
    for i in range(n_orders):
        ts, close = closes[(i * 7) % len(closes)]
        price = round(close, 2)
        side = Side.BUY if i % 2 == 0 else Side.SELL
        cid = client_order_id("persist", 1, i)
        variant = i % 5
        qty = 0.002 if variant == 2 else 0.001 * (1 + i % 3)
        order = Order(cid, filters, side, qty, price)
        s.orders[cid] = order
        decision = {"checkpoint": "ckpt-0007", "mu": 1e-4 * (i % 7 - 3), "sigma": 0.01, "bar": i}
        s.add(ts, RecordKind.DECISION, symbol, decision)
        s.add(ts, RecordKind.ORDER_INITIALIZED, cid, {"order": json.loads(order.to_json())})
        s.add(ts + 1, RecordKind.ORDER_SUBMITTED, cid, {})
        if variant == 4:
            s.add(ts + 2, RecordKind.ORDER_REJECTED, cid, {"reason": "-2010 insufficient balance"})
            order.transition(OrderStatus.REJECTED)
            continue
        s.add(ts + 2, RecordKind.ORDER_ACCEPTED, cid, {"exchange_order_id": 10_000 + i})
        order.acknowledge(10_000 + i)
        if variant == 3:
            s.add(ts + 3, RecordKind.ORDER_CANCEL_REQUESTED, cid, {})
            order.transition(OrderStatus.PENDING_CANCEL)
            s.add(ts + 4, RecordKind.ORDER_CANCELED, cid, {})
            order.transition(OrderStatus.CANCELED)
        elif variant == 2:
            _fill(s, order, trade_id, 0.001, price, ts + 3)
            trade_id += 1
            s.add(ts + 3, RecordKind.ORDER_PARTIALLY_FILLED, cid, {})
            s.add(ts + 4, RecordKind.ORDER_CANCEL_REQUESTED, cid, {})
            order.transition(OrderStatus.PENDING_CANCEL)
            s.add(ts + 5, RecordKind.ORDER_CANCEL_REJECTED, cid, {})
            order.cancel_rejected()
            s.add(ts + 6, RecordKind.ORDER_EXPIRED, cid, {"in_match": False})
            order.transition(OrderStatus.EXPIRED)
        else:
            parts = [qty] if variant == 0 or qty < 0.002 else [0.001, round(qty - 0.001, 5)]
            for part in parts:
                _fill(s, order, trade_id, part, price, ts + 3)
                trade_id += 1
            s.add(ts + 4, RecordKind.ORDER_FILLED, cid, {})
        if i % 8 == 7:
            funding = {"asset": "USDT", "amount": -0.01 * (i % 3 + 1), "time_ms": ts // 10**6}
            s.add(ts + 5, RecordKind.FUNDING, symbol, funding)
        before = s.breaker.state
        after = s.breaker.update(10_000.0 * close / first_close)
        if after != before:
            s.add(ts + 6, RecordKind.BREAKER_TRANSITION, "account",
                  {"breaker": json.loads(s.breaker.to_json()), "to": int(after)})  # fmt: skip
            s.breaker_journaled = s.breaker.to_json()
    ts, close = closes[-1]
    cid = client_order_id("persist", 1, n_orders)
    order = Order(cid, filters, Side.BUY, 0.001, round(close, 2))
    s.orders[cid] = order
    s.add(ts, RecordKind.ORDER_INITIALIZED, cid, {"order": json.loads(order.to_json())})
    s.add(ts + 1, RecordKind.ORDER_SUBMITTED, cid, {})
    s.in_flight.add(cid)
    s.add(ts + 2, RecordKind.RECONCILIATION, "account", {"ok": True, "differences": []})
    return s


@pytest.fixture(scope="session")
def make_scenario(
    btc_filters: SymbolFilters, closes: list[tuple[int, float]]
) -> Callable[[int], Scenario]:
    return lambda n_orders: build_scenario(btc_filters, closes, n_orders)
