"""The Redis journal backend: a stream per trader, hashes for the projections, Lua for atomicity.

Keys of trader ``T`` (one hash slot, ``{T}``): ``gradtrade:{T}:journal`` (the stream; entry id
``<seq>-0``, so a duplicate seq is refused by Redis itself), ``gradtrade:{T}:meta`` (schema
version, trader id, created_at_ns, last_seq, the writer's client id), ``gradtrade:{T}:latest``
(projection: key -> seq of its latest record) and ``gradtrade:{T}:snapshot`` (projection: the
latest JSON state per object, its seq and checksum).

Atomicity: each append (or batch) and its projection update run in one Lua script that checks
everything before its first write (writer, seq continuity, stream top), so Redis applies all of
it or none; with effects replication the AOF holds it as one MULTI/EXEC. Durability: an append
is durable on return only when the server runs with ``appendonly yes`` and ``appendfsync
always``; :class:`RedisJournal` checks that at open (CONFIG GET) and refuses
(``JournalDurabilityError``) or logs a warning per ``Durability``. Versions: a journal of a
newer schema is refused at open, untouched; a writer that opens an older one raises meta's
version to this one's (it will append records of this version), so an older gradtrade then
refuses it at open rather than meeting a record it cannot read. One writer: the writer's
connection (server run id and client id) is stored in meta; a second writer is refused while
that connection lives, and a killed writer's connection closes with it (as all do when the
server restarts), so a restarted trader can take over. The connection
never retries on its own: a dropped connection raises ``JournalUnavailable`` and the journal
must be reopened (whether the last append landed is then read from ``last_seq``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gradtrade.errors import (
    InvalidInput,
    JournalCorrupted,
    JournalDurabilityError,
    JournalError,
    JournalLocked,
    JournalUnavailable,
    JournalVersionError,
)
from gradtrade.persistence.options import Durability, JournalOptions
from gradtrade.persistence.records import (
    SCHEMA_VERSION,
    JournalRecord,
    Snapshot,
    StoredRow,
    check_next,
    check_read_range,
    decode_page,
    decode_snapshot,
)

log = logging.getLogger(__name__)
_PAGE = 10_000  # entries per XRANGE: a restart replays 100k records in ten round trips
_FIELDS = 7  # seq, ts_ns, kind, key, payload, schema_version, digest
_NAMES = [b"ts", b"kind", b"key", b"payload", b"v", b"digest"]  # as _APPEND writes them

# KEYS: meta, stream, latest. ARGV: writer, n, then _FIELDS values per record.
_APPEND = """
if redis.call('HGET', KEYS[1], 'writer') ~= ARGV[1] then
  return redis.error_reply('GTLOCK the writer lock is held by another connection')
end
local last = tonumber(redis.call('HGET', KEYS[1], 'last_seq') or '0')
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  if tonumber(ARGV[3 + i * 7]) ~= last + 1 + i then
    return redis.error_reply('GTSEQ ' .. last)
  end
end
local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #top > 0 and top[1][1] ~= (last .. '-0') then
  return redis.error_reply('GTTOP ' .. last .. ' ' .. top[1][1])
end
for i = 0, n - 1 do
  local b = 3 + i * 7
  redis.call('XADD', KEYS[2], ARGV[b] .. '-0', 'ts', ARGV[b + 1], 'kind', ARGV[b + 2],
    'key', ARGV[b + 3], 'payload', ARGV[b + 4], 'v', ARGV[b + 5], 'digest', ARGV[b + 6])
  redis.call('HSET', KEYS[3], ARGV[b + 3], ARGV[b])
end
redis.call('HSET', KEYS[1], 'last_seq', last + n)
return last + n
"""

# KEYS: meta, snapshot. ARGV: writer, seq, digest, then name/json pairs.
_SNAPSHOT = """
if redis.call('HGET', KEYS[1], 'writer') ~= ARGV[1] then
  return redis.error_reply('GTLOCK the writer lock is held by another connection')
