"""The historical store: one Parquet file per series, each vouched for by a checksum manifest.

Series are candles (``kind="ohlcv"``), mark-price candles (``"mark"``) or funding rates
(``"funding"``); a file is ``<root>/<exchange>/<market>/<SYMBOL>/<timeframe>/<kind>.parquet``
with ``date`` the UTC open time (ns). Beside it, ``<kind>.parquet.sha256.json`` (the manifest)
names the SHA-256, size and row count of the file bytes it vouches for. Invariants:

* nothing is returned that the manifest does not vouch for: a read loads the file's bytes, checks
  them against the manifest, then decodes those same bytes; a mismatch, bytes that do not decode,
  a missing column or dates that are not strictly increasing raise ``CorruptData`` naming the file
  and what mismatched. A corrupt file is never repaired or overwritten: a write into it refuses.
* a file without a manifest (written before checksums existed, or its manifest was deleted) is
  unverified: reads and writes refuse it with ``UnverifiedData`` until :meth:`CandleStore.seal`
  (``gradtrade data seal``) has checked that it decodes, holds the invariant and passes validation
  unchanged, and recorded its checksum. Sealing never touches the data file itself.
* no data file is ever visible without a manifest that accepts it. A write, under the series'
  ``flock`` (writers are serialized, readers take no lock):
  1. writes the merged series to a temp file, fsyncs it, reads it back and compares;
  2. replaces the manifest (temp, fsync, rename) by one accepting the old state *and* the new file;
  3. renames the temp data file over the old one;
  4. replaces the manifest by one accepting only the new file.
  A crash before 2 leaves the old pair; between 2 and 4 the manifest accepts whichever data file
  is there, and the next writer (or ``seal``) narrows it to that one. Every rename is followed by
  an fsync of the directory. Temp files of a dead writer are ignored by readers and deleted by the
  next writer (under the lock, no other writer is live).
* a reader reads the manifest, then the data; on a mismatch it reads the manifest again and
  retries if a writer replaced it meanwhile (each manifest has a new generation number, so a
  replaced manifest never reads back identical). Only a mismatch against an unchanged manifest
  is corruption.
* a write is idempotent: incoming rows are merged on ``date`` (a stored row with the same date is
  replaced by the incoming one), so writing the same candles twice stores them once; the merged
  series is checked against the invariant before anything is written.
* every write validates its rows (:mod:`gradtrade.data.validate`) and returns the report, which
  it also logs.
"""

from __future__ import annotations

import enum
import fcntl
import hashlib
import importlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradtrade.data.validate import (
    CANDLE_COLUMNS,
    FUNDING_COLUMNS,
    ValidationReport,
    validate_frame,
)
from gradtrade.errors import CorruptData, InvalidInput, UnverifiedData
from gradtrade.timeframes import timeframe_ns

# pyarrow ships no type stubs; the project's mypy config does not list it as untyped.
pa: Any = importlib.import_module("pyarrow")
pq: Any = importlib.import_module("pyarrow.parquet")

KINDS = ("ohlcv", "mark", "funding")
MARKETS = ("spot", "usdm")
MANIFEST_SUFFIX = ".sha256.json"
_MANIFEST_FORMAT = "gradtrade-store-manifest/1"
# A reader retries while writers keep replacing the manifest under it; past this many commits in
# a row it gives up rather than spin.
_READ_ATTEMPTS = 16
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def symbol_dir(symbol: str) -> str:
    """ccxt's 'BTC/USDT' or 'BTC/USDT:USDT' as a directory name: 'BTC_USDT', 'BTC_USDT_USDT'."""
    if not re.fullmatch(r"[A-Za-z0-9]+(/[A-Za-z0-9]+(:[A-Za-z0-9]+)?)?", symbol):
        raise InvalidInput(f"symbol {symbol!r} is not like BTC/USDT or BTC/USDT:USDT")
    return symbol.upper().replace("/", "_").replace(":", "_")


