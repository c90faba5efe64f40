"""Fixtures of the live tests: the trader harness (a local exchange in its own process, trader
configs and processes) and the reconciliation harness (an in-process exchange and a trader's
objects driven by the real live client)."""

from .harness import exchange, fresh_exchange, redis_port
from .reconcile_harness import (
    adopt_config,
    exchange_process,
    process_trader,
    resting_trader,
    server,
    spot_trader,
    usdm_trader,
)

__all__ = [
    "adopt_config",
    "exchange",
    "exchange_process",
    "fresh_exchange",
    "process_trader",
    "redis_port",
    "resting_trader",
    "server",
    "spot_trader",
    "usdm_trader",
]
