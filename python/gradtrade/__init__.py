"""gradtrade: gradient-based crypto trading with a Rust hot path.

Layers, each importing only those below it (enforced by the import-linter contracts in
pyproject.toml): ``cli``/``demo`` -> ``evaluation`` -> ``optim`` -> ``model`` -> ``data`` ->
``venue`` -> ``core`` (Rust: order book, Kalman filter, streaming features, risk checks, order
state), ``errors``, ``config``, ``timeframes``. ``gradtrade.local_exchange`` is a local
Binance-compatible exchange that plays the counterparty in tests and the demo; only the CLI and
the demo import it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gradtrade")
except PackageNotFoundError:  # running from a source tree without an install
    from gradtrade._core import __version__

__all__ = ["__version__"]
