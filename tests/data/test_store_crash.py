"""Store writes against real processes: concurrent writers, writers killed mid-commit.

Each writer is a separate Python process using the real store on the same directory. Killing one
at every step of the commit protocol (store.py, steps 1-4) must leave a store that verifies and
holds exactly the old or exactly the new rows; concurrent writers must end with the union of
their rows, each row as written, and readers in the meantime never see a false corruption.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gradtrade.data.store import CandleStore, Health, SeriesKey, manifest_path

KEY = SeriesKey("binance", "spot", "BTC/USDT", "1m")
VALUES = ["open", "high", "low", "close", "volume"]
SOURCE = "klines/spot/BTC_USDT-1m.feather"

# A writer process: merges the slices [a, b) of the real 1m candles given as JSON in argv[3].
# With argv[4] = "replace:N:before|after" (or "fsync:N:before") it SIGKILLs itself around the
# N-th call of os.replace / os.fsync, i.e. at a chosen step of the commit.
WRITER = """
import json, os, signal, sys
import pyarrow.feather as feather
from gradtrade.data.store import CandleStore, SeriesKey

root, source, slices = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if len(sys.argv) > 4:
    name, nth, when = sys.argv[4].split(":")
    real, calls = getattr(os, name), [0]

    def dying(*args):
        calls[0] += 1
        if calls[0] == int(nth) and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        out = real(*args)
        if calls[0] == int(nth) and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    setattr(os, name, dying)
frame = feather.read_table(source).to_pandas()
bump = "--bump" in sys.argv
store = CandleStore(root)
for a, b in slices:
    part = frame.iloc[a:b].copy()
    if bump:  # a revised version of the rows: every close up by 1, high widened to match
        part["close"] += 1.0
        part["high"] = part[["high", "close"]].max(axis=1)
    store.write(SeriesKey("binance", "spot", "BTC/USDT", "1m"), part)
    print("wrote", a, b, flush=True)