end
local seq = tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[1], 'last_seq') or '0')
if seq > last then return redis.error_reply('GTSNAP past the journal end ' .. last) end
local prev = redis.call('HGET', KEYS[2], '__seq__')
if prev and seq < tonumber(prev) then
  return redis.error_reply('GTSNAP before the latest snapshot ' .. prev)
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], '__seq__', ARGV[2], '__digest__', ARGV[3])
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[2], 'obj:' .. ARGV[i], ARGV[i + 1])
end
return 1
"""

# KEYS: meta. ARGV: new writer, expected current writer ('' = none), version, trader, now.
_ACQUIRE = """
local cur = redis.call('HGET', KEYS[1], 'writer')
if cur and cur ~= ARGV[2] then return 0 end
local version = redis.call('HGET', KEYS[1], 'schema_version')
if not version then
  redis.call('HSET', KEYS[1], 'schema_version', ARGV[3], 'trader_id', ARGV[4],
    'created_at_ns', ARGV[5], 'last_seq', 0)
elseif tonumber(version) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'schema_version', ARGV[3])
end
redis.call('HSET', KEYS[1], 'writer', ARGV[1])
return 1
"""

# KEYS: meta. ARGV: writer.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'writer') == ARGV[1] then redis.call('HDEL', KEYS[1], 'writer') end
return 1
"""


def keys(trader_id: str) -> dict[str, str]:
    """The Redis keys of one trader's journal (one hash slot)."""
    base = f"gradtrade:{{{trader_id}}}"
    return {
        "meta": f"{base}:meta",
        "journal": f"{base}:journal",
        "latest": f"{base}:latest",
        "snapshot": f"{base}:snapshot",
    }


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _int(value: bytes | None, what: str, seq: int) -> int:
    try:
        return int(value) if value is not None else 0
    except ValueError:
        raise JournalCorrupted(f"{what} is not an integer: {value!r}", seq) from None


def _raw(response: Any, **options: Any) -> Any:
    """XRANGE's reply as the server sent it (``[id, [name, value, ...]]`` per entry): the
    journal reads the fields by position instead of building a dict per entry."""
    return response


def _entry_seq(entry_id: bytes, expected: int) -> int:
    ms, _, part = entry_id.decode(errors="replace").partition("-")
    if part != "0" or not ms.isdigit():
        raise JournalCorrupted(f"stream entry id {entry_id!r} is not <seq>-0", expected)
    return int(ms)


def _row(entry: Any, expected: int) -> StoredRow:
    """One raw stream entry as the stored row ``decode_page`` checks; the fields are found by
    name when they are not in the order ``_APPEND`` writes them."""
    try:
        entry_id, values = entry
    except (TypeError, ValueError):
        raise JournalCorrupted(f"stream entry {expected} is not [id, fields]", expected) from None
    seq = expected if entry_id == b"%d-0" % expected else _entry_seq(entry_id, expected)
    try:
        if values[0::2] == _NAMES:
            ts, kind_b, key_b, payload, version, digest = values[1::2]
        else:
            fields = dict(zip(values[0::2], values[1::2], strict=False))
            ts, kind_b, key_b = fields[b"ts"], fields[b"kind"], fields[b"key"]
            payload, version, digest = fields[b"payload"], fields[b"v"], fields[b"digest"]
        kind, key = kind_b.decode(), key_b.decode()
    except (KeyError, UnicodeDecodeError, TypeError, ValueError, AttributeError) as exc:
        raise JournalCorrupted(f"journal record {seq} lacks a field ({exc})", seq) from None
    try:
        return (seq, int(ts), kind, key, payload, int(version), digest)
    except ValueError:  # the message of the one that is not: ts first
        return (seq, _int(ts, f"record {seq} ts", seq), kind, key, payload,
                _int(version, f"record {seq} version", seq), digest)  # fmt: skip


