"""gradtrade: gradient-based crypto trading with a Rust hot path.

Layers: ``gradtrade.core`` (Rust: order book, Kalman filter, streaming features, risk checks,
order state), ``gradtrade.data``, ``gradtrade.model``, ``gradtrade.optim``, ``gradtrade.risk``,
``gradtrade.execution``, and ``gradtrade.exchange`` (a local Binance-compatible exchange).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gradtrade")
except PackageNotFoundError:  # running from a source tree without an install
    from gradtrade._core import __version__

__all__ = ["__version__"]
