"""Monitoring: Prometheus metrics and the health endpoint of a running trader.

- ``config``: ``MonitoringConfig`` (host, port, staleness limit).
- ``state``: the values the monitor reads (``AccountSnapshot``, ``StreamStats``,
  ``JournalStatus``); this layer imports neither the engine nor risk/execution/persistence.
- ``metrics``: ``Metrics``, the event counters and histograms, and the naming rules.
- ``collector``: ``StateCollector``, the state read at scrape time (the metric list).
- ``health``: ``assess`` -> ``Health`` (stale market data, unwritable journal, HALTED).
- ``server``: ``MetricsServer`` (aiohttp ``/metrics`` and ``/healthz`` on the trader's loop).

``gradtrade.live.telemetry`` connects them to an engine. Deployment files (Prometheus scrape
config and alert rules, the Grafana dashboard) are in ``deploy/``.
"""

from __future__ import annotations

from gradtrade.monitoring.collector import ConnectorView, StateCollector
from gradtrade.monitoring.config import DEFAULT_PORT, MonitoringConfig
from gradtrade.monitoring.health import Health, HealthReason, Problem, assess
from gradtrade.monitoring.metrics import BREAKER_VALUES, Metrics, enum_label
from gradtrade.monitoring.server import MetricsServer
from gradtrade.monitoring.state import (
    AccountSnapshot,
    JournalStatus,
    StreamRegistry,
    StreamStats,
    StreamView,
    SymbolSnapshot,
)

__all__ = [
    "BREAKER_VALUES",
    "DEFAULT_PORT",
    "AccountSnapshot",
    "ConnectorView",
    "Health",
    "HealthReason",
    "JournalStatus",
    "Metrics",
    "MetricsServer",
    "MonitoringConfig",
    "Problem",
    "StateCollector",
    "StreamRegistry",
    "StreamStats",
    "StreamView",
    "SymbolSnapshot",
    "assess",
    "enum_label",
]