class RedisJournal:
    """:class:`gradtrade.persistence.journal.Journal` on a Redis server (see module docs)."""

    def __init__(self, url: str, options: JournalOptions) -> None:
        if options.trader_id is None:
            raise InvalidInput("a Redis journal needs a trader id")
        parts = urlsplit(url)
        # Where, without any password that the URL may carry: errors and logs show only this.
        host = parts.netloc.rpartition("@")[2] or "localhost:6379"
        self.where = f"{host}{parts.path}"
        self.options = options
        self._trader_id = options.trader_id
        self._keys = keys(options.trader_id)
        self._mutex = threading.Lock()
        self._closed = False
        self._writer = ""
        try:
            self._redis = self._call(
                lambda: redis.Redis.from_url(
                    url, single_connection_client=True, retry=Retry(NoBackoff(), 0),
                    socket_timeout=30, socket_connect_timeout=10,
                )
            )  # fmt: skip
        except ValueError as exc:
            raise InvalidInput(f"bad Redis journal URL for {self.where}: {exc}") from None
        self._redis.set_response_callback("XRANGE", _raw)
        self._append = self._redis.register_script(_APPEND)
        self._snapshot = self._redis.register_script(_SNAPSHOT)
        try:
            self._call(self._open)
        except redis.RedisError as exc:  # e.g. an ACL that forbids INFO / CLIENT / EVAL
            self._redis.close()
            raise JournalError(f"Redis at {self.where} refused: {type(exc).__name__}") from None
        except BaseException:
            self._redis.close()
            raise

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except redis.AuthenticationError:
            # Fatal, unlike a dropped connection: retrying with the same credentials cannot help.
            raise JournalError(f"Redis at {self.where} refused the credentials") from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise JournalUnavailable(
                f"Redis journal at {self.where} unreachable: {type(exc).__name__}"
            ) from None

    def _check_durability(self) -> None:
        try:
            config = self._redis.config_get("append*")
        except redis.ResponseError:
            config = {}
        config = {_text(k): _text(v) for k, v in config.items()}
        aof, fsync = config.get("appendonly", "?"), config.get("appendfsync", "?")
        if aof == "yes" and fsync == "always":
            return
        message = (
            f"Redis at {self.where} runs with appendonly={aof} appendfsync={fsync}: an append "
            "could be lost on a crash (run redis-server --appendonly yes --appendfsync always)"
        )
        if self.options.durability is Durability.REQUIRE:
            raise JournalDurabilityError(message)
        log.warning("%s", message)

    def _open(self) -> None:
        meta = self._redis.hgetall(self._keys["meta"])
        if meta:
            version = _int(meta.get(b"schema_version"), "journal schema version", 0)
            if version > SCHEMA_VERSION:
                raise JournalVersionError(
                    f"Redis journal of trader {self._trader_id} was written by schema version "
                    f"{version}; this gradtrade reads up to {SCHEMA_VERSION} (upgrade gradtrade)"
                )
            if meta.get(b"trader_id", b"").decode() != self._trader_id:
                raise JournalCorrupted(
                    f"Redis journal meta of trader {self._trader_id} names another trader", 0
                )
        elif self.options.readonly:
            raise JournalError(f"no journal of trader {self._trader_id} at {self.where}")
        if self.options.readonly:
            return
        self._check_durability()
        # The writer token is the server's run id and the connection id: connection ids restart
        # at 1 when the server restarts, the run id does not repeat.
        run_id = _text(self._redis.info("server")["run_id"])
        me = f"{run_id}:{self._redis.client_id()}"
        holder = (meta.get(b"writer") or b"").decode()
        holder_run, _, holder_id = holder.partition(":")
        alive = holder_run == run_id and holder_id.isdigit()
        if alive and self._redis.client_list(client_id=[holder_id]):
            raise JournalLocked(
                f"journal of trader {self._trader_id} is open for writing by another "
                f"connection (client id {holder_id}); a second writer would interleave its events"
            )
        acquired = self._redis.eval(
            _ACQUIRE, 1, self._keys["meta"], me, holder, SCHEMA_VERSION, self._trader_id,
            time.time_ns(),
        )  # fmt: skip
        if not acquired:
            raise JournalLocked(f"journal of trader {self._trader_id}: another writer took it")
        self._writer = me

    def _writable(self) -> None:
        if self._closed:
            raise JournalError(f"Redis journal of trader {self._trader_id} is closed")
        if self.options.readonly:
            raise JournalError(f"Redis journal of trader {self._trader_id} is open read-only")

    def _script_error(
        self, exc: redis.ResponseError, first: int = 0
    ) -> JournalError | InvalidInput:
        text = str(exc)
        if "GTLOCK" in text:
            return JournalLocked(f"journal of trader {self._trader_id}: {text.split('GTLOCK')[1]}")
        if "GTSEQ" in text:
            last = _int(text.split("GTSEQ")[1].split()[0].encode(), "last seq", 0)
            return InvalidInput(
                f"record seq {first} does not continue the journal (expected {last + 1}): "
                "seq is strictly increasing without holes"
            )
        if "GTTOP" in text:
            meta_last, top = text.split("GTTOP")[1].split()[:2]
            return JournalCorrupted(
                f"Redis journal of trader {self._trader_id}: meta says last seq {meta_last} but "
                f"the stream ends at {top}",
                _int(meta_last.encode(), "last seq", 0),
            )
        if "GTSNAP" in text:
            return InvalidInput(f"snapshot refused: {text.split('GTSNAP')[1].strip()}")
        return JournalError(f"Redis journal of trader {self._trader_id}: {text}")

    @property
    def trader_id(self) -> str:
        return self._trader_id

    def append(self, record: JournalRecord) -> None:
        self.append_many([record])

    def append_many(self, records: Sequence[JournalRecord]) -> None:
        batch = list(records)
        with self._mutex:
            self._writable()
            check_next(batch, None)
            args: list[Any] = [self._writer, len(batch)]
            for r in batch:
                args += [r.seq, r.ts_ns, r.kind.value, r.key, r.payload, r.schema_version,
                         r.digest()]  # fmt: skip
            try:
                self._call(
                    self._append, [self._keys["meta"], self._keys["journal"], self._keys["latest"]],
                    args,
                )  # fmt: skip
            except redis.ResponseError as exc:
                raise self._script_error(exc, batch[0].seq) from None

    def last_seq(self) -> int:
        with self._mutex:
            value = self._call(self._redis.hget, self._keys["meta"], "last_seq")
        return _int(value, "journal last_seq", 0)

    def read(self, after_seq: int = 0, through_seq: int | None = None) -> Iterator[JournalRecord]:
        last = min(check_read_range(after_seq, through_seq), self.last_seq())
        expected = after_seq + 1
        while expected <= last:
            with self._mutex:
                if self._closed:
                    raise JournalError(f"Redis journal of trader {self._trader_id} is closed")
                page = self._call(
                    self._redis.execute_command, "XRANGE", self._keys["journal"],
                    f"{expected}-0", f"{last}-0", "COUNT", _PAGE,
                )  # fmt: skip
            if not page:
                break
            rows: list[StoredRow] = []
            try:
                for entry in page:
                    rows.append(_row(entry, expected + len(rows)))
            except JournalCorrupted as exc:  # raised once the records before it are read
                yield from decode_page(rows, expected)
                raise exc from None
            yield from decode_page(rows, expected)
            expected += len(page)
        if expected <= last:
            raise JournalCorrupted(
                f"journal record {expected} is missing (meta says the journal ends at {last})",
                expected,
            )

    def put_snapshot(self, seq: int, objects: Mapping[str, str]) -> None:
        snapshot = Snapshot(seq, objects)
        with self._mutex:
            self._writable()
            args: list[Any] = [self._writer, seq, snapshot.digest()]
            for name, text in snapshot.objects.items():
                args += [name, text]
            try:
                self._call(self._snapshot, [self._keys["meta"], self._keys["snapshot"]], args)
            except redis.ResponseError as exc:
                raise self._script_error(exc) from None

    def latest_snapshot(self) -> Snapshot | None:
        with self._mutex:
            stored = self._call(self._redis.hgetall, self._keys["snapshot"])
        if not stored:
            return None
        seq = _int(stored.get(b"__seq__"), "snapshot seq", 0)
        objects: dict[str, str] = {}
        try:
            for name, text in stored.items():
                if name.startswith(b"obj:"):
                    objects[name[4:].decode()] = text.decode()
        except UnicodeDecodeError:
            raise JournalCorrupted(f"snapshot at record {seq} is not UTF-8", seq) from None
        return decode_snapshot(seq, objects, stored.get(b"__digest__", b""))

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            try:
                if self._writer:
                    self._redis.eval(_RELEASE, 1, self._keys["meta"], self._writer)
            except redis.RedisError:
                pass  # the lock dies with the connection anyway
            finally:
                self._redis.close()

    def __enter__(self) -> RedisJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["RedisJournal", "keys"]
