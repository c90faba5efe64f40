"""The typed records of the event journal, and the checks every record passes in and out.

A :class:`JournalRecord` is one state change: ``seq`` (1, 2, 3, ... without holes per journal),
``ts_ns`` (wall clock when it happened), ``kind`` (a :class:`RecordKind`), ``key`` (what it is
about: a client order id, a symbol, ``account``), ``payload`` (a JSON object as canonical bytes:
sorted keys, no whitespace, no NaN) and ``schema_version``. Construction validates; a record read
back from a backend goes through :func:`decode_stored`, which runs the same checks plus the
checksum, so a stored record is never trusted more than a new one. Payloads never carry
credentials: a field named like a key, secret or signature (or a string that embeds one, such as a
signed query) is refused with :class:`SecretInPayload` before anything is written.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

import orjson

from gradtrade.errors import (
    InvalidInput,
    JournalCorrupted,
    JournalVersionError,
    SecretInPayload,
)

# What each schema version added; a journal is read by any gradtrade whose SCHEMA_VERSION is at
# least the journal's, and refused (``JournalVersionError``, "upgrade gradtrade") by an older one.
# 1: the first journal.
# 2: ``order_status_unknown``, ``order_expired`` and ``orders_pruned`` records, the ``pruned``
#    snapshot object (terminal orders leave the mirror and its snapshots). Version 1 journals
#    written by gradtrade before this bump may already hold the first two kinds: they are read.
SCHEMA_VERSION = 2
MAX_INT = 2**63 - 1


class RecordKind(Enum):
    """What a record says happened; the value is what backends store."""

    INSTRUMENT = "instrument"
    ORDER_INITIALIZED = "order_initialized"
    ORDER_SUBMITTED = "order_submitted"
    ORDER_ACCEPTED = "order_accepted"
    ORDER_PARTIALLY_FILLED = "order_partially_filled"
    ORDER_FILLED = "order_filled"
    ORDER_CANCEL_REQUESTED = "order_cancel_requested"
    ORDER_CANCEL_REJECTED = "order_cancel_rejected"
    ORDER_CANCELED = "order_canceled"
    ORDER_REJECTED = "order_rejected"
    ORDER_EXPIRED = "order_expired"
    ORDER_STATUS_UNKNOWN = "order_status_unknown"  # the venue has not said; still in flight
    ORDERS_PRUNED = "orders_pruned"  # terminal orders leaving the mirror (schema version 2)
    FILL = "fill"
    FUNDING = "funding"
    DECISION = "decision"
    BREAKER_TRANSITION = "breaker_transition"
    RECONCILIATION = "reconciliation"
    SNAPSHOT = "snapshot"


class _Field(Enum):
    INT = "an integer"
    NUMBER = "a finite number"
    STR = "a string"
    OPTIONAL_STR = "a string or null"
    OBJECT = "a JSON object"
    BOOL = "a boolean"
    LIST = "a JSON array"


# The payload fields each kind needs; more fields are allowed and kept.
PAYLOAD_FIELDS: Mapping[RecordKind, Mapping[str, _Field]] = MappingProxyType(
    {
        RecordKind.INSTRUMENT: {"filters": _Field.OBJECT},
        RecordKind.ORDER_INITIALIZED: {"order": _Field.OBJECT},
        RecordKind.ORDER_SUBMITTED: {},
        RecordKind.ORDER_ACCEPTED: {"exchange_order_id": _Field.INT},
        RecordKind.ORDER_PARTIALLY_FILLED: {},
        RecordKind.ORDER_FILLED: {},
        RecordKind.ORDER_CANCEL_REQUESTED: {},
        RecordKind.ORDER_CANCEL_REJECTED: {},
        RecordKind.ORDER_CANCELED: {},
        RecordKind.ORDER_REJECTED: {"reason": _Field.STR},
        RecordKind.ORDER_EXPIRED: {"in_match": _Field.BOOL},
        RecordKind.ORDER_STATUS_UNKNOWN: {"message": _Field.STR},
        RecordKind.ORDERS_PRUNED: {"orders": _Field.LIST},
        RecordKind.FILL: {
            "trade_id": _Field.INT,
            "quantity": _Field.NUMBER,
            "price": _Field.NUMBER,
            "fee": _Field.NUMBER,
            "fee_asset": _Field.OPTIONAL_STR,
            "time_ms": _Field.INT,
        },
        RecordKind.FUNDING: {"asset": _Field.STR, "amount": _Field.NUMBER, "time_ms": _Field.INT},
        RecordKind.DECISION: {"checkpoint": _Field.STR},
        RecordKind.BREAKER_TRANSITION: {"breaker": _Field.OBJECT},
        RecordKind.RECONCILIATION: {"ok": _Field.BOOL},
        RecordKind.SNAPSHOT: {"objects": _Field.INT},
    }
)

_KINDS = {kind.value: kind for kind in RecordKind}
# A payload is parsed by orjson, which yields exactly these types (never a subclass), so the
# field check is a type lookup; bool is not an int here (``type(True) is bool``).
_FIELD_TYPES: Mapping[_Field, tuple[type, ...]] = MappingProxyType(
    {
        _Field.INT: (int,),
        _Field.NUMBER: (int, float),
        _Field.STR: (str,),
        _Field.OPTIONAL_STR: (str, type(None)),
        _Field.OBJECT: (dict,),
        _Field.BOOL: (bool,),
        _Field.LIST: (list,),
    }
)
_FIELD_ITEMS = {
    kind: tuple((name, spec, _FIELD_TYPES[spec]) for name, spec in fields.items())
    for kind, fields in PAYLOAD_FIELDS.items()
}
# stored kind -> (the kind, its bytes for the checksum, its field checks): one lookup per row
_BY_VALUE = {k.value: (k, k.value.encode(), items) for k, items in _FIELD_ITEMS.items()}
_DIGEST_HEAD = struct.Struct(">qqqII")
_KEY = re.compile(r"[A-Za-z0-9._:/@-]{1,128}")
_KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/@-"
_SNAPSHOT_NAME = re.compile(r"[A-Za-z0-9._:/@-]{1,200}")
# Field names are compared lower-cased with '-' and '_' removed: "X-MBX-APIKEY" -> "xmbxapikey".
_SECRET_NAMES = ("apikey", "secret", "signature", "password", "passphrase", "privatekey")
_SECRET_NAMES_EXACT = ("listenkey", "xmbxapikey", "token", "authorization")
# Every word above contains one of the pieces that ``may_hold_secret`` looks for ("key",
# "secret", "sign", "pass", "token", "auth"): finding none proves there is no credential.
_FOLD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_SECRET_TEXT = re.compile(
    r"(signature|api[-_]?key|x-mbx-apikey|secret|listenkey|password)\s*[=:]", re.IGNORECASE
)


def _check_int(value: object, what: str, low: int = 0) -> int:
    if type(value) is not int or not low <= value <= MAX_INT:
        raise InvalidInput(f"{what} must be an integer in [{low}, 2**63), got {value!r}")
    return value


@functools.lru_cache(maxsize=4096)  # a journal repeats a few dozen field names
def is_secret_name(name: str) -> bool:
    """Whether a payload field of this name would carry a credential (refused)."""
    folded = name.lower().replace("-", "").replace("_", "")
    return folded in _SECRET_NAMES_EXACT or any(s in folded for s in _SECRET_NAMES)


def check_json_value(value: Any, path: str) -> None:
    """Refuses non-finite floats and anything that looks like a credential (by field name or
    an embedded ``key=value``); the error names the field path, never the value."""
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str):
                raise InvalidInput(f"payload field names must be strings, got {name!r} in {path}")
            if is_secret_name(name):
                where = f"{path}.{name}" if path else name
                raise SecretInPayload(f"payload field {where!r} looks like a credential")
            if _plain(item):
                continue
            check_json_value(item, f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if not _plain(item):
                check_json_value(item, f"{path}[{i}]")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"payload field {path!r} is {value}, not a finite number")
    elif isinstance(value, str):
        # the pattern needs a '=' or ':' after the word: most values have neither
        if ("=" in value or ":" in value) and _SECRET_TEXT.search(value):
            raise SecretInPayload(f"payload field {path!r} embeds something like a credential")
    elif value is not None and not isinstance(value, bool | int):
        raise InvalidInput(f"payload field {path!r} has type {type(value).__name__}, not JSON")


def _plain(item: object) -> bool:
    """A leaf that ``check_json_value`` would accept, decided without building its path (the
    common case; anything else takes the full check)."""
    t = type(item)
    if t is int or t is bool or item is None:
        return True
    if t is float:
        return item - item == 0.0  # type: ignore[operator]  # NaN for inf and NaN
    return t is str and "=" not in item and ":" not in item  # type: ignore[operator]


def _fields_ok(
    items: tuple[tuple[str, _Field, tuple[type, ...]], ...], data: Mapping[str, Any]
) -> bool:
    for name, _, types in items:
        if name not in data or type(data[name]) not in types:
            return False
    return True


def _check_fields(kind: RecordKind, data: Mapping[str, Any]) -> None:
    if _fields_ok(_FIELD_ITEMS[kind], data):
        return
    for name, spec, types in _FIELD_ITEMS[kind]:
        if name not in data:
            raise InvalidInput(f"a {kind.value} payload needs the field {name!r}")
        if type(data[name]) not in types:
            value = data[name]
            raise InvalidInput(f"{kind.value} field {name!r} must be {spec.value}, got {value!r}")


def may_hold_secret(text: bytes) -> bool:
    """Cheap superset of what ``check_json_value`` refuses as a credential: every name or value
    it refuses contains one of the folded pieces, and non-ASCII text (case folding beyond
    ASCII) always takes the full walk. Canonical JSON has no escapes that could hide a word."""
    if not text.isascii():
        return True
    f = text.translate(_FOLD, b"-_")
    return (
        b"key" in f
        or b"secret" in f
        or b"sign" in f
        or b"pass" in f
        or b"token" in f
        or b"auth" in f
    )


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """The payload as canonical JSON bytes (sorted keys, compact), after the secret and NaN
    checks; ``InvalidInput`` / ``SecretInPayload`` name the offending field."""
    if not isinstance(payload, Mapping):
        raise InvalidInput(f"a payload is a JSON object, got {type(payload).__name__}")
    check_json_value(dict(payload), "")
    try:
        return orjson.dumps(dict(payload), option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InvalidInput(f"payload is not serializable as JSON: {exc}") from None


def _parse_payload(kind: RecordKind, payload: bytes) -> dict[str, Any]:
    if not isinstance(payload, bytes):
        raise InvalidInput(f"payload must be bytes of canonical JSON, got {type(payload).__name__}")
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"payload is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"payload must be a JSON object, got {type(data).__name__}")
    if orjson.dumps(data, option=orjson.OPT_SORT_KEYS) != payload:
        # Also catches a number that parses to infinity: it would dump as null.
        raise InvalidInput("payload is not canonical JSON (sorted keys, compact)")
    if may_hold_secret(payload):
        check_json_value(data, "")
    _check_fields(kind, data)
    return data


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One journaled state change; every constructor path validates (``InvalidInput``,
    ``SecretInPayload``, ``JournalVersionError`` for a schema newer than this code)."""

    seq: int
    ts_ns: int
    kind: RecordKind
    key: str
    payload: bytes
    schema_version: int = SCHEMA_VERSION
    _data: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._check_head()
        object.__setattr__(self, "_data", _parse_payload(self.kind, self.payload))

    def _check_head(self) -> None:
        seq, ts, version = self.seq, self.ts_ns, self.schema_version
        if not (
            type(seq) is int and 0 < seq <= MAX_INT and type(ts) is int and 0 <= ts <= MAX_INT
            and type(version) is int and 0 < version <= SCHEMA_VERSION
        ):  # fmt: skip
            self._check_numbers()
        if not isinstance(self.kind, RecordKind):
            raise InvalidInput(f"kind must be a RecordKind, got {self.kind!r}")
        key = self.key
        if not (isinstance(key, str) and 0 < len(key) <= 128 and key.isascii()) or key.strip(
            _KEY_CHARS
        ):
            raise InvalidInput(f"key must match {_KEY.pattern}, got {self.key!r}")

    def _check_numbers(self) -> None:
        _check_int(self.seq, "seq", low=1)
        _check_int(self.ts_ns, "ts_ns")
        _check_int(self.schema_version, "schema_version", low=1)
        if self.schema_version > SCHEMA_VERSION:
            raise JournalVersionError(
                f"record {self.seq} has schema version {self.schema_version}; this gradtrade "
                f"reads up to {SCHEMA_VERSION} (upgrade gradtrade)"
            )

    @classmethod
    def new(
        cls, seq: int, ts_ns: int, kind: RecordKind, key: str, payload: Mapping[str, Any]
    ) -> JournalRecord:
        """A record of the current schema version with ``payload`` encoded canonically.
        Checked like any record, except that bytes ``canonical_json`` just wrote are canonical
        and free of secrets by construction, so they are parsed without re-checking that."""
        text = canonical_json(payload)
        record = object.__new__(cls)
        setattr_ = object.__setattr__
        setattr_(record, "seq", seq)
        setattr_(record, "ts_ns", ts_ns)
        setattr_(record, "kind", kind)
        setattr_(record, "key", key)
        setattr_(record, "payload", text)
        setattr_(record, "schema_version", SCHEMA_VERSION)
        record._check_head()
        data = orjson.loads(text)
        _check_fields(kind, data)
        setattr_(record, "_data", data)
        return record

    def data(self) -> dict[str, Any]:
        """The payload decoded (parsed once, when the record was validated; do not mutate it:
        ``payload`` stays the truth and the checksum covers only that)."""
        return self._data

    def digest(self) -> bytes:
        """Checksum of every field, stored beside the record to detect a changed byte."""
        return record_digest(
            self.seq, self.ts_ns, self.kind.value, self.key, self.payload, self.schema_version
        )

    def with_seq(self, seq: int) -> JournalRecord:
        """The same event at another position (used when a writer numbers a batch)."""
        return JournalRecord(
            seq, self.ts_ns, self.kind, self.key, self.payload, self.schema_version
        )


