"""Data layer: market data in (websocket frames, REST snapshots, recordings) and stores out."""
