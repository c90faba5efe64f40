"""``decode_page``: a page of stored rows decoded at once is checked exactly as row by row.

The reference is ``decode_stored`` on each row in turn with the hole check the backends did
before pages: the same records, or the same error (type, message, seq) at the same row, after
the same records.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.errors import JournalCorrupted, JournalError
from gradtrade.persistence import SCHEMA_VERSION, JournalRecord, RecordKind
from gradtrade.persistence.records import StoredRow, decode_page, decode_stored, record_digest

FILL = {"trade_id": 7, "quantity": 0.5, "price": 60000.25, "fee": 0.03, "fee_asset": "USDT",
        "time_ms": 1_700_000_000_000}  # fmt: skip


def stored(r: JournalRecord) -> StoredRow:
    return (r.seq, r.ts_ns, r.kind.value, r.key, r.payload, r.schema_version, r.digest())


def reference(rows: list[Any], expected: int) -> tuple[list[JournalRecord], JournalError | None]:
    out: list[JournalRecord] = []
    for seq, ts, kind, key, payload, version, digest in rows:
        if seq != expected:
            return out, JournalCorrupted(
                f"journal record {expected} is missing (the next stored is {seq})", expected
            )
        try:
            out.append(decode_stored(seq, ts, kind, key, payload, version, digest))
        except JournalError as exc:
            return out, exc
        expected += 1
    return out, None


def paged(rows: list[Any], expected: int) -> tuple[list[JournalRecord], JournalError | None]:
    out: list[JournalRecord] = []
    try:
        for record in decode_page(rows, expected):
            out.append(record)
    except JournalError as exc:
        return out, exc
    return out, None


def assert_same(rows: list[Any], expected: int = 1) -> None:
    want, want_error = reference(rows, expected)
    got, error = paged(rows, expected)
    assert got == want
    assert [r.data() for r in got] == [r.data() for r in want]
    assert [type(r.kind) for r in got] == [RecordKind] * len(got)
    assert type(error) is type(want_error)
    if error is not None:
        assert str(error) == str(want_error)
        assert getattr(error, "seq", None) == getattr(want_error, "seq", None)


def _record(seq: int, choice: int, extra: dict[str, Any]) -> JournalRecord:
    kinds = [
        (RecordKind.DECISION, "BTCUSDT", {**extra, "checkpoint": "c"}),
        (RecordKind.FILL, "bench-1-7", FILL),
        (RecordKind.ORDER_ACCEPTED, "bench-1-7", {"exchange_order_id": 3}),
        (RecordKind.ORDER_SUBMITTED, "bench-1-7", {}),
        (RecordKind.ORDER_EXPIRED, "bench-1-7", {"in_match": False}),
    ]
    kind, key, payload = kinds[choice % len(kinds)]
    return JournalRecord.new(seq, 1_000 + seq, kind, key, payload)


def _damage(row: StoredRow, how: str, n: int) -> tuple[Any, ...]:
    seq, ts, kind, key, payload, version, digest = row
    if how == "payload_byte":
        i = n % len(payload)
        payload = payload[:i] + bytes([payload[i] ^ (n % 255 + 1)]) + payload[i + 1 :]
    elif how == "not_canonical":
        payload = payload.replace(b":", b": ", 1)
    elif how == "reordered":
        data = orjson.loads(payload)
        payload = orjson.dumps(dict(reversed(list(data.items()))))
    elif how == "secret":
        data = orjson.loads(payload)
        payload = orjson.dumps({**data, "apiKey": "x"}, option=orjson.OPT_SORT_KEYS)
    elif how == "secret_value":
        data = orjson.loads(payload)
        payload = orjson.dumps({**data, "q": "signature=ab"}, option=orjson.OPT_SORT_KEYS)
    elif how == "non_ascii":
        data = orjson.loads(payload)
        payload = orjson.dumps({**data, "note": "é"}, option=orjson.OPT_SORT_KEYS)
    elif how == "missing_field":
        data = orjson.loads(payload)
        payload = orjson.dumps(dict(list(data.items())[1:]), option=orjson.OPT_SORT_KEYS)
    elif how == "text_payload":
        return (seq, ts, kind, key, payload.decode(), version, digest)
    elif how == "kind":
        kind = "teleport" if n % 2 else "fill"
    elif how == "key":
        key = "has space" if n % 2 else key + "x"
    elif how == "ts":
        ts = -1 if n % 2 else ts + 1
    elif how == "version":
        version = SCHEMA_VERSION + 1 if n % 2 else 0
    elif how == "hole":
        seq += 1
    elif how == "digest":
        digest = bytes(16)
    # Every change but the text payload and the version is then signed like a real record, so
    # that only the checks that are not the checksum can refuse it.
    if how in ("not_canonical", "reordered", "secret", "secret_value", "non_ascii",
               "missing_field", "key"):  # fmt: skip
        digest = record_digest(seq, ts, kind, key, payload, version)
    return (seq, ts, kind, key, payload, version, digest)


_HOW = st.sampled_from([
    "payload_byte", "not_canonical", "reordered", "secret", "secret_value", "non_ascii",
    "missing_field", "text_payload", "kind", "key", "ts", "version", "hole", "digest",
])  # fmt: skip
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=6)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                  max_size=3),
    max_leaves=6,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    first=st.integers(1, 2**40),
    choices=st.lists(st.integers(0, 9), min_size=1, max_size=12),
    extra=st.dictionaries(st.sampled_from(["bar", "mu", "x"]), _JSON, max_size=3),
    damage=st.dictionaries(st.integers(0, 11), st.tuples(_HOW, st.integers(0, 10_000)), max_size=3),
)
def test_a_page_is_checked_exactly_like_each_row(
    first: int, choices: list[int], extra: dict[str, Any],
    damage: dict[int, tuple[str, int]],
) -> None:  # fmt: skip
    rows: list[Any] = [stored(_record(first + i, c, extra)) for i, c in enumerate(choices)]
    for index, (how, n) in damage.items():
        if index < len(rows):
            rows[index] = _damage(rows[index], how, n)
    assert_same(rows, first)


def test_valid_pages_decode_to_the_records_written() -> None:
    records = [_record(i, i, {"bar": i}) for i in range(1, 50)]
    assert list(decode_page([stored(r) for r in records], 1)) == records


def test_payloads_that_only_join_into_canonical_json_are_refused() -> None:
    """Two halves of a string and two objects in one payload make a canonical array when
    joined; each row alone is not a JSON object, and each is refused on its own."""
    pieces = [b'{"checkpoint":"x', b'y"}', b'{"checkpoint":"a"},{"checkpoint":"b"}']
    rows = [
        (i, 1, "decision", "k", p, SCHEMA_VERSION, record_digest(i, 1, "decision", "k", p, 1))
        for i, p in enumerate(pieces, start=1)
    ]
    with pytest.raises(JournalCorrupted, match="record 1 is invalid: payload is not valid JSON"):
        list(decode_page(rows, 1))
    assert_same(rows)


def test_the_records_before_a_bad_row_come_first() -> None:
    rows = [stored(_record(i, i, {})) for i in range(1, 6)]
    rows[3] = _damage(rows[3], "digest", 0)
    it = decode_page(rows, 1)
    assert [next(it).seq for _ in range(3)] == [1, 2, 3]
    with pytest.raises(JournalCorrupted, match="record 4 fails its checksum"):
        next(it)