def record_digest(
    seq: int, ts_ns: int, kind: str, key: str, payload: bytes, schema_version: int
) -> bytes:
    """BLAKE2b-128 over the length-prefixed fields (no two field tuples share an encoding)."""
    kind_b, key_b = kind.encode(), key.encode()
    head = _DIGEST_HEAD.pack(seq, ts_ns, schema_version, len(kind_b), len(key_b))
    return hashlib.blake2b(head + kind_b + key_b + payload, digest_size=16).digest()


def decode_stored(
    seq: int,
    ts_ns: int,
    kind: str,
    key: str,
    payload: bytes,
    schema_version: int,
    digest: bytes,
) -> JournalRecord:
    """A record read back from a backend, checked like a new one and against its checksum.

    ``JournalVersionError`` for a newer schema version; ``JournalCorrupted`` (naming ``seq``)
    for anything else that does not validate.
    """
    try:
        if type(schema_version) is int and schema_version > SCHEMA_VERSION:
            raise JournalVersionError(
                f"record {seq} has schema version {schema_version}; this gradtrade reads up to "
                f"{SCHEMA_VERSION} (upgrade gradtrade)"
            )
        if kind not in _KINDS:
            raise InvalidInput(f"unknown record kind {kind!r}")
        record = JournalRecord(seq, ts_ns, _KINDS[kind], key, payload, schema_version)
    except InvalidInput as exc:
        raise JournalCorrupted(f"journal record {seq} is invalid: {exc}", seq) from None
    if record.digest() != digest:
        raise JournalCorrupted(f"journal record {seq} fails its checksum (changed on disk)", seq)
    return record


