# Type stubs of the Rust extension `gradtrade._core`, checked against it by mypy.stubtest
# (tests/test_typing.py). Users import these names from `gradtrade.core`.

__version__: str

# --- orderbook ---
from typing import final as _final

import numpy as _np
import numpy.typing as _npt

_Levels = _npt.ArrayLike

@_final
class Market:
    """Which Binance market a book follows; it decides the depth sequence rule."""

    SPOT: Market
    USDM: Market
    def __int__(self) -> int: ...

@_final
class OrderBook:
    """L2 order book of one Binance symbol with fixed-point levels.

    Prices are integer ticks and quantities integer steps inside; floats appear only in the
    query results. Binance's sequence rule is checked on every diff: a stale frame returns
    ``False`` and changes nothing, a gap raises ``SequenceGap`` and leaves the book invalid
    until the next snapshot, bad input raises ``InvalidInput`` and leaves the book as it was.
    """

    def __new__(
        cls,
        symbol: str,
        tick_size: str | float,
        step_size: str | float,
        market: Market | str | None = None,
    ) -> OrderBook: ...
    @property
    def symbol(self) -> str: ...
    @property
    def market(self) -> Market: ...
    @property
    def tick_size(self) -> float: ...
    @property
    def step_size(self) -> float: ...
    @property
    def last_update_id(self) -> int | None: ...
    @property
    def last_event_time_ms(self) -> int | None: ...
    @property
    def is_valid(self) -> bool: ...
    @property
    def depth(self) -> tuple[int, int]: ...
    def __len__(self) -> int: ...
    def apply_snapshot(self, last_update_id: int, bids: _Levels, asks: _Levels) -> None: ...
    def apply_snapshot_json(self, raw: bytes | bytearray | str) -> None: ...
    def apply_depth_json(self, raw: bytes | bytearray | str) -> bool: ...
    def apply_diff(
        self,
        first_update_id: int,
        last_update_id: int,
        bids: _Levels,
        asks: _Levels,
        prev_last_update_id: int | None = None,
    ) -> bool: ...
    def best_bid(self) -> tuple[float, float] | None: ...
    def best_ask(self) -> tuple[float, float] | None: ...
    def mid(self) -> float | None: ...
    def spread(self) -> float | None: ...
    def microprice(self) -> float | None: ...
    def is_crossed(self) -> bool: ...
    def bids(self, n: int | None = None) -> _npt.NDArray[_np.float64]: ...
    def asks(self, n: int | None = None) -> _npt.NDArray[_np.float64]: ...
    def features(self, levels: int = 5) -> _npt.NDArray[_np.float64]: ...
    @staticmethod
    def feature_names(levels: int = 5) -> list[str]: ...
    def take_ofi(self) -> float: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(raw: str) -> OrderBook: ...

# --- kalman ---

from collections.abc import Sequence as _Sequence
from typing import final as _final

import numpy as _np
import numpy.typing as _npt

@_final
class KalmanFilter:
    """Linear-Gaussian Kalman filter for small dimensions (state and observation up to 8).

    Model ``x_t = F x_{t-1} + N(0, Q)``, ``z_t = H x_t + N(0, R)``; ``x0``, ``P0`` are the state
    before the first observation. Each step predicts then updates (filterpy's formulas, Joseph
    form, P kept exactly symmetric). A NaN observation means predict only. Shapes, symmetry,
    positive (semi-)definiteness and finiteness are checked: ``InvalidInput`` otherwise.
    """

    def __new__(
        cls,
        F: _npt.ArrayLike,
        H: _npt.ArrayLike,
        Q: _npt.ArrayLike,
        R: _npt.ArrayLike,
        x0: _npt.ArrayLike,
        P0: _npt.ArrayLike,
    ) -> KalmanFilter: ...
    @staticmethod
    def local_level(q: float, r: float, *, x0: float = 0.0, p0: float = 1e6) -> KalmanFilter: ...
    @staticmethod
    def local_linear_trend(
        q_level: float,
        q_trend: float,
        r: float,
        *,
        x0: tuple[float, float] = (0.0, 0.0),
        p0: float = 1e6,
    ) -> KalmanFilter: ...
    def update(self, z: float | _npt.ArrayLike) -> _npt.NDArray[_np.float64]:
        """Predict + update with one observation; returns the posterior state."""

    def filter(
        self, zs: _npt.ArrayLike
    ) -> tuple[_npt.NDArray[_np.float64], _npt.NDArray[_np.float64], float]:
        """``update`` over ``zs`` (``(n,)`` or ``(n, dim_z)``), continuing from and advancing the
        current state: ``(states (n, dim_x), diagonal of each P (n, dim_x), loglik of these n)``.
        Releases the GIL on long arrays."""

    def fit(self, zs: _npt.ArrayLike) -> KalmanFit:
        """Maximum-likelihood variances of a local_level / local_linear_trend filter (Nelder-Mead
        on log-variances, from this filter's x0 and P0); ``InvalidInput`` for a general filter."""

    def reset(self) -> None: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(s: str) -> KalmanFilter: ...
    @property
    def x(self) -> _npt.NDArray[_np.float64]: ...
    @property
    def P(self) -> _npt.NDArray[_np.float64]: ...
    @property
    def innovation(self) -> _npt.NDArray[_np.float64]: ...
    @property
    def innovation_variance(self) -> _npt.NDArray[_np.float64]: ...
    @property
    def loglik(self) -> float: ...
    @property
    def dim_x(self) -> int: ...
    @property
    def dim_z(self) -> int: ...
    @property
    def F(self) -> _npt.NDArray[_np.float64]: ...
    @property
    def H(self) -> _npt.NDArray[_np.float64]: ...
    @property
    def Q(self) -> _npt.NDArray[_np.float64]: ...
    @property
    def R(self) -> _npt.NDArray[_np.float64]: ...

