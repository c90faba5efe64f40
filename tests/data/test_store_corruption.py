"""Store corruption: flipped bits, truncation, deleted manifests, reordered or duplicated rows.

The assertion everywhere is "nothing lost, nothing silently wrong": every read either returns
exactly the rows that were written or raises ``CorruptData``/``UnverifiedData`` naming the file,
and no write ever repairs or overwrites a file it could not verify.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtrade.data.store import (
    CandleStore,
    FileState,
    Health,
    Manifest,
    SealOutcome,
    SeriesKey,
    invariant_problem,
    manifest_path,
)
from gradtrade.errors import CorruptData, UnverifiedData

KEY = SeriesKey("binance", "spot", "BTC/USDT", "1m")
VALUES = ["open", "high", "low", "close", "volume"]
ROWS = 2000


@dataclass(frozen=True)
class Stored:
    store: CandleStore
    path: Path
    pristine: bytes
    frame: pd.DataFrame


@pytest.fixture
def stored(tmp_path: Path, btc_1m: pd.DataFrame) -> Stored:
    """2000 real candles written by two overlapping merges (so the file is a real merge result)."""
    store = CandleStore(tmp_path)
    store.write(KEY, btc_1m.iloc[:1200])
    store.write(KEY, btc_1m.iloc[800:ROWS])
    path = store.path(KEY)
    return Stored(store, path, path.read_bytes(), btc_1m.iloc[:ROWS].reset_index(drop=True))


def assert_exact(read: pd.DataFrame, source: pd.DataFrame) -> None:
    """Nothing silently wrong: the same dates and bit-identical values."""
    assert len(read) == len(source)
    np.testing.assert_array_equal(
        pd.DatetimeIndex(read["date"]).as_unit("ns").asi8,
        pd.DatetimeIndex(source["date"]).as_unit("ns").asi8,
    )
    np.testing.assert_array_equal(read[VALUES].to_numpy(), source[VALUES].to_numpy())


def flipped(data: bytes, position: int, bit: int) -> bytes:
    out = bytearray(data)
    out[position] ^= 1 << bit
    return bytes(out)


def assert_refused(s: Stored, match: str) -> None:
    """The damaged file raises on read and on merge, is listed CORRUPT, and stays as it is."""
    damaged = s.path.read_bytes() if s.path.exists() else None
    with pytest.raises(CorruptData, match=match) as err:
        s.store.read(KEY)
    assert str(s.path) in str(err.value) and err.value.path == str(s.path)
    with pytest.raises(CorruptData):
        s.store.write(
            KEY, s.frame.iloc[-10:].assign(date=s.frame["date"].iloc[-10:] + pd.Timedelta(days=30))
        )
    assert (s.path.read_bytes() if s.path.exists() else None) == damaged  # never overwritten
    assert s.store.inspect(KEY).health is Health.CORRUPT


def test_the_fixture_reads_back_exactly(stored: Stored) -> None:
    assert_exact(stored.store.read(KEY), stored.frame)
    assert stored.store.inspect(KEY).health is Health.OK


def test_a_bit_flip_the_bare_parquet_reader_misses_is_caught(stored: Stored) -> None:
    # The bug this guards against: some flips inside a data page decode without error to other
    # prices. Find such a flip in the close column, then show the store refuses it.
    meta = pq.ParquetFile(pa.BufferReader(stored.pristine)).metadata
    close = next(
        meta.row_group(0).column(i)
        for i in range(meta.num_columns)
        if meta.row_group(0).column(i).path_in_schema == "close"
    )
    start = close.dictionary_page_offset or close.data_page_offset
    silent = None
    for position in range(start + 40, start + close.total_compressed_size, 7):
        damaged = flipped(stored.pristine, position, 3)
        try:
            raw = pq.read_table(pa.BufferReader(damaged)).to_pandas()
        except (pa.ArrowException, OSError):
            continue
        if not np.array_equal(raw["close"].to_numpy(), stored.frame["close"].to_numpy()):
            silent = damaged
            break
    assert silent is not None, "no silent flip found: the premise of this test changed"
    stored.path.write_bytes(silent)
    assert_refused(stored, "checksum mismatch")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_a_bit_flip_anywhere_in_the_file_is_an_error(
    stored: Stored, where: float, bit: int
) -> None:
    position = int(where * len(stored.pristine))
    stored.path.write_bytes(flipped(stored.pristine, position, bit))
    try:
        with pytest.raises(CorruptData, match="checksum mismatch") as err:
            stored.store.read(KEY)
        assert str(stored.path) in str(err.value)
    finally:
        stored.path.write_bytes(stored.pristine)
    assert_exact(stored.store.read(KEY), stored.frame)


def test_flips_in_every_region_magic_pages_footer_are_errors(stored: Stored) -> None:
    data = stored.pristine
    footer_len = int.from_bytes(data[-8:-4], "little")
    meta = pq.ParquetFile(pa.BufferReader(data)).metadata
    positions = [0, 3, len(data) - 1, len(data) - 5, len(data) - 8]  # magic, footer length
    positions += list(range(len(data) - 8 - footer_len, len(data) - 8, max(1, footer_len // 40)))
    for i in range(meta.num_columns):
        column = meta.row_group(0).column(i)
        first = column.dictionary_page_offset or column.data_page_offset
        positions += [first, first + column.total_compressed_size // 2]
    for position in positions:
        stored.path.write_bytes(flipped(data, position, position % 8))
        with pytest.raises(CorruptData, match="checksum mismatch"):
            stored.store.read(KEY)
    assert_refused(stored, "checksum mismatch")


def test_truncation_at_any_offset_is_an_error(stored: Stored) -> None:
    size = len(stored.pristine)
    offsets = sorted({0, 1, 4, 8, size - 1, size - 4, size - 8, *range(0, size, size // 50)})
    for offset in offsets:
        stored.path.write_bytes(stored.pristine[:offset])
        with pytest.raises(CorruptData, match=f"the file has {offset} bytes"):
            stored.store.read(KEY)
    stored.path.write_bytes(stored.pristine + b"\0")  # and growth
    assert_refused(stored, "checksum mismatch")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_a_tampered_manifest_never_passes_other_data(
    stored: Stored, where: float, bit: int
) -> None:
    manifest = manifest_path(stored.path)
    original = manifest.read_bytes()
    manifest.write_bytes(flipped(original, int(where * len(original)), bit))
    try:
        read = stored.store.read(KEY)
    except CorruptData as err:
        assert str(stored.path) in str(err) or str(manifest) in str(err)
    else:
        # A flip that leaves the checksum intact (e.g. a generation digit) still reads true data.
        assert_exact(read, stored.frame)
    finally:
        manifest.write_bytes(original)


def test_truncated_or_swapped_manifests_are_errors(stored: Stored, tmp_path: Path) -> None:
    manifest = manifest_path(stored.path)
    original = manifest.read_bytes()
    for cut in range(0, len(original) - 2, 9):
        manifest.write_bytes(original[:cut])
        with pytest.raises(CorruptData, match="unreadable checksum manifest"):
            stored.store.read(KEY)
    # The manifest of another series is refused even though it is well formed.
    other = SeriesKey("binance", "spot", "BTC/USDT", "1m", "mark")
    stored.store.write(other, stored.frame.iloc[:10])
    manifest.write_bytes(manifest_path(stored.store.path(other)).read_bytes())
    with pytest.raises(CorruptData, match=r"the manifest of 'mark\.parquet'"):
        stored.store.read(KEY)
    manifest.write_bytes(original)
    assert_exact(stored.store.read(KEY), stored.frame)


def test_a_deleted_data_file_is_corrupt_and_a_deleted_manifest_unverified(stored: Stored) -> None:
    manifest = manifest_path(stored.path)
    original = manifest.read_bytes()
    stored.path.unlink()
    assert KEY in stored.store.series()  # still listed, so the loss is visible
    assert_refused(stored, "file missing; its manifest vouches for")
    stored.path.write_bytes(stored.pristine)
    manifest.unlink()
    with pytest.raises(UnverifiedData, match="no checksum manifest"):
        stored.store.read(KEY)
    with pytest.raises(UnverifiedData):
        stored.store.write(KEY, stored.frame.iloc[:5])
    assert stored.store.inspect(KEY).health is Health.UNVERIFIED
    assert stored.path.read_bytes() == stored.pristine and not manifest.exists()
    manifest.write_bytes(original)
    assert_exact(stored.store.read(KEY), stored.frame)


def write_legacy(store: CandleStore, frame: pd.DataFrame) -> Path:
    """A file as the version without checksums wrote it: Parquet, no manifest."""
    path = store.path(KEY)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def test_a_legacy_file_is_refused_until_sealed_and_sealing_keeps_its_bytes(
    tmp_path: Path, btc_1m: pd.DataFrame
) -> None:
    store = CandleStore(tmp_path)
    frame = btc_1m.iloc[:500].reset_index(drop=True)
    path = write_legacy(store, frame)
    legacy = path.read_bytes()
    with pytest.raises(UnverifiedData, match="gradtrade data seal"):
        store.read(KEY)
    with pytest.raises(UnverifiedData):
        store.write(KEY, btc_1m.iloc[500:600])
    assert path.read_bytes() == legacy
    assert store.seal(KEY) is SealOutcome.SEALED
    assert path.read_bytes() == legacy
    assert_exact(store.read(KEY), frame)
    assert store.seal(KEY) is SealOutcome.ALREADY_VERIFIED
    assert store.write(KEY, btc_1m.iloc[500:600]).rows_new == 100
    assert_exact(store.read(KEY), btc_1m.iloc[:600])


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (
            lambda f: f.iloc[np.r_[0:100, 150:200, 100:150, 200:300]],
            "dates out of order at row 150",
        ),
        (
            lambda f: pd.concat([f.iloc[:101], f.iloc[100:]]),
            "duplicate date .* at rows 100 and 101",
        ),
        (lambda f: f.assign(close=f["close"].where(f.index != 7)), "'close' holds NaN"),
        (lambda f: f.drop(columns=["volume"]), r"missing columns \['volume'\]"),
    ],
)
def test_a_legacy_file_breaking_the_invariant_is_never_sealed(
    tmp_path: Path, btc_1m: pd.DataFrame, damage: object, problem: str
) -> None:
    store = CandleStore(tmp_path)
    path = write_legacy(store, damage(btc_1m.iloc[:300].reset_index(drop=True)))  # type: ignore[operator]
    legacy = path.read_bytes()
    with pytest.raises(CorruptData, match=problem):
        store.seal(KEY)
    assert path.read_bytes() == legacy and not manifest_path(path).exists()
    assert store.inspect(KEY).health is Health.UNVERIFIED


def test_a_high_below_the_body_is_not_sealed_either(tmp_path: Path, btc_1m: pd.DataFrame) -> None:
    # Passes the invariant but the store's validation would have repaired it: not as written.
    frame = btc_1m.iloc[:50].reset_index(drop=True)
    frame.loc[9, "high"] = frame.loc[9, ["open", "close"]].max() - 0.5
    store = CandleStore(tmp_path)
    write_legacy(store, frame)
    with pytest.raises(CorruptData, match="not sealed, its rows fail validation"):
        store.seal(KEY)


@settings(max_examples=30, deadline=None)
@given(order=st.lists(st.integers(0, 59), min_size=2, max_size=80))
def test_reordered_or_duplicated_rows_on_disk_are_refused_never_merged(
    btc_1m: pd.DataFrame, order: list[int]
) -> None:
    # As if an older, buggy writer had stored rows out of order with a correct checksum: the
    # checksum matches, so only the invariant check stands between those rows and a merge.
    source = btc_1m.iloc[:60].reset_index(drop=True)
    on_disk = source.iloc[order].reset_index(drop=True)
    with tempfile.TemporaryDirectory() as root:
        store = CandleStore(root)
        path = write_legacy(store, on_disk)
        data = path.read_bytes()
        manifest = Manifest(path.name, 0, (FileState.of(data, len(on_disk)),))
        manifest_path(path).write_bytes(manifest.to_bytes())
        problem = invariant_problem(on_disk, "ohlcv")
        if problem is None:  # strictly increasing after all: a valid file
            assert_exact(store.read(KEY), on_disk)
            report = store.write(KEY, source)
            assert report.rows_new == len(source) - len(on_disk)
            assert_exact(store.read(KEY), source)
            return
        with pytest.raises(CorruptData, match="breaks the store invariant"):
            store.read(KEY)
        with pytest.raises(CorruptData, match="breaks the store invariant"):
            store.write(KEY, source)
        assert path.read_bytes() == data


def test_an_empty_manifest_state_accepts_no_file(tmp_path: Path) -> None:
    # A crash between steps 2 and 3 of the first write leaves this manifest and no data file.
    store = CandleStore(tmp_path)
    path = store.path(KEY)
    path.parent.mkdir(parents=True)
    state = FileState("0" * 64, 10, 1)
    manifest_path(path).write_bytes(Manifest(path.name, 1, (state, None)).to_bytes())
    assert store.read(KEY).empty
    body = json.loads(manifest_path(path).read_text())
    assert body["accept"][1] is None


states = st.builds(
    FileState,
    sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
    size=st.integers(0, 2**40),
    rows=st.integers(0, 2**31),
)


@settings(max_examples=100, deadline=None)
@given(
    generation=st.integers(0, 2**40),
    accept=st.lists(st.none() | states, min_size=1, max_size=2).map(tuple),
    cut=st.integers(0, 10_000),
)
def test_manifests_round_trip_and_no_truncation_parses(
    generation: int, accept: tuple[FileState | None, ...], cut: int
) -> None:
    where = Path("/store/x/ohlcv.parquet.sha256.json")
    manifest = Manifest("ohlcv.parquet", generation, accept)
    raw = manifest.to_bytes()
    assert Manifest.parse(raw, where) == manifest
    cut %= len(raw.rstrip())
    with pytest.raises(CorruptData, match=f"{where}: unreadable checksum manifest"):
        Manifest.parse(raw[:cut], where)