StoredRow = tuple[int, int, str, str, bytes, int, bytes]
"""``(seq, ts_ns, kind, key, payload, schema_version, digest)`` as a backend stores them."""


def _trusted(
    seq: int, ts_ns: int, kind: RecordKind, key: str, payload: bytes, version: int,
    data: dict[str, Any],
) -> JournalRecord:  # fmt: skip
    """A record whose every field ``decode_page`` has checked as ``__post_init__`` would."""
    record: JournalRecord = object.__new__(JournalRecord)
    put = object.__setattr__
    put(record, "seq", seq)
    put(record, "ts_ns", ts_ns)
    put(record, "kind", kind)
    put(record, "key", key)
    put(record, "payload", payload)
    put(record, "schema_version", version)
    put(record, "_data", data)
    return record


def _parsed(rows: Sequence[StoredRow]) -> tuple[list[Any], bool, bool]:
    """Every payload parsed (None where it does not parse), whether all of them are canonical,
    and whether none may hold a secret, each decided once for the page.

    One ``dumps`` of the parsed list equals the payloads joined by ``,`` exactly when each
    payload is its own canonical dump: each payload parsed alone into one complete value, the
    joined text is an array whose top-level elements are exactly the payloads, and a JSON text
    has one parse. ``,`` is not folded away by ``may_hold_secret``, so no word spans two."""
    loads = orjson.loads
    datas: list[Any] = []
    payloads: list[bytes] = []
    for row in rows:
        payload = row[4]
        try:
            datas.append(loads(payload) if type(payload) is bytes else None)
        except orjson.JSONDecodeError:
            datas.append(None)
        payloads.append(payload if type(payload) is bytes else b"")
    joined = b",".join(payloads)
    canonical = None not in datas and orjson.dumps(
        datas, option=orjson.OPT_SORT_KEYS
    ) == b"[" + joined + b"]"  # fmt: skip
    return datas, canonical, not may_hold_secret(joined)