"""

# A reader process: reads the series in a loop until killed; prints one JSON line per read
# ({"rows": n} or {"error": text}).
READER = """
import json, sys
from gradtrade.data.store import CandleStore, SeriesKey
store = CandleStore(sys.argv[1])
key = SeriesKey("binance", "spot", "BTC/USDT", "1m")
while True:
    try:
        frame = store.read(key)
        ok = bool(frame["date"].is_monotonic_increasing and frame["date"].is_unique)
        print(json.dumps({"rows": len(frame), "sorted": ok}), flush=True)
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
"""


def child_env() -> dict[str, str]:
    python = str(Path(__file__).resolve().parents[2] / "python")
    return {**os.environ, "PYTHONPATH": python + os.pathsep + os.environ.get("PYTHONPATH", "")}


def run_writer(
    root: Path, source: Path, slices: list[tuple[int, int]], *extra: str
) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-c", WRITER, str(root), str(source), json.dumps(slices), *extra]
    return subprocess.run(args, env=child_env(), capture_output=True, text=True, timeout=120)


def assert_rows(read: pd.DataFrame, source: pd.DataFrame) -> None:
    assert len(read) == len(source)
    np.testing.assert_array_equal(
        pd.DatetimeIndex(read["date"]).as_unit("ns").asi8,
        pd.DatetimeIndex(source["date"]).as_unit("ns").asi8,
    )
    np.testing.assert_array_equal(read[VALUES].to_numpy(), source[VALUES].to_numpy())


def temps(store: CandleStore) -> list[str]:
    return sorted(p.name for p in store.path(KEY).parent.glob("*.tmp"))


def bumped(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["close"] += 1.0
    out["high"] = out[["high", "close"]].max(axis=1)
    return out


# (kill point, does the new data file stand after the crash?)
KILL_POINTS = [
    ("fsync:1:before", False),  # temp data written, not yet fsynced
    ("replace:1:before", False),  # temp data complete, manifest still the old one
    ("replace:1:after", False),  # manifest accepts old and new, old data in place
    ("replace:2:before", False),
    ("replace:2:after", True),  # new data in place, manifest still accepts both
    ("replace:3:before", True),
    ("replace:3:after", True),  # committed; killed before returning
]


@pytest.mark.parametrize(("kill", "committed"), KILL_POINTS)
def test_a_writer_killed_at_any_step_leaves_old_or_new_never_half(
    tmp_path: Path, data_dir: Path, btc_1m: pd.DataFrame, kill: str, committed: bool
) -> None:
    store = CandleStore(tmp_path)
    store.write(KEY, btc_1m.iloc[:1000])
    # The dying write revises rows 800-1000 and appends 1000-1500.
    result = run_writer(tmp_path, data_dir / SOURCE, [(800, 1500)], kill, "--bump")
    assert result.returncode == -signal.SIGKILL, result.stderr
    new = pd.concat([btc_1m.iloc[:800], bumped(btc_1m.iloc[800:1500])], ignore_index=True)
    assert store.inspect(KEY).health is Health.OK
    assert_rows(store.read(KEY), new if committed else btc_1m.iloc[:1000])
    # The next writer clears the dead writer's temp files and commits normally.
    report = store.write(KEY, bumped(btc_1m.iloc[800:1500]))
    assert report.rows_new == (0 if committed else 500)
    assert_rows(store.read(KEY), new)
    assert temps(store) == []
    assert len(json.loads(manifest_path(store.path(KEY)).read_text())["accept"]) == 1


@pytest.mark.parametrize("kill", ["replace:1:after", "replace:2:after"])
def test_a_first_write_killed_mid_commit_leaves_an_empty_or_whole_series(
    tmp_path: Path, data_dir: Path, btc_1m: pd.DataFrame, kill: str
) -> None:
    store = CandleStore(tmp_path)
    result = run_writer(tmp_path, data_dir / SOURCE, [(0, 300)], kill)
    assert result.returncode == -signal.SIGKILL, result.stderr
    read = store.read(KEY)
    assert read.empty if kill == "replace:1:after" else len(read) == 300
    store.write(KEY, btc_1m.iloc[:300])
    assert_rows(store.read(KEY), btc_1m.iloc[:300])


def test_writers_killed_from_outside_at_random_times(
    tmp_path: Path, data_dir: Path, btc_1m: pd.DataFrame
) -> None:
    rng = random.Random(12)
    store = CandleStore(tmp_path)
    slices = [(i * 200, i * 200 + 200) for i in range(40)]
    env = child_env()
    for _ in range(3):
        args = [sys.executable, "-c", WRITER, str(tmp_path), str(data_dir / SOURCE)]
        child = subprocess.Popen([*args, json.dumps(slices)], env=env, stdout=subprocess.PIPE)
        assert child.stdout is not None
        child.stdout.readline()  # one write done: it is now in the middle of the others
        time.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait()
        read = store.read(KEY)  # verifies, whatever moment the kill hit
        assert len(read) % 200 == 0 and len(read) >= 200
        assert_rows(read, btc_1m.iloc[: len(read)])
    store.write(KEY, btc_1m.iloc[:8000])
    assert_rows(store.read(KEY), btc_1m.iloc[:8000])
    assert temps(store) == []


def test_concurrent_writers_end_with_the_union_and_readers_never_see_corruption(
    tmp_path: Path, data_dir: Path, btc_1m: pd.DataFrame
) -> None:
    rng = random.Random(7)
    plans = []
    for _ in range(4):  # overlapping slices in random order, so writers contend for every row
        plan = [(a, a + rng.randint(20, 400)) for a in (rng.randrange(0, 3000) for _ in range(12))]
        plans.append(plan)
    env = child_env()
    store = CandleStore(tmp_path)
    store.write(KEY, btc_1m.iloc[:10])  # the readers start on a stored series
    log = tmp_path / "reads.jsonl"
    with open(log, "w") as sink:
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(tmp_path)], env=env, stdout=sink
        )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(data_dir / SOURCE), json.dumps(p)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in plans
    ]
    try:
        for writer in writers:
            _, err = writer.communicate(timeout=120)
            assert writer.returncode == 0, err
    finally:
        reader.kill()
        reader.wait()
    lines = log.read_text().splitlines()
    reads = [json.loads(line) for line in lines[:-1]]  # the last one may be cut by the kill
    assert len(reads) > 5
    assert [r for r in reads if "error" in r or not r["sorted"]] == []
    wanted = sorted({i for plan in plans for a, b in plan for i in range(a, b)} | set(range(10)))
    read = store.read(KEY)
    assert_rows(read, btc_1m.iloc[wanted])
    assert temps(store) == []
