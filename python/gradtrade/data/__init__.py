"""gradtrade's data layer: from exchanges and files to the state X_t and training batches.

Modules: ``store`` (Parquet candle store with validation reports, importers), ``dataset``
(training windows, time-ordered splits, walk-forward folds, the DataLoader), ``state``
(``StateTransformer``: candles and funding to X_t through the Rust streaming features),
``connector`` (ccxt/websockets access to Binance or any Binance-compatible URL) and ``cli``
(``gradtrade data``, ``gradtrade download``).
"""