def decode_page(rows: Sequence[StoredRow], expected: int) -> Iterator[JournalRecord]:
    """The records of consecutive stored rows from seq ``expected`` on, each checked exactly as
    :func:`decode_stored` checks it (same errors, raised when that row is reached): the
    canonical-JSON and credential scans run once over the page, the per-row checks inline,
    and any row a fast check does not pass goes through ``decode_stored`` itself.
    ``JournalCorrupted`` names a hole (a row whose seq is not the next one)."""
    datas, canonical, clean = _parsed(rows)
    blake2b, head, by_value = hashlib.blake2b, _DIGEST_HEAD.pack, _BY_VALUE
    for data, (seq, ts_ns, kind, key, payload, version, digest) in zip(datas, rows, strict=True):
        if seq != expected or type(seq) is not int:
            raise JournalCorrupted(
                f"journal record {expected} is missing (the next stored is {seq})", expected
            )
        known = by_value.get(kind) if type(kind) is str else None
        if (
            canonical and known is not None and type(data) is dict
            and type(ts_ns) is int and 0 <= ts_ns <= MAX_INT
            and type(version) is int and 0 < version <= SCHEMA_VERSION
            and type(key) is str and 0 < len(key) <= 128 and key.isascii()
            and not key.strip(_KEY_CHARS)
            and (clean or not may_hold_secret(payload))
            and _fields_ok(known[2], data)
        ):  # fmt: skip
            kind_b, key_b = known[1], key.encode()
            check = blake2b(
                head(seq, ts_ns, version, len(kind_b), len(key_b)) + kind_b + key_b + payload,
                digest_size=16,
            ).digest()
            if check == digest:
                yield _trusted(seq, ts_ns, known[0], key, payload, version, data)
                expected += 1
                continue
        yield decode_stored(seq, ts_ns, kind, key, payload, version, digest)
        expected += 1


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The JSON state of named objects as of record ``seq`` (``name -> JSON text``)."""

    seq: int
    objects: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_int(self.seq, "snapshot seq")
        if not isinstance(self.objects, Mapping):
            raise InvalidInput("snapshot objects must be a mapping name -> JSON text")
        frozen: dict[str, str] = {}
        for name, text in self.objects.items():
            if not isinstance(name, str) or not _SNAPSHOT_NAME.fullmatch(name):
                raise InvalidInput(f"snapshot name must match {_SNAPSHOT_NAME.pattern}: {name!r}")
            if not isinstance(text, str):
                raise InvalidInput(f"snapshot object {name!r} must be JSON text")
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise InvalidInput(f"snapshot object {name!r} is not valid JSON: {exc}") from None
            if may_hold_secret(text.encode()):
                check_json_value(value, name)
            frozen[name] = text
        object.__setattr__(self, "objects", MappingProxyType(frozen))

    def digest(self) -> bytes:
        """Checksum of the seq and every (name, JSON) pair, in name order."""
        h = hashlib.blake2b(digest_size=16)
        h.update(struct.pack(">q", self.seq))
        for name in sorted(self.objects):
            name_b, text_b = name.encode(), self.objects[name].encode()
            h.update(struct.pack(">II", len(name_b), len(text_b)))
            h.update(name_b)
            h.update(text_b)
        return h.digest()


def decode_snapshot(seq: int, objects: Mapping[str, str], digest: bytes) -> Snapshot:
    """A stored snapshot checked like a new one and against its checksum
    (``JournalCorrupted`` naming the snapshot's seq otherwise)."""
    try:
        snapshot = Snapshot(seq, objects)
    except InvalidInput as exc:
        raise JournalCorrupted(f"snapshot at record {seq} is invalid: {exc}", seq) from None
    if snapshot.digest() != digest:
        raise JournalCorrupted(f"snapshot at record {seq} fails its checksum", seq)
    return snapshot


def check_next(records: list[JournalRecord], last_seq: int | None) -> None:
    """An append batch must continue the journal exactly: ``last_seq + 1``, ``+ 2``, ...

    ``last_seq`` None checks only that the batch is consecutive (the backend checks where it
    starts, atomically). ``InvalidInput`` otherwise, naming the first record out of place.
    """
    if not records:
        raise InvalidInput("append_many needs at least one record")
    for record in records:
        if not isinstance(record, JournalRecord):
            raise InvalidInput(f"journal records are JournalRecord, got {type(record).__name__}")
    start = records[0].seq - 1 if last_seq is None else last_seq
    for offset, record in enumerate(records, start=1):
        if record.seq != start + offset:
            raise InvalidInput(
                f"record seq {record.seq} does not continue the journal (expected "
                f"{start + offset}): seq is strictly increasing without holes"
            )


def check_read_range(after_seq: int, through_seq: int | None) -> int:
    """The last seq a ``read(after_seq, through_seq)`` may return (``MAX_INT`` for None);
    ``InvalidInput`` for a bound that is not a non-negative integer."""
    if type(after_seq) is not int or after_seq < 0:
        raise InvalidInput(f"after_seq must be a non-negative integer, got {after_seq!r}")
    if through_seq is None:
        return MAX_INT
    if type(through_seq) is not int or through_seq < 0:
        raise InvalidInput(f"through_seq must be a non-negative integer, got {through_seq!r}")
    return through_seq


__all__ = [
    "MAX_INT",
    "PAYLOAD_FIELDS",
    "SCHEMA_VERSION",
    "JournalRecord",
    "RecordKind",
    "Snapshot",
    "StoredRow",
    "canonical_json",
    "check_json_value",
    "check_next",
    "check_read_range",
    "decode_page",
    "decode_snapshot",
    "decode_stored",
    "is_secret_name",
    "may_hold_secret",
    "record_digest",
]
