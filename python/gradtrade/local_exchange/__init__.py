"""A local Binance-compatible exchange: REST and websockets on 127.0.0.1, for tests, the offline
demo and paper trading against replayed or synthetic markets.

Point unmodified ccxt at it by URL alone::

    from gradtrade.local_exchange import ExchangeServer, ccxt_urls
    server = ExchangeServer(synthetic=True, seed=1)
    url = await server.start(port=0)
    ex = ccxt.pro.binance({"urls": ccxt_urls(url, "spot"), "apiKey": ..., "secret": ...})
"""

from __future__ import annotations

from gradtrade.local_exchange.server import DEFAULT_KEYS, ExchangeServer, ServerThread
from gradtrade.local_exchange.urls import BINANCE, BINANCE_TESTNET, ccxt_urls

__all__ = [
    "BINANCE",
    "BINANCE_TESTNET",
    "DEFAULT_KEYS",
    "ExchangeServer",
    "ServerThread",
    "ccxt_urls",
]
