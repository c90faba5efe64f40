"""The live trader: ``gradtrade trade`` as a headless service (paper or live).

- ``config``: ``TraderConfig`` (YAML, strict); ``credentials``: API key/secret from the
  environment or an owner-only file, and the connector built with them.
- ``bars``: closed klines from the websocket, REST-backfilled, each bar once and in order.
- ``recorder`` / ``journaled``: the journal writer and the write-ahead ``ExecutionClient``.
- ``resume``: restart (portfolio, session, open orders resolved with the venue).
- ``trader``: the ``Trader`` service; ``status``: what the journal says; ``cli``: the commands.
- ``reconcile*``: the trader's belief against the exchange (typed discrepancies, verdict).
- ``telemetry``: the bridge from the engine and the service to ``gradtrade.monitoring``.
"""

from __future__ import annotations

from gradtrade.live.config import TraderConfig, load_trader_config, parse_trader_config
from gradtrade.live.trader import Observer, Trader

__all__ = ["Observer", "Trader", "TraderConfig", "load_trader_config", "parse_trader_config"]