@_final
class KalmanFit:
    """Result of ``KalmanFilter.fit``."""

    @property
    def filter(self) -> KalmanFilter: ...
    @property
    def params(self) -> dict[str, float]: ...
    @property
    def loglik(self) -> float: ...
    @property
    def iterations(self) -> int: ...
    @property
    def converged(self) -> bool: ...

# --- features ---

@_final
class StreamingFeatures:
    """Streaming features of one price/volume series, one row per bar.

    ``update`` (one bar) and ``transform`` (arrays, continuing from the current state) call the
    same Rust step, so they give bit-identical output. Columns (``names``), in order:
    ``log_return`` (log of the price ratio to the last valid price); per halflife ``h``:
    ``ret_ewma_mean_hl{h}``, ``ret_ewma_var_hl{h}`` (pandas ``ewm(halflife=h, adjust=False)``
    mean and ``var(bias=True)`` of returns), ``ret_zscore_hl{h}`` (return against the
    statistics before it); per window ``w``: ``realized_vol_w{w}`` = sqrt(mean of the last
    ``w`` squared returns); ``volume_zscore`` (log(1+volume) against its EWMA, first halflife);
    a local-linear-trend Kalman filter on log price: ``kalman_level_minus_log_price``,
    ``kalman_trend``, ``kalman_innovation``, ``kalman_innovation_std``.

    Warm-up (NaN until defined): no return on the first valid bar; an EWMA mean needs one
    return, its variance two, its z-score two earlier returns; realized vol needs ``w``
    returns; the volume z-score two earlier volumes. The Kalman filter starts at the first
    valid price (level = log price, trend 0, P0 = diag(kalman_r, kalman_q_level)): level gap
    and trend are 0 there and the innovation columns NaN.

    A NaN price is a missing bar: return, z-scores, level gap and innovations are NaN, EWMAs
    and windows keep (and output) their state, the Kalman filter predicts only, and the next
    valid return spans the gap. A NaN volume gives a NaN volume z-score. Non-positive prices,
    negative volumes, infinities and mismatched lengths raise ``InvalidInput`` and change
    nothing.
    """

    def __new__(
        cls,
        *,
        ewma_halflives: _Sequence[float] = (12.0, 48.0),
        vol_windows: _Sequence[int] = [24],
        kalman_q_level: float = 1e-6,
        kalman_q_trend: float = 1e-8,
        kalman_r: float = 1e-5,
    ) -> StreamingFeatures: ...
    @property
    def names(self) -> list[str]: ...
    @property
    def n_features(self) -> int: ...
    def update(self, price: float, volume: float) -> _npt.NDArray[_np.float64]: ...
    def transform(
        self, prices: _npt.ArrayLike, volumes: _npt.ArrayLike
    ) -> _npt.NDArray[_np.float64]: ...
    def reset(self) -> None: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(s: str) -> StreamingFeatures: ...

@_final
class Ewma:
    """Exponentially weighted mean and variance of a stream (NaN input is skipped)."""

    def __new__(cls, halflife: float) -> Ewma: ...
    def update(self, x: float) -> float: ...
    def transform(self, xs: _npt.ArrayLike) -> _npt.NDArray[_np.float64]: ...
    def zscore(self, x: float) -> float: ...
    @property
    def mean(self) -> float: ...
    @property
    def variance(self) -> float: ...
    @property
    def halflife(self) -> float: ...
    @property
    def count(self) -> int: ...

@_final
class RollingVolatility:
    """sqrt(mean(r**2)) over the last ``window`` returns (NaN until full)."""

    def __new__(cls, window: int) -> RollingVolatility: ...
    def update(self, r: float) -> float: ...
    def transform(self, rs: _npt.ArrayLike) -> _npt.NDArray[_np.float64]: ...
    @property
    def window(self) -> int: ...

# --- risk ---

# --- orders ---
