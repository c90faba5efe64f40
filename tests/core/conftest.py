"""Fixtures of the order-book tests: the real recordings, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradtrade.data.recordings import RecordedFrame, read_cryptofeed, read_hftbacktest


@pytest.fixture(scope="session")
def recordings_dir(data_dir: Path) -> Path:
    return data_dir / "recordings"


@pytest.fixture(scope="session")
def hft_spot_frames(recordings_dir: Path) -> list[RecordedFrame]:
    spot = recordings_dir / "hftbacktest" / "spot"
    return list(read_hftbacktest(spot / "btcusdt_20240808.gz", spot / "btcusdt_20240809.gz"))


@pytest.fixture(scope="session")
def hft_usdm_frames(recordings_dir: Path) -> list[RecordedFrame]:
    return list(read_hftbacktest(recordings_dir / "hftbacktest" / "usdm" / "btcusdt_20240808.gz"))


@pytest.fixture(scope="session")
def cryptofeed_dir(recordings_dir: Path) -> Path:
    return recordings_dir / "cryptofeed"


@pytest.fixture(scope="session")
def cryptofeed_frames(cryptofeed_dir: Path) -> dict[str, list[RecordedFrame]]:
    return {
        exchange: list(read_cryptofeed(cryptofeed_dir, exchange))
        for exchange in ("BINANCE", "BINANCE_FUTURES")
    }
