"""Fixtures: real exchange servers on free 127.0.0.1 ports (each on its own thread and event
loop) and ccxt clients pointed at them by URL; helpers live in exchange_helpers.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from exchange_helpers import FUNDING_8H, FUTURES_1H, SPOT_1M, make_ccxt, templates

from gradtrade.local_exchange import ExchangeServer, ServerThread

# tests/test_typing.py does `from conftest import REPO_ROOT`; with several conftest.py files the
# module named "conftest" is whichever pytest imported last, so every conftest must define it.
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def synthetic_server() -> Iterator[ServerThread]:
    """The built-in synthetic market (no data files), running at 2x speed."""
    with ServerThread(ExchangeServer(synthetic=True, seed=7, speed=2.0)) as st:
        yield st


@pytest.fixture(scope="session")
def replay_server(data_dir: Path) -> Iterator[ServerThread]:
    """Real kline/funding history (feather files) with a synthetic live market on top."""
    server = ExchangeServer(
        replay=[data_dir / SPOT_1M, data_dir / FUNDING_8H, data_dir / FUTURES_1H],
        templates_dir=templates(data_dir),
        speed=2.0,
    )
    with ServerThread(server) as st:
        yield st


@pytest.fixture
def quiet_server() -> Iterator[ServerThread]:
    """A synthetic market frozen in place (one step per ~1000 s) whose book tests set by hand;
    maker fee 0.05 %, taker fee 0.1 %."""
    server = ExchangeServer(
        synthetic=True,
        seed=1,
        speed=1e-4,
        fees={"spot": ("0.0005", "0.001"), "usdm": ("0.0002", "0.0005")},
    )
    with ServerThread(server) as st:
        yield st


@pytest.fixture
async def spot(synthetic_server: ServerThread) -> AsyncIterator[Any]:
    ex = make_ccxt(synthetic_server.url, "spot")
    yield ex
    await ex.close()
