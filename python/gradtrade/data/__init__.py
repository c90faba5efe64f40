"""Data layer: market data in (websocket frames, REST snapshots, recordings) and stores out.

Modules: ``recordings`` (raw websocket recordings reader, ``DepthSync``), ``store`` (Parquet
candle store with validation reports, coverage and gaps), ``importers`` (freqtrade feather,
data.binance.vision ZIP/CSV), ``dataset`` (training windows, time-ordered splits, walk-forward
folds, the DataLoader), ``state`` (``StateTransformer``: candles and funding to X_t through the
Rust streaming features), ``connector`` (``ExchangeConnector``: ccxt REST and websocket streams
for Binance or any Binance-compatible URL) and ``cli`` (``gradtrade data``, ``gradtrade download``).
"""
