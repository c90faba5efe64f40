# Type stubs of the Rust extension `gradtrade._core`, checked against it by mypy.stubtest
# (tests/test_typing.py). Users import these names from `gradtrade.core`.

__version__: str

# --- orderbook ---

# --- kalman ---

# --- features ---

# --- risk ---

# --- orders ---
