"""Market history: what was recorded or downloaded, stored, validated and shaped for training.

Modules: ``recordings`` (raw websocket recordings reader), ``store`` (Parquet candle store with
validation reports, coverage and gaps), ``validate``, ``importers`` (freqtrade feather,
data.binance.vision ZIP/CSV), ``download`` (resumable, gap-filling downloads through
:mod:`gradtrade.venue`), ``connector`` (``ExchangeConnector``: downloads into the store and the
venue's live streams behind one object), ``dataset`` (training windows, time-ordered splits,
walk-forward folds, the DataLoader), ``state`` (``StateTransformer``: candles and funding to X_t
through the Rust streaming features), ``market`` (one market's series ready for the model) and
``cli`` (``gradtrade data``, ``gradtrade download``).
"""
