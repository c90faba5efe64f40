"""How ``v1_journal.db`` and ``v1_redis.json`` were made: run once against gradtrade at schema
version 1 (main at bfb6037), a journal written through the v1 writer path (``live.Recorder``
over a ``SqliteJournal`` and a ``RedisJournal``), saved as the SQLite file and as the raw bytes
(base64) of the Redis keys. Kept as the record of the fixture; the tests only read its output.

    PYTHONPATH=<v1 checkout>/python python make_v1_journal.py OUT_DIR REDIS_PORT
"""

from __future__ import annotations

import base64
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import redis

from gradtrade.core import Order, Side, SymbolFilters, client_order_id
from gradtrade.live.recorder import Recorder
from gradtrade.persistence import SCHEMA_VERSION, RecordKind, open_journal, recover
from gradtrade.persistence.redis import keys

DATA = Path("/work/shared/data/recordings/cryptofeed/BINANCE.0")


def _request(i: int) -> dict[str, Any]:
    return {"style": "post_only", "intent": "rebalance", "reference_price": 60000.0 + i,
            "limit": 60000.0 + i, "reduce_only": False,
            "ts_ns": 1_700_000_000_000_000_000 + i}  # fmt: skip


def _fill(i: int) -> dict[str, Any]:
    return {"trade_id": 900 + i, "quantity": 0.001, "price": 60000.0 + i, "fee": 0.06,
            "fee_asset": "USDT", "time_ms": 1_700_000_000_000 + i, "side": 1 if i % 2 == 0 else -1,
            "symbol": "BTCUSDT", "liquidity": "maker", "slippage": 0.0}  # fmt: skip


def run(url: str, filters: SymbolFilters) -> dict[str, str]:
    with open_journal(url) as j:
        r = Recorder(j, recover(j), snapshot_every=10_000)
        r.record(RecordKind.INSTRUMENT, "BTCUSDT", {"filters": json.loads(filters.to_json())})
        for i in range(8):
            cid = client_order_id("legacy", 3, i)
            o = Order(cid, filters, Side.BUY if i % 2 == 0 else Side.SELL, 0.001, 60000.0 + i)
            r.record(RecordKind.DECISION, "BTCUSDT", {"checkpoint": "ckpt-1", "bar": i})
            r.record_many([
                (RecordKind.ORDER_INITIALIZED, cid,
                 {"order": json.loads(o.to_json()), "request": _request(i)}),
                (RecordKind.ORDER_SUBMITTED, cid, {}),
            ])  # fmt: skip
            v = i % 4
            if v == 0:
                r.record(RecordKind.ORDER_STATUS_UNKNOWN, cid, {"message": "timeout"})
            if v == 3:
                payload = {"reason": "insufficient_balance", "message": "-2010"}
                r.record(RecordKind.ORDER_REJECTED, cid, payload)
                continue
            r.record(RecordKind.ORDER_ACCEPTED, cid, {"exchange_order_id": 500 + i})
            if v in (0, 2):
                r.record(RecordKind.FILL, cid, _fill(i))
                r.record(RecordKind.ORDER_FILLED, cid, {})
            elif v == 1:
                r.record(RecordKind.ORDER_EXPIRED, cid, {"in_match": False})
            if i == 4:
                r.maybe_snapshot(force=True)
        funding = {"asset": "USDT", "amount": -0.25, "time_ms": 1_700_000_000_500}
        r.record(RecordKind.FUNDING, "BTCUSDT", funding)
        r.record(RecordKind.RECONCILIATION, "account", {"ok": True, "verdict": "ok"})
        return recover(j).snapshot_objects()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def main(out: Path, port: int) -> None:
    assert SCHEMA_VERSION == 1
    line = DATA.read_text().splitlines()[0]
    filters = SymbolFilters.from_exchange_info_json(line.split(": ", 1)[1], "BTCUSDT")
    objects = run(f"{out / 'v1_journal.db'}?trader=legacy", filters)
    db = sqlite3.connect(out / "v1_journal.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for extra in out.glob("v1_journal.db-*"):
        extra.unlink()
    (out / "v1_journal.db.lock").unlink(missing_ok=True)
    assert run(f"redis://127.0.0.1:{port}/0?trader=legacy", filters) == objects
    c, k = redis.Redis(port=port), keys("legacy")
    dump = {
        "made_by": "gradtrade schema version 1 (main bfb6037): live.Recorder over RedisJournal; "
        "base64 of the raw bytes",
        "meta": {b64(a): b64(b) for a, b in c.hgetall(k["meta"]).items() if a != b"writer"},
        "journal": [
            [b64(i), [b64(x) for pair in f.items() for x in pair]]
            for i, f in c.xrange(k["journal"])
        ],
        "latest": {b64(a): b64(b) for a, b in c.hgetall(k["latest"]).items()},
        "snapshot": {b64(a): b64(b) for a, b in c.hgetall(k["snapshot"]).items()},
        "state": objects,
    }
    (out / "v1_redis.json").write_text(json.dumps(dump, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
