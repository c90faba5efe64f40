"""Journal records: validation on the way in and out, secrets refused, checksums, round trips."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.errors import (
    InvalidInput,
    JournalCorrupted,
    JournalVersionError,
    SecretInPayload,
)
from gradtrade.persistence import SCHEMA_VERSION, JournalRecord, RecordKind, Snapshot
from gradtrade.persistence.records import (
    PAYLOAD_FIELDS,
    canonical_json,
    check_json_value,
    check_next,
    decode_snapshot,
    decode_stored,
    is_secret_name,
    may_hold_secret,
)

FILL = {"trade_id": 7, "quantity": 0.5, "price": 60000.25, "fee": 0.03, "fee_asset": "USDT",
        "time_ms": 1_700_000_000_000}  # fmt: skip


def stored(r: JournalRecord) -> tuple[int, int, str, str, bytes, int, bytes]:
    return (r.seq, r.ts_ns, r.kind.value, r.key, r.payload, r.schema_version, r.digest())


def test_every_kind_has_a_payload_schema_and_a_string_value() -> None:
    assert set(PAYLOAD_FIELDS) == set(RecordKind)
    assert {k.value for k in RecordKind} >= {
        "order_initialized", "order_submitted", "order_accepted", "order_partially_filled",
        "order_filled", "order_cancel_requested", "order_canceled", "order_rejected",
        "order_expired", "fill", "funding", "decision", "breaker_transition", "reconciliation",
        "snapshot",
    }  # fmt: skip


def test_new_record_is_canonical_and_round_trips() -> None:
    r = JournalRecord.new(3, 1_700_000_000_000_000_000, RecordKind.FILL, "abc-1", dict(FILL))
    assert r.payload == orjson.dumps(FILL, option=orjson.OPT_SORT_KEYS)
    assert r.payload.startswith(b'{"fee":0.03,') and b" " not in r.payload
    assert r.data() == FILL
    assert r.schema_version == SCHEMA_VERSION
    assert decode_stored(*stored(r)) == r


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seq": 0}, "seq must be"),
        ({"seq": -1}, "seq must be"),
        ({"seq": True}, "seq must be"),
        ({"seq": 2**63}, "seq must be"),
        ({"ts_ns": -5}, "ts_ns must be"),
        ({"ts_ns": 1.5}, "ts_ns must be"),
        ({"key": ""}, "key must match"),
        ({"key": "has space"}, "key must match"),
        ({"key": "x" * 129}, "key must match"),
        ({"kind": "fill"}, "kind must be a RecordKind"),
        ({"payload": b"[1,2]"}, "must be a JSON object"),
        ({"payload": b'{"a":1'}, "not valid JSON"),
        ({"payload": '{"a":1}'}, "must be bytes"),
        ({"payload": b'{"b":1,"a":2}'}, "not canonical"),
        ({"payload": b'{"a": 1}'}, "not canonical"),
        ({"payload": b'{"a":NaN}'}, "not valid JSON"),
        ({"schema_version": 0}, "schema_version must be"),
    ],
)
def test_bad_records_are_refused_naming_the_problem(kwargs: dict[str, Any], match: str) -> None:
    fields: dict[str, Any] = {"seq": 1, "ts_ns": 0, "kind": RecordKind.DECISION, "key": "BTCUSDT",
                              "payload": b'{"checkpoint":"c1"}'}  # fmt: skip
    fields.update(kwargs)
    with pytest.raises(InvalidInput, match=match):
        JournalRecord(**fields)


@pytest.mark.parametrize(
    ("kind", "payload", "match"),
    [
        (
            RecordKind.FILL,
            {k: v for k, v in FILL.items() if k != "price"},
            "needs the field 'price'",
        ),
        (RecordKind.FILL, {**FILL, "trade_id": "7"}, "'trade_id' must be an integer"),
        (RecordKind.FILL, {**FILL, "trade_id": True}, "'trade_id' must be an integer"),
        (RecordKind.FILL, {**FILL, "price": "1.0"}, "'price' must be a finite number"),
        (RecordKind.FILL, {**FILL, "fee_asset": 3}, "'fee_asset' must be a string or null"),
        (RecordKind.ORDER_ACCEPTED, {}, "needs the field 'exchange_order_id'"),
        (RecordKind.ORDER_INITIALIZED, {"order": "{}"}, "'order' must be a JSON object"),
        (RecordKind.RECONCILIATION, {"ok": 1}, "'ok' must be a boolean"),
        (RecordKind.DECISION, {"checkpoint": "c", "mu": math.nan}, "'mu' is nan"),
        (RecordKind.DECISION, {"checkpoint": "c", "mu": math.inf}, "'mu' is inf"),
        (RecordKind.DECISION, {"checkpoint": "c", "when": object()}, "has type object"),
        (RecordKind.DECISION, {"checkpoint": "c", 3: 4}, "field names must be strings"),
    ],
)
def test_payload_schema_per_kind(kind: RecordKind, payload: dict[Any, Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        JournalRecord.new(1, 0, kind, "k", payload)


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"}, "apiKey"),
        ({"secret": "x"}, "secret"),
        ({"api_secret": "x"}, "api_secret"),
        (
            {"signature": "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"},
            "signature",
        ),
        ({"headers": {"X-MBX-APIKEY": "abc"}}, "headers.X-MBX-APIKEY"),
        (
            {"request": [{"listenKey": "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf"}]},
            "request[0].listenKey",
        ),
        ({"query": "symbol=BTCUSDT&timestamp=1&signature=c8db5682"}, "query"),
        ({"url": "https://api.binance.com/api/v3/order?apiKey=abc"}, "url"),
        ({"note": "Secret: hunter2"}, "note"),
    ],
)
def test_secrets_never_enter_the_journal(payload: dict[str, Any], where: str) -> None:
    with pytest.raises(SecretInPayload) as info:
        JournalRecord.new(1, 0, RecordKind.DECISION, "k", {"checkpoint": "c", **payload})
    message = str(info.value)
    assert repr(where) in message
    for value in ("vmPUZE6", "c8db5682", "hunter2", "pqia91ma", "abc"):
        assert value not in message.replace("looks like", "")
    assert isinstance(info.value, InvalidInput)


def test_a_stored_secret_is_refused_on_the_way_out_too() -> None:
    payload = b'{"checkpoint":"c","secretKey":"s"}'
    digest = JournalRecord.new(1, 0, RecordKind.DECISION, "k", {"checkpoint": "c"}).digest()
    with pytest.raises(JournalCorrupted, match=r"record 9 is invalid.*credential") as info:
        decode_stored(9, 0, "decision", "k", payload, 1, digest)
    assert info.value.seq == 9


def test_stored_records_are_checked_like_new_ones() -> None:
    r = JournalRecord.new(5, 10, RecordKind.ORDER_ACCEPTED, "cid", {"exchange_order_id": 3})
    seq, ts, kind, key, payload, version, digest = stored(r)
    with pytest.raises(JournalCorrupted, match=r"record 5 is invalid: unknown record kind 'oops'"):
        decode_stored(seq, ts, "oops", key, payload, version, digest)
    with pytest.raises(JournalCorrupted, match=r"record 5 is invalid: payload is not valid JSON"):
        decode_stored(seq, ts, kind, key, payload[:-1], version, digest)
    with pytest.raises(JournalCorrupted, match=r"record 5 fails its checksum"):
        decode_stored(seq, ts + 1, kind, key, payload, version, digest)
    with pytest.raises(JournalCorrupted, match=r"record 5 fails its checksum"):
        decode_stored(seq, ts, kind, key, payload.replace(b"3", b"4"), version, digest)
    with pytest.raises(
        JournalVersionError, match=rf"record 5 has schema version {SCHEMA_VERSION + 1}"
    ):
        decode_stored(seq, ts, kind, key, payload, SCHEMA_VERSION + 1, digest)
    with pytest.raises(JournalVersionError, match=r"upgrade gradtrade"):
        JournalRecord(1, 0, RecordKind.SNAPSHOT, "k", b'{"objects":1}', SCHEMA_VERSION + 1)


def test_batches_must_continue_without_holes() -> None:
    def rec(seq: int) -> JournalRecord:
        return JournalRecord.new(seq, 0, RecordKind.SNAPSHOT, "k", {"objects": 0})

    check_next([rec(4), rec(5)], 3)
    check_next([rec(9), rec(10)], None)
    with pytest.raises(InvalidInput, match=r"seq 5 does not continue the journal .expected 4"):
        check_next([rec(5)], 3)
    with pytest.raises(InvalidInput, match=r"seq 6 does not continue the journal .expected 5"):
        check_next([rec(4), rec(6)], None)
    with pytest.raises(InvalidInput, match=r"at least one record"):
        check_next([], 0)
    with pytest.raises(InvalidInput, match=r"JournalRecord, got dict"):
        check_next([{"seq": 1}], 0)  # type: ignore[list-item]


def test_snapshots_validate_and_checksum() -> None:
    snap = Snapshot(12, {"breaker": '{"a": 1}', "order/x": "[]"})
    assert decode_snapshot(12, dict(snap.objects), snap.digest()) == snap
    with pytest.raises(JournalCorrupted, match=r"snapshot at record 12 fails its checksum"):
        decode_snapshot(12, {**snap.objects, "breaker": '{"a": 2}'}, snap.digest())
    with pytest.raises(JournalCorrupted, match=r"snapshot at record 12 is invalid.*not valid JSON"):
        decode_snapshot(12, {"breaker": "{"}, snap.digest())
    with pytest.raises(SecretInPayload, match=r"'extra/x.apiKey'"):
        Snapshot(1, {"extra/x": '{"apiKey": "k"}'})
    with pytest.raises(InvalidInput, match=r"snapshot name"):
        Snapshot(1, {"bad name": "{}"})
    with pytest.raises(TypeError):
        snap.objects["breaker"] = "{}"  # type: ignore[index]


# --- property tests: arbitrary valid payloads round trip; any changed byte is caught ---

_scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
)  # fmt: skip
_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12).filter(
    lambda n: not is_secret_name(n)
)
_json = st.recursive(
    _scalars.filter(lambda v: not isinstance(v, str) or (":" not in v and "=" not in v)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_names, inner, max_size=4),
    max_leaves=12,
)
_keys = st.from_regex(r"[A-Za-z0-9._:/@-]{1,40}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(
    seq=st.integers(1, 2**63 - 1),
    ts=st.integers(0, 2**63 - 1),
    key=_keys,
    extra=st.dictionaries(_names, _json, max_size=5),
)
def test_valid_records_round_trip(seq: int, ts: int, key: str, extra: dict[str, Any]) -> None:
    payload = {**extra, "checkpoint": "ckpt"}
    r = JournalRecord.new(seq, ts, RecordKind.DECISION, key, payload)
    back = decode_stored(*stored(r))
    assert back == r and back.data() == orjson.loads(orjson.dumps(payload))
    assert canonical_json(back.data()) == r.payload


@settings(max_examples=150, deadline=None)
@given(
    extra=st.dictionaries(_names, _json, max_size=4),
    field=st.sampled_from(["ts", "kind", "key", "payload", "seq"]),
    position=st.integers(0, 10_000),
    flip=st.integers(1, 255),
)
def test_any_changed_byte_is_refused(
    extra: dict[str, Any], field: str, position: int, flip: int
) -> None:
    r = JournalRecord.new(41, 1_000, RecordKind.DECISION, "BTCUSDT", {**extra, "checkpoint": "c"})
    seq, ts, kind, key, payload, version, digest = stored(r)
    if field == "payload":
        i = position % len(payload)
        payload = payload[:i] + bytes([payload[i] ^ flip]) + payload[i + 1 :]
    elif field == "key":
        i = position % len(key)
        key = key[:i] + chr(ord(key[i]) ^ (flip & 0x1F or 1)) + key[i + 1 :]
    elif field == "kind":
        kind = "fill"
    elif field == "ts":
        ts ^= flip
    else:
        seq += flip
    with pytest.raises(JournalCorrupted) as info:
        decode_stored(seq, ts, kind, key, payload, version, digest)
    assert info.value.seq == seq


_secretish = st.sampled_from([
    "apiKey", "API-KEY", "Api_Key", "secret", "SeCrEt", "x-mbx-apikey", "X_MBX_APIKEY",
    "listen-key", "listenKey", "Token", "AUTHORIZATION", "pass_word", "passPhrase",
    "private-key", "signature", "SIGNATURE",
])  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(prefix=st.sampled_from(["", "x", "my_", "Binance-"]), name=_secretish,
       suffix=st.sampled_from(["", "s", "_v2", "Id"]), nested=st.booleans())  # fmt: skip
def test_stored_payloads_with_secret_names_are_refused(
    prefix: str, name: str, suffix: str, nested: bool
) -> None:
    """The read path (raw canonical bytes) refuses exactly what the write path refuses."""
    field = prefix + name + suffix
    body: dict[str, Any] = {field: 1}
    payload = orjson.dumps(
        {"checkpoint": "c", **({"inner": [body]} if nested else body)},
        option=orjson.OPT_SORT_KEYS,
    )
    if is_secret_name(field):
        with pytest.raises(SecretInPayload):
            JournalRecord(1, 0, RecordKind.DECISION, "k", payload)
    else:
        JournalRecord(1, 0, RecordKind.DECISION, "k", payload)


_fragments = st.lists(
    st.sampled_from(["api", "Key", "KEY", "-", "_", "secret", "Sig", "nature", "pass", "word",
                     "=", ":", " ", "x", "mbx", "listen", "token", "auth", "orization", "é"]),
    max_size=8,
).map("".join)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(name=_fragments, value=_fragments)
def test_the_fast_secret_prefilter_never_misses_what_the_walk_refuses(
    name: str, value: str
) -> None:
    data = {"checkpoint": "c", f"f{name}": value}
    try:
        check_json_value(data, "")
    except SecretInPayload:
        assert may_hold_secret(orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
