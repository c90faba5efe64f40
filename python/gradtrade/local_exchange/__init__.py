"""A local Binance-compatible exchange: REST and websockets on 127.0.0.1, for tests, the offline
demo and paper trading against replayed or synthetic markets. It plays the counterparty:
nothing in the product imports it except ``gradtrade.cli`` and ``gradtrade.demo`` (an
import-linter contract in pyproject.toml).

Point unmodified ccxt at it by URL alone::

    from gradtrade.local_exchange import ExchangeServer
    from gradtrade.venue.urls import ccxt_urls
    server = ExchangeServer(synthetic=True, seed=1)
    url = await server.start(port=0)
    ex = ccxt.pro.binance({"urls": ccxt_urls(url, "spot"), "apiKey": ..., "secret": ...})
"""

from __future__ import annotations

from gradtrade.local_exchange.server import DEFAULT_KEYS, ExchangeServer, ServerThread

__all__ = [
    "DEFAULT_KEYS",
    "ExchangeServer",
    "ServerThread",
]