@dataclass(frozen=True, order=True)
class SeriesKey:
    """Which series: exchange id, market ("spot" or "usdm"), ccxt symbol, timeframe, kind."""

    exchange: str
    market: str
    symbol: str
    timeframe: str
    kind: str = "ohlcv"

    def __post_init__(self) -> None:
        if self.market not in MARKETS:
            raise InvalidInput(f"market {self.market!r} is not one of {MARKETS}")
        if self.kind not in KINDS:
            raise InvalidInput(f"kind {self.kind!r} is not one of {KINDS}")
        if not re.fullmatch(r"[a-z0-9_.-]+", self.exchange):
            raise InvalidInput(f"exchange {self.exchange!r} must be a lower-case identifier")
        symbol_dir(self.symbol)
        timeframe_ns(self.timeframe)

    @property
    def step_ns(self) -> int:
        return timeframe_ns(self.timeframe)

    def relative_path(self) -> Path:
        parts = (self.exchange, self.market, symbol_dir(self.symbol), self.timeframe)
        return Path(*parts) / f"{self.kind}.parquet"

    def __str__(self) -> str:
        return f"{self.exchange}/{self.market}/{self.symbol}/{self.timeframe}/{self.kind}"


@dataclass(frozen=True)
class Gap:
    """Missing bars between two stored ones: ``after`` and ``before`` are the stored neighbours."""

    after: pd.Timestamp
    before: pd.Timestamp
    missing: int


@dataclass(frozen=True)
class Coverage:
    key: SeriesKey
    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    gaps: list[Gap]

    @property
    def missing(self) -> int:
        return sum(g.missing for g in self.gaps)


