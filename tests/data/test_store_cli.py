"""The command line on damaged stores and garbage files, run as a user runs it: a subprocess.

Each failure must be one line naming the file and the problem, a non-zero exit code, no
traceback, and no change to what is stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from gradtrade.data.store import CandleStore, SeriesKey, manifest_path

SPOT = SeriesKey("binance", "spot", "BTC/USDT", "1m")
MARK = SeriesKey("binance", "spot", "BTC/USDT", "1m", "mark")
FUNDING = SeriesKey("binance", "usdm", "BTC/USDT:USDT", "8h", "funding")


def gradtrade(*args: str) -> subprocess.CompletedProcess[str]:
    python = str(Path(__file__).resolve().parents[2] / "python")
    env = {**os.environ, "PYTHONPATH": python + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "gradtrade", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


def flip(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.fixture
def damaged_store(tmp_path: Path, btc_1m: pd.DataFrame, funding_events: pd.DataFrame) -> Path:
    """One good series, one with a flipped byte mid-file, one written without a manifest."""
    root = tmp_path / "store"
    store = CandleStore(root)
    store.write(SPOT, btc_1m.iloc[:500])
    store.write(MARK, btc_1m.iloc[:500])
    flip(store.path(MARK), store.path(MARK).stat().st_size // 2)
    store.write(FUNDING, funding_events.iloc[:30])
    manifest_path(store.path(FUNDING)).unlink()
    return root


def test_data_lists_corrupt_and_unverified_files_and_exits_non_zero(damaged_store: Path) -> None:
    corrupt = CandleStore(damaged_store).path(MARK)
    before = corrupt.read_bytes()
    result = gradtrade("data", "--data-dir", str(damaged_store))
    assert result.returncode == 1
    assert_no_traceback(result)
    lines = result.stdout.splitlines()
    status = {line.split()[0]: line.split()[-1] for line in lines if line.startswith("binance/")}
    assert status == {str(SPOT): "OK", str(MARK): "CORRUPT", str(FUNDING): "UNVERIFIED"}
    assert any(f"corrupt: {corrupt}: checksum mismatch" in line for line in lines)
    assert any("unverified:" in line and "gradtrade data seal" in line for line in lines)
    assert result.stderr.strip().splitlines() == [
        f"FAIL 1 corrupt, 1 unverified of 3 series under {damaged_store}"
    ]
    assert corrupt.read_bytes() == before  # listing never touches a file


def test_seal_vouches_for_the_unverified_file_and_refuses_the_corrupt_one(
    damaged_store: Path, funding_events: pd.DataFrame
) -> None:
    store = CandleStore(damaged_store)
    corrupt = store.path(MARK).read_bytes()
    result = gradtrade("data", "--data-dir", str(damaged_store), "seal")
    assert result.returncode == 1
    assert_no_traceback(result)
    assert f"{FUNDING}: sealed" in result.stdout and f"{SPOT}: already verified" in result.stdout
    (fail,) = result.stderr.strip().splitlines()
    assert fail.startswith(f"FAIL {MARK}: {store.path(MARK)}: checksum mismatch")
    assert store.path(MARK).read_bytes() == corrupt and store.read(FUNDING)["rate"].tolist() == (
        funding_events["rate"].iloc[:30].tolist()
    )
    listing = gradtrade("data", "--data-dir", str(damaged_store))
    assert "FAIL 1 corrupt, 0 unverified" in listing.stderr


def test_import_refuses_to_merge_into_a_corrupt_file(damaged_store: Path, data_dir: Path) -> None:
    # The freqtrade mark file of the futures market maps to a usdm series: make that one corrupt.
    source = data_dir / "klines" / "futures" / "BTC_USDT_USDT-1h-mark.feather"
    store = CandleStore(damaged_store)
    key = SeriesKey("binance", "usdm", "BTC/USDT:USDT", "1h", "mark")
    store.write(key, pd.read_feather(source).iloc[:100])
    flip(store.path(key), 100)
    before = store.path(key).read_bytes()
    result = gradtrade("data", "--data-dir", str(damaged_store), "import", str(source))
    assert result.returncode == 1
    assert_no_traceback(result)
    (line,) = result.stderr.strip().splitlines()
    # Which import failed, then which stored file refused it and why.
    assert line.startswith(f"FAIL {source}: {store.path(key)}: checksum mismatch")
    assert store.path(key).read_bytes() == before


def garbage_inputs(tmp_path: Path, data_dir: Path) -> dict[Path, str]:
    """Files as users get them wrong, each with the problem its one line must name."""
    real_feather = (data_dir / "klines" / "spot" / "BTC_USDT-1m.feather").read_bytes()
    frame = pd.read_feather(data_dir / "klines" / "spot" / "BTC_USDT-1m.feather").iloc[:200]
    rows = [
        f"{int(t.value // 10**6)},{o},{h},{lo},{c},{v},{int(t.value // 10**6) + 59999},1,2,3,4,0"
        for t, o, h, lo, c, v in frame[["date", "open", "high", "low", "close", "volume"]].values
    ]
    csv = ("\n".join(rows) + "\n").encode()
    files: dict[Path, str] = {}

    def put(name: str, data: bytes, problem: str) -> None:
        path = tmp_path / f"case{len(files)}" / name
        path.parent.mkdir()
        path.write_bytes(data)
        files[path] = problem

    put("BTC_USDT-1m.feather", os.urandom(3000), "not a readable feather")
    put("BTC_USDT-1m.feather", real_feather[: len(real_feather) // 2], "not a readable feather")
    put("BTCUSDT-1m-2025-05.zip", os.urandom(3000), "not a readable ZIP archive (BadZipFile")
    zipped = tmp_path / "whole.zip"
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BTCUSDT-1m-2025-05.csv", csv)
    whole = zipped.read_bytes()
    put("BTCUSDT-1m-2025-05.zip", whole[: len(whole) - 30], "not a readable ZIP archive")
    damaged = bytearray(whole)
    damaged[len(whole) // 3] ^= 0xFF  # inside the deflated CSV
    put("BTCUSDT-1m-2025-05.zip", bytes(damaged), "not a readable")
    put("BTCUSDT-1m-2025-05.csv", b"\x89PNG\r\n\x1a\n" + os.urandom(500), "not a readable Binance")
    put("BTCUSDT-1m-2025-05.csv", csv.replace(b",", b";"), "line 1 is neither a kline row nor")
    put("BTCUSDT-1m-2025-05.csv", b"x,y\n" + csv.replace(b",0\n", b",0,7\n"), "13 columns")
    lines = csv.splitlines()
    lines[5] += b",9"  # one row with a 13th field: pandas would shift it into an index
    put("BTCUSDT-1m-2025-05.csv", b"\n".join(lines), "not a readable Binance kline CSV (Parser")
    return files


def test_garbage_files_each_fail_in_one_line_and_nothing_is_stored(
    tmp_path: Path, data_dir: Path
) -> None:
    files = garbage_inputs(tmp_path, data_dir)
    root = tmp_path / "store"
    directory = tmp_path / "dir" / "BTC_USDT-1h.feather"
    directory.mkdir(parents=True)
    files[directory] = "not a readable feather"
    args = ["data", "--data-dir", str(root), "import", "--symbol", "BTC/USDT"]
    result = gradtrade(*args, *map(str, files))
    assert result.returncode == 1
    assert_no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(files), result.stderr
    for line, (path, problem) in zip(lines, files.items(), strict=True):
        assert line.startswith(f"FAIL {path}: {problem}"), line
    assert CandleStore(root).series() == []


def test_train_on_a_corrupt_store_file_fails_in_one_line(
    tmp_path: Path, btc_1h: pd.DataFrame
) -> None:
    # One case only: each `gradtrade train` pays torch's start-up. The other bad data.path
    # cases go through the same read_series_file, tested in test_importers_garbage.py.
    store = CandleStore(tmp_path / "store")
    key = SeriesKey("binance", "spot", "BTC/USDT", "1h")
    store.write(key, btc_1h.iloc[:2000])
    path = store.path(key)
    flip(path, path.stat().st_size // 3)
    config = tmp_path / "train.yaml"
    config.write_text(f"data:\n  path: {path}\nrun:\n  out_dir: {tmp_path / 'run'}\n")
    result = gradtrade("train", "--config", str(config))
    assert result.returncode != 0
    assert_no_traceback(result)
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert error.startswith(f"Error: {path}: checksum mismatch"), result.stderr
    assert not (tmp_path / "run" / "best.pt").exists()


def test_an_unreadable_file_is_one_line_too(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    store.path(SPOT).mkdir(parents=True)  # a folder where the data file belongs
    result = gradtrade("data", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert_no_traceback(result)
    assert f"{SPOT}" in result.stdout and "cannot be read: IsADirectoryError" in result.stdout
    assert "1 unreadable of 1 series" in result.stderr
