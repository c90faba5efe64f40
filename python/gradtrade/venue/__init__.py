"""The client side of Binance (or any Binance-compatible URL, the local exchange included).

Modules: ``config`` (``ConnectorConfig``: URLs, keys, timeouts, the one table of Binance URL
presets and the ccxt URL mapping), ``rest`` (ccxt REST with retries, weight pacing and error
mapping), ``streams`` (reconnecting websocket streams, the self-resyncing ``BookStream``) and
``depth_sync`` (Binance's snapshot-plus-diffs procedure around one Rust ``OrderBook``).
"""