def find_gaps(
    dates: pd.Series | pd.DatetimeIndex, step_ns: int, *, funding: bool = False
) -> list[Gap]:
    """Gaps in sorted dates. Funding events jitter by milliseconds, so a funding gap is a step
    of more than 1.5 intervals; candles sit exactly on the grid."""
    ns = pd.DatetimeIndex(dates).as_unit("ns").asi8
    if len(ns) < 2:
        return []
    diffs = np.diff(ns)
    limit = step_ns * 3 // 2 if funding else step_ns
    where = np.flatnonzero(diffs > limit)
    index = pd.DatetimeIndex(dates)
    gaps = []
    for i in where.tolist():
        missing = round(diffs[i] / step_ns) - 1 if funding else int(diffs[i] // step_ns) - 1
        gaps.append(Gap(index[i], index[i + 1], missing))
    return gaps


def error_text(exc: BaseException) -> str:
    """An exception as one line for a message: its class and its text, whitespace collapsed."""
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def manifest_path(path: Path) -> Path:
    """The checksum manifest of a store data file."""
    return path.with_name(path.name + MANIFEST_SUFFIX)


@dataclass(frozen=True)
class FileState:
    """The bytes of one data file as a manifest vouches for them."""

    sha256: str
    size: int
    rows: int

    @staticmethod
    def of(data: bytes, rows: int) -> FileState:
        return FileState(hashlib.sha256(data).hexdigest(), len(data), rows)


@dataclass(frozen=True)
class Manifest:
    """Which states of the data file are valid: normally one; two while a write commits (the old
    state and the new file). ``None`` in ``accept``: no data file is a valid state (the first
    write of a series). ``generation`` grows by one with every manifest written for the file."""

    file: str
    generation: int
    accept: tuple[FileState | None, ...]

    def to_bytes(self) -> bytes:
        accept = [
            None if s is None else {"sha256": s.sha256, "size": s.size, "rows": s.rows}
            for s in self.accept
        ]
        body = {
            "format": _MANIFEST_FORMAT,
            "file": self.file,
            "generation": self.generation,
            "accept": accept,
        }
        return json.dumps(body, indent=1).encode() + b"\n"

    @staticmethod
    def parse(raw: bytes, where: Path) -> Manifest:
        """The manifest in ``raw``; anything but exactly the format written is ``CorruptData``."""

        def bad(what: str) -> CorruptData:
            return CorruptData(f"{where}: unreadable checksum manifest ({what})", str(where))

        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise bad(error_text(exc)) from None
        if not isinstance(body, dict) or set(body) != {"format", "file", "generation", "accept"}:
            raise bad("not an object with format, file, generation, accept")
        if body["format"] != _MANIFEST_FORMAT:
            raise bad(f"format {body['format']!r}, expected {_MANIFEST_FORMAT!r}")
        if body["file"] != where.name.removesuffix(MANIFEST_SUFFIX):
            raise bad(f"it is the manifest of {body['file']!r}")
        generation, accept = body["generation"], body["accept"]
        if type(generation) is not int or generation < 0:
            raise bad(f"generation {generation!r}")
        if not isinstance(accept, list) or not 1 <= len(accept) <= 2:
            raise bad("accept must list one or two states")
        states: list[FileState | None] = []
        for entry in accept:
            if entry is None:
                states.append(None)
                continue
            if not isinstance(entry, dict) or set(entry) != {"sha256", "size", "rows"}:
                raise bad(f"state {entry!r}")
            digest, size, rows = entry["sha256"], entry["size"], entry["rows"]
            if not isinstance(digest, str) or not _SHA256.match(digest):
                raise bad(f"sha256 {digest!r}")
            if type(size) is not int or type(rows) is not int or size < 0 or rows < 0:
                raise bad(f"size {size!r} or rows {rows!r}")
            states.append(FileState(digest, size, rows))
        return Manifest(body["file"], generation, tuple(states))


class Health(enum.Enum):
    """What a check of one stored file found."""

    OK = "ok"
    CORRUPT = "corrupt"
    UNVERIFIED = "unverified"


class SealOutcome(enum.Enum):
    SEALED = "sealed"  # an unverified file passed every check; its checksum is now recorded
    ALREADY_VERIFIED = "already verified"  # it had a manifest, and its bytes match it


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(directory: Path) -> None:
    """``mkdir -p`` whose new entries survive a power cut (each new one fsynced in its parent),
    so a committed first write cannot vanish with its directory."""
    created = []
    parent = directory
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    directory.mkdir(parents=True, exist_ok=True)
    for new in created:
        _fsync_dir(new.parent)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")


def _check(
    path: Path, raw_manifest: bytes | None, data: bytes | None
) -> tuple[Manifest | None, FileState | None]:
    """The manifest and the accepted state ``data`` is in (None, None: nothing stored); raises
    ``UnverifiedData`` or ``CorruptData`` when ``data`` is not vouched for."""
    where = manifest_path(path)
    if raw_manifest is None:
        if data is None:
            return None, None
        raise UnverifiedData(
            f"{path}: no checksum manifest ({where.name}), so nothing vouches for its bytes. "
            "A store file written by a gradtrade without checksums: check and seal it with "
            "`gradtrade data seal`, or delete it and download again; a Parquet file from "
            "elsewhere: import its source (.feather, Binance ZIP/CSV) instead",
            str(path),
        )
    manifest = Manifest.parse(raw_manifest, where)
    if data is None:
        if None in manifest.accept:
            return manifest, None
        expected = next(s for s in manifest.accept if s is not None)
        raise CorruptData(
            f"{path}: file missing; its manifest vouches for {expected.size} bytes "
            f"({expected.rows} rows, sha256 {expected.sha256[:16]}...)",
            str(path),
        )
    state = FileState.of(data, 0)
    for accepted in manifest.accept:
        if accepted is not None and (accepted.sha256, accepted.size) == (state.sha256, state.size):
            return manifest, accepted
    wanted = " or ".join(
        f"{s.size} bytes with sha256 {s.sha256[:16]}..." for s in manifest.accept if s is not None
    )
    raise CorruptData(
        f"{path}: checksum mismatch: the file has {state.size} bytes with sha256 "
        f"{state.sha256[:16]}..., its manifest expects {wanted or 'no file'}",
        str(path),
    )


def _load_verified(path: Path) -> tuple[bytes | None, Manifest | None, FileState | None]:
    """The data file's bytes (None: no file), its manifest and the state they match."""
    for _ in range(_READ_ATTEMPTS):
        before = _read_or_none(manifest_path(path))
        data = _read_or_none(path)
        try:
            manifest, state = _check(path, before, data)
        except (CorruptData, UnverifiedData):
            if _read_or_none(manifest_path(path)) != before:
                continue  # a writer committed between the two reads: look again
            raise
        return data, manifest, state
    raise CorruptData(
        f"{path}: the file changed under the reader {_READ_ATTEMPTS} times in a row", str(path)
    )


def invariant_problem(frame: pd.DataFrame, kind: str) -> str | None:
    """What breaks the stored-series invariant in ``frame`` (None: nothing): the kind's columns,
    finite values, UTC dates strictly increasing (sorted and unique)."""
    required = FUNDING_COLUMNS if kind == "funding" else CANDLE_COLUMNS
    missing = [c for c in required if c not in frame.columns]
    if missing:
        return f"missing columns {missing}"
    if not isinstance(frame["date"].dtype, pd.DatetimeTZDtype) or str(frame["date"].dt.tz) != "UTC":
        return f"column 'date' is {frame['date'].dtype}, not UTC timestamps"
    for name in required[1:]:
        values = frame[name].to_numpy()
        if values.dtype != np.float64:
            return f"column {name!r} is {values.dtype}, not float64"
        if not np.isfinite(values).all():
            return f"column {name!r} holds NaN or infinite values"
    ns = pd.DatetimeIndex(frame["date"]).as_unit("ns").asi8
    steps = np.diff(ns)
    if (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        at, prev = pd.Timestamp(ns[i], tz="UTC"), pd.Timestamp(ns[i - 1], tz="UTC")
        if steps[i - 1] == 0:
            return f"duplicate date {at} at rows {i - 1} and {i}"
        return f"dates out of order at row {i} ({at} after {prev})"
    return None


def _decode(path: Path, data: bytes, kind: str, state: FileState | None) -> pd.DataFrame:
    try:
        frame = pq.read_table(pa.BufferReader(data)).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorruptData(
            f"{path}: not a readable Parquet file ({error_text(exc)})", str(path)
        ) from None
    if state is not None and len(frame) != state.rows:
        raise CorruptData(f"{path}: {len(frame)} rows, its manifest says {state.rows}", str(path))
    problem = invariant_problem(frame, kind)
    if problem:
        raise CorruptData(f"{path}: breaks the store invariant: {problem}", str(path))
    return frame


def _empty(kind: str) -> pd.DataFrame:
    columns = FUNDING_COLUMNS if kind == "funding" else CANDLE_COLUMNS
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}).assign(
        date=pd.Series(dtype="datetime64[ns, UTC]")
    )


