"""Run against gradtrade at schema version 1 (main at 10eeef6): a journal through the v1
writer path (live.Recorder over a SqliteJournal and a RedisJournal), saved as the SQLite file
and the Redis keys' raw contents."""
import base64, json, shutil, subprocess, sys, time, socket
from pathlib import Path
import redis
from gradtrade.core import Order, Side, SymbolFilters, client_order_id
from gradtrade.live.recorder import Recorder
from gradtrade.persistence import open_journal, recover, RecordKind, SCHEMA_VERSION
from gradtrade.persistence.redis import keys
assert SCHEMA_VERSION == 1
out = Path(sys.argv[1]); port = int(sys.argv[2])
line = Path("/work/shared/data/recordings/cryptofeed/BINANCE.0").read_text().splitlines()[0]
filters = SymbolFilters.from_exchange_info_json(line.split(": ", 1)[1], "BTCUSDT")
def run(url):
    with open_journal(url) as j:
        r = Recorder(j, recover(j), snapshot_every=10_000)
        r.record(RecordKind.INSTRUMENT, "BTCUSDT", {"filters": json.loads(filters.to_json())})
        for i in range(8):
            cid = client_order_id("legacy", 3, i)
            o = Order(cid, filters, Side.BUY if i % 2 == 0 else Side.SELL, 0.001, 60000.0 + i)
            r.record(RecordKind.DECISION, "BTCUSDT", {"checkpoint": "ckpt-1", "bar": i})
            r.record_many([(RecordKind.ORDER_INITIALIZED, cid, {"order": json.loads(o.to_json()), "request": {"style": "post_only", "intent": "rebalance", "reference_price": 60000.0 + i, "limit": 60000.0 + i, "reduce_only": False, "ts_ns": 1_700_000_000_000_000_000 + i}}), (RecordKind.ORDER_SUBMITTED, cid, {})])
            v = i % 4
            if v == 0:
                r.record(RecordKind.ORDER_STATUS_UNKNOWN, cid, {"message": "timeout"})
            if v == 3:
                r.record(RecordKind.ORDER_REJECTED, cid, {"reason": "insufficient_balance", "message": "-2010"})
                continue
            r.record(RecordKind.ORDER_ACCEPTED, cid, {"exchange_order_id": 500 + i})
            if v in (0, 2):
                r.record(RecordKind.FILL, cid, {"trade_id": 900 + i, "quantity": 0.001, "price": 60000.0 + i, "fee": 0.06, "fee_asset": "USDT", "time_ms": 1_700_000_000_000 + i, "side": 1 if i % 2 == 0 else -1, "symbol": "BTCUSDT", "liquidity": "maker", "slippage": 0.0})
                r.record(RecordKind.ORDER_FILLED, cid, {})
            elif v == 1:
                r.record(RecordKind.ORDER_EXPIRED, cid, {"in_match": False})
            if i == 3:
                r.maybe_snapshot(force=True)
        r.record(RecordKind.FUNDING, "BTCUSDT", {"asset": "USDT", "amount": -0.25, "time_ms": 1_700_000_000_500})
        r.record(RecordKind.RECONCILIATION, "account", {"ok": True, "verdict": "ok"})
        return recover(j).snapshot_objects()
objs = run(str(out / "v1_journal.db") + "?trader=legacy")
import sqlite3
db = sqlite3.connect(out / "v1_journal.db"); db.execute("PRAGMA wal_checkpoint(TRUNCATE)"); db.close()
for p in out.glob("v1_journal.db-*"): p.unlink()
(out / "v1_journal.db.lock").unlink(missing_ok=True)
objs2 = run(f"redis://127.0.0.1:{port}/0?trader=legacy")
assert objs == objs2
c = redis.Redis(port=port); k = keys("legacy")
b64 = lambda b: base64.b64encode(b).decode()
meta = {b64(a): b64(b) for a, b in c.hgetall(k["meta"]).items() if a != b"writer"}
stream = [[b64(i), [b64(x) for x in sum(([a, b] for a, b in f.items()), [])]] for i, f in c.xrange(k["journal"])]
latest = {b64(a): b64(b) for a, b in c.hgetall(k["latest"]).items()}
snap = {b64(a): b64(b) for a, b in c.hgetall(k["snapshot"]).items()}
(out / "v1_redis.json").write_text(json.dumps({"made_by": "gradtrade schema version 1 (main 10eeef6), live.Recorder over RedisJournal; base64 of the raw bytes", "meta": meta, "journal": stream, "latest": latest, "snapshot": snap, "state": objs}, indent=1, sort_keys=True) + "\n")
print("ok", len(stream))
