"""``gradtrade exchange serve`` as a subprocess: prints its URL, serves, stops on SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]


def test_serve_prints_url_and_serves() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gradtrade",
            "exchange",
            "serve",
            "--synthetic",
            "--seed",
            "3",
            "--port",
            "0",
            "--api-secret",
            "s3cret-value",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/api/v3/exchangeInfo", timeout=10) as r:
            info = orjson.loads(r.read())
        assert {s["symbol"] for s in info["symbols"]} >= {"BTCUSDT", "ETHUSDT"}
        with urllib.request.urlopen(f"{url}/fapi/v1/exchangeInfo", timeout=10) as r:
            assert orjson.loads(r.read())["symbols"][0]["contractType"] == "PERPETUAL"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "s3cret-value" not in out + err


def test_serve_rejects_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-kline-file.feather"
    bad.write_bytes(b"nope")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    proc = subprocess.run(
        [sys.executable, "-m", "gradtrade", "exchange", "serve", "--replay", str(bad)],
        capture_output=True,
        env=env,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "is not a freqtrade file name" in proc.stderr and "Traceback" not in proc.stderr