def read_store_file(path: Path, kind: str) -> pd.DataFrame:
    """Every row of one store data file, verified against its manifest (see the module
    docstring); an empty frame if nothing is stored there."""
    data, _, state = _load_verified(path)
    return _empty(kind) if data is None else _decode(path, data, kind, state)


@dataclass(frozen=True)
class Inspection:
    """One stored series as a check found it: coverage when OK, else the problem."""

    key: SeriesKey
    health: Health
    coverage: Coverage | None
    problem: str = ""


class CandleStore:
    """Parquet store rooted at ``root`` (created on first write)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, key: SeriesKey) -> Path:
        return self.root / key.relative_path()

    def read(
        self, key: SeriesKey, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """Stored rows of ``key`` with ``start <= date < end`` (an empty frame if none), verified
        against the manifest: ``CorruptData`` or ``UnverifiedData`` otherwise."""
        frame = read_store_file(self.path(key), key.kind)
        if start is not None:
            frame = frame.loc[frame["date"] >= pd.Timestamp(start)]
        if end is not None:
            frame = frame.loc[frame["date"] < pd.Timestamp(end)]
        return frame.reset_index(drop=True)

    def last_date(self, key: SeriesKey) -> pd.Timestamp | None:
        dates = self.read(key)["date"]
        return None if dates.empty else pd.Timestamp(dates.iloc[-1])

    def write(self, key: SeriesKey, frame: pd.DataFrame) -> ValidationReport:
        """Validate ``frame``, merge it into the stored series on ``date`` and replace the file
        atomically. Returns (and logs) the report of what was new, updated, repaired, rejected.
        Refuses (``CorruptData``, ``UnverifiedData``) to merge into a file it cannot verify."""
        report = ValidationReport(series=str(key))
        clean = validate_frame(frame, kind=key.kind, step_ns=key.step_ns, report=report)
        path = self.path(key)
        _make_dirs(path.parent)
        with self._locked(path):
            self._remove_stale_temps(path)
            data, manifest, state = _load_verified(path)
            old = _empty(key.kind) if data is None else _decode(path, data, key.kind, state)
            manifest = self._settle(path, manifest, state)
            merged = self._merge(old, clean, report)
            if report.rows_new or report.rows_updated:
                problem = invariant_problem(merged, key.kind)
                if problem:  # cannot happen from verified rows; refuse rather than store it
                    raise CorruptData(
                        f"{path}: a merge would store {problem}; not written", str(path)
                    )
                self._commit(path, merged, manifest, state)
        report.log()
        return report

    def seal(self, key: SeriesKey) -> SealOutcome:
        """Record the checksum of an unverified file (one written without a manifest) after
        checking that it decodes, holds the invariant and passes validation unchanged; the data
        file is not modified. ``CorruptData`` (nothing recorded) when a check fails."""
        path = self.path(key)
        with self._locked(path):
            self._remove_stale_temps(path)
            if _read_or_none(manifest_path(path)) is not None:
                data, manifest, state = _load_verified(path)
                if data is not None:
                    _decode(path, data, key.kind, state)
                self._settle(path, manifest, state)
                return SealOutcome.ALREADY_VERIFIED
            data = _read_or_none(path)
            if data is None:
                raise InvalidInput(f"{path}: nothing stored for {key}")
            frame = _decode(path, data, key.kind, None)
            report = ValidationReport(series=str(key))
            clean = validate_frame(frame, kind=key.kind, step_ns=key.step_ns, report=report)
            if not report.clean or len(clean) != len(frame):
                raise CorruptData(
                    f"{path}: not sealed, its rows fail validation: {report.summary()}", str(path)
                )
            self._write_manifest(path, Manifest(path.name, 0, (FileState.of(data, len(frame)),)))
        return SealOutcome.SEALED

    def inspect(self, key: SeriesKey) -> Inspection:
        """Verify one series; never raises for what it finds in the file."""
        try:
            return Inspection(key, Health.OK, self.coverage(key))
        except UnverifiedData as exc:
            return Inspection(key, Health.UNVERIFIED, None, str(exc))
        except CorruptData as exc:
            return Inspection(key, Health.CORRUPT, None, str(exc))

    @staticmethod
    def _merge(old: pd.DataFrame, new: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
        # Both sides hold the invariant (sorted, unique dates): old was verified on read, new
        # comes out of validate_frame. The lookups below rely on it.
        if old.empty:
            report.rows_new = len(new)
            return new
        old_ns = pd.DatetimeIndex(old["date"]).as_unit("ns").asi8
        new_ns = pd.DatetimeIndex(new["date"]).as_unit("ns").asi8
        if len(new_ns) == 0 or new_ns[0] > old_ns[-1]:  # a pure append: the common case
            report.rows_new = len(new)
            return pd.concat([old, new], ignore_index=True)
        pos = np.minimum(np.searchsorted(old_ns, new_ns), len(old_ns) - 1)
        overlap = old_ns[pos] == new_ns
        report.rows_new = int((~overlap).sum())
        if overlap.any():
            columns = [c for c in new.columns if c in old.columns and c != "date"]
            before = old.iloc[pos[overlap]][columns].to_numpy()
            after = new.loc[overlap, columns].to_numpy()
            same = (before == after) | (np.isnan(before) & np.isnan(after))
            report.rows_unchanged = int(same.all(axis=1).sum())
            report.rows_updated = int(overlap.sum()) - report.rows_unchanged
        replaced = np.zeros(len(old_ns), dtype=bool)
        replaced[pos[overlap]] = True
        kept = old.loc[~replaced]
        merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new
        return merged.sort_values("date", kind="stable").reset_index(drop=True)

    def _commit(
        self, path: Path, frame: pd.DataFrame, manifest: Manifest | None, old: FileState | None
    ) -> None:
        """Steps 1-4 of the module docstring."""
        generation = manifest.generation if manifest is not None else 0
        tmp = _temp_name(path)
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pq.write_table(table, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            data = tmp.read_bytes()
            if not pq.read_table(pa.BufferReader(data)).equals(table):
                raise OSError(f"{tmp}: the file read back differs from what was written")
            new = FileState.of(data, len(frame))
            accept = (new,) if old == new else (new, old)
            self._write_manifest(path, Manifest(path.name, generation + 1, accept))
            os.replace(tmp, path)
            _fsync_dir(path.parent)
        finally:
            tmp.unlink(missing_ok=True)
        self._write_manifest(path, Manifest(path.name, generation + 2, (new,)))

    def _settle(
        self, path: Path, manifest: Manifest | None, state: FileState | None
    ) -> Manifest | None:
        """Step 4 on behalf of a writer that died between steps 2 and 4: under the lock, a
        manifest still accepting two states is narrowed to the one the data file is in."""
        if manifest is None or len(manifest.accept) == 1:
            return manifest
        settled = Manifest(path.name, manifest.generation + 1, (state,))
        self._write_manifest(path, settled)
        return settled

    @staticmethod
    def _write_manifest(path: Path, manifest: Manifest) -> None:
        target = manifest_path(path)
        tmp = _temp_name(target)
        try:
            with open(tmp, "wb") as handle:
                handle.write(manifest.to_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            _fsync_dir(path.parent)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _remove_stale_temps(path: Path) -> None:
        # Called under the lock: every writer of this series holds it while its temps exist, so
        # any temp seen now belongs to a writer that died.
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            stale.unlink(missing_ok=True)

    @contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        with open(path.with_name(f".{path.name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def series(self) -> list[SeriesKey]:
        """Every stored series (a data file, or a manifest whose file is gone), sorted."""
        keys = set()
        paths = [
            *self.root.glob("*/*/*/*/*.parquet"),
            *self.root.glob(f"*/*/*/*/*.parquet{MANIFEST_SUFFIX}"),
        ]
        for path in paths:
            exchange, market, sym, timeframe = path.relative_to(self.root).parts[:4]
            symbol = sym.replace("_", "/", 1)
            if market == "usdm" and symbol.count("_") == 1:
                symbol = symbol.replace("_", ":", 1)
            kind = path.name.split(".", 1)[0]
            try:
                keys.add(SeriesKey(exchange, market, symbol, timeframe, kind))
            except InvalidInput:
                continue  # not a file of ours
        return sorted(keys)

    def coverage(self, key: SeriesKey) -> Coverage:
        dates = pd.DatetimeIndex(self.read(key)["date"])
        if len(dates) == 0:
            return Coverage(key, 0, None, None, [])
        gaps = find_gaps(dates, key.step_ns, funding=key.kind == "funding")
        return Coverage(key, len(dates), dates[0], dates[-1], gaps)


__all__ = [
    "KINDS",
    "MANIFEST_SUFFIX",
    "MARKETS",
    "CandleStore",
    "Coverage",
    "FileState",
    "Gap",
    "Health",
    "Inspection",
    "Manifest",
    "SealOutcome",
    "SeriesKey",
    "error_text",
    "find_gaps",
    "invariant_problem",
    "manifest_path",
    "read_store_file",
    "symbol_dir",
]
