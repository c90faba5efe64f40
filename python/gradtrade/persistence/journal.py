"""The event journal protocol, and the opener that picks a backend from a URL.

A :class:`Journal` is the trader's write-ahead log. Its invariant, which every backend keeps:

* append-only: a record, once appended, is never changed or removed; records are read back in
  the order they were appended;
* ``seq`` is strictly increasing without holes: the first record is 1, each append continues
  ``last_seq() + 1`` exactly, anything else is refused (``InvalidInput``) and nothing is written;
* an append that returned is durable as the backend's durability setting promises (SQLite:
  WAL with ``synchronous=FULL``, fsynced at commit; Redis: AOF with ``appendfsync always``,
  checked at open) and survives a ``kill -9`` of the writer;
* ``append_many`` is atomic: after a crash either every record of the batch is there or none;
* one writer at a time: a second writer is refused (``JournalLocked``), readers may look on;
* what is read back is validated like new input (``decode_stored``; a page of rows at once by
  ``decode_page``, with the same checks and errors): a changed byte, a hole,
  an unknown kind or a newer schema version raises a typed error and leaves the journal as it
  was. Snapshots (``put_snapshot``) are the JSON state of named objects as of a seq, validated
  the same way; only the latest one is kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

from gradtrade.errors import InvalidInput
from gradtrade.persistence.options import Durability, JournalOptions
from gradtrade.persistence.records import JournalRecord, Snapshot
from gradtrade.persistence.redis import RedisJournal
from gradtrade.persistence.sqlite import SqliteJournal


@runtime_checkable
class Journal(Protocol):
    """Append-only, gap-free, durable event log of one trader (see the module docstring)."""

    @property
    def trader_id(self) -> str:
        """The trader this journal belongs to (stored in the journal at creation)."""
        ...

    def append(self, record: JournalRecord) -> None:
        """Appends one record (its seq must be ``last_seq() + 1``); durable on return."""
        ...

    def append_many(self, records: Sequence[JournalRecord]) -> None:
        """Appends a batch atomically (consecutive seqs from ``last_seq() + 1``)."""
        ...

    def read(self, after_seq: int = 0, through_seq: int | None = None) -> Iterator[JournalRecord]:
        """Every record with ``after_seq < seq <= through_seq`` (to the end when None), in
        order, each validated. A reader bounds the read by a ``last_seq()`` it took earlier so
        that records a live writer appends meanwhile do not run past it."""
        ...

    def last_seq(self) -> int:
        """Seq of the last record (0 for an empty journal)."""
        ...

    def put_snapshot(self, seq: int, objects: Mapping[str, str]) -> None:
        """Stores the JSON state of named objects as of record ``seq``, replacing the older
        snapshot atomically; ``seq`` must not be past ``last_seq()`` nor before the latest."""
        ...

    def latest_snapshot(self) -> Snapshot | None:
        """The newest snapshot, validated, or None."""
        ...

    def close(self) -> None:
        """Releases the writer lock and the connection; idempotent."""
        ...

    def __enter__(self) -> Journal: ...

    def __exit__(self, *exc: object) -> None: ...


def _flag(query: dict[str, list[str]], name: str) -> bool:
    value = query.get(name, ["0"])[-1].lower()
    if value not in ("0", "1", "true", "false", "yes", "no"):
        raise InvalidInput(f"journal URL option {name}={value!r} is not a boolean")
    return value in ("1", "true", "yes")


def _options(query: dict[str, list[str]], base: JournalOptions) -> JournalOptions:
    unknown = set(query) - {"trader", "readonly", "durability"}
    if unknown:
        raise InvalidInput(f"unknown journal URL options {sorted(unknown)}")
    durability = query.get("durability", [base.durability.value])[-1]
    try:
        chosen = Durability(durability)
    except ValueError:
        raise InvalidInput(
            f"durability={durability!r}: choose {[d.value for d in Durability]}"
        ) from None
    return JournalOptions(
        trader_id=query.get("trader", [base.trader_id])[-1],
        readonly=_flag(query, "readonly") or base.readonly,
        durability=chosen,
        idle_flush_ms=base.idle_flush_ms,
    )


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:`` URL: ``sqlite:///rel/path.db`` is relative,
    ``sqlite:////abs/path.db`` absolute (SQLAlchemy's convention); a bare path is a path."""
    parts = urlsplit(url)
    if parts.scheme == "":
        return Path(url)
    if parts.netloc:
        raise InvalidInput(
            f"a sqlite URL has no host: use sqlite:///relative or sqlite:////abs ({url})"
        )
    path = unquote(parts.path)[1:]
    if not path:
        raise InvalidInput(f"sqlite URL {url!r} names no file")
    return Path(path)


def open_journal(url: str, options: JournalOptions | None = None) -> Journal:
    """Opens (creating if needed, unless read-only) the journal at ``url``.

    ``sqlite:///journal.db`` (or a plain path) or
    ``redis://127.0.0.1:6379/0?trader=NAME[&durability=warn]``; ``?trader=`` and
    ``?readonly=1`` work for both. Options in the URL override ``options``.
    """
    if not isinstance(url, str) or not url:
        raise InvalidInput("journal URL must be a non-empty string")
    base = options or JournalOptions()
    parts = urlsplit(url)
    opts = _options(parse_qs(parts.query, keep_blank_values=True), base)
    bare = url.split("?", 1)[0]
    if parts.scheme in ("", "sqlite"):
        return SqliteJournal(sqlite_path(bare), opts)
    if parts.scheme in ("redis", "rediss", "unix"):
        if opts.trader_id is None:
            raise InvalidInput("a Redis journal URL needs ?trader=NAME (one stream per trader)")
        return RedisJournal(bare, opts)
    raise InvalidInput(f"unknown journal URL scheme {parts.scheme!r}: use sqlite:// or redis://")


__all__ = [
    "Journal",
    "open_journal",
    "sqlite_path",
]
