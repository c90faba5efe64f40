# Type stubs of the Rust extension `gradtrade._core`, checked against it by mypy.stubtest
# (tests/test_typing.py). Users import these names from `gradtrade.core`.

from collections.abc import Iterable as _Iterable
from collections.abc import Sequence as _Sequence
from typing import ClassVar, final
from typing import final as _final

import numpy as _np
import numpy.typing as _npt

# The extension's own `__all__` (PyO3 records every exported name, `__version__` included).
__all__ = [
    "Bar",
    "BookEvent",
    "BookStatus",
    "CandleFill",
    "CandleFillConfig",
    "Decision",
    "DrawdownBreaker",
    "Ewma",
    "FillAt",
    "FillReason",
    "FrameKind",
    "KalmanFilter",
    "KalmanFit",
    "L2Venue",
    "L2VenueConfig",
    "Latency",
    "Liquidity",
    "Market",
    "NativeModel",
    "NativeModelConfig",
    "Order",
    "OrderBook",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionSizer",
    "QueueModel",
    "Recording",
    "RejectReason",
    "RiskEngine",
    "RiskLimits",
    "RollingVolatility",
    "Side",
    "SimFill",
    "StateNormalization",
    "StateRows",
    "StreamingFeatures",
    "SymbolFilters",
    "TimeInForce",
    "TradingState",
    "VenueOrderEvent",
    "VenueReject",
    "__version__",
    "client_order_id",
    "frame_kind",
    "funding_cashflow",
    "funding_cashflows",
    "kelly_leverage",
    "parse_client_order_id",
    "transition_allowed",
    "vol_target_leverage",
]

__version__: str

# --- orderbook ---

_Levels = _npt.ArrayLike

@_final
class Market:
    """Which Binance market a book follows; it decides the depth sequence rule."""

    SPOT: ClassVar[Market]
    USDM: ClassVar[Market]
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@_final
class OrderBook:
    """L2 order book of one Binance symbol with fixed-point levels.

    Prices are integer ticks and quantities integer steps inside; floats appear only in the
    query results. Binance's sequence rule is checked on every diff: a stale frame returns
    ``False`` and changes nothing, a gap raises ``SequenceGap`` and leaves the book invalid
    until the next snapshot, bad input raises ``InvalidInput`` and leaves the book as it was.
    Diffs before the first snapshot raise ``BookNotSynced``; ``gradtrade.data.depth_sync.
    DepthSync`` buffers them the way Binance documents.

    An invalid book (``is_valid`` False: no snapshot yet, or a sequence gap) answers no query of
    its levels: ``best_bid``, ``best_ask``, ``mid``, ``spread``, ``microprice``, ``is_crossed``,
    ``bids``, ``asks`` and ``features`` all raise ``BookNotSynced``, never the stale prices. On a
    valid book ``None`` means an empty side. ``depth``, ``len``, ``repr``, ``to_json`` and
    ``take_ofi`` (the flow accumulated by events already applied) are bookkeeping and still
    answer. ``features`` takes 1 to 5000 levels (``InvalidInput`` otherwise).

    ``tick_size`` / ``step_size`` (exact text preferred) must be the resolution of the feed, not
    today's order filters: resting levels can be off PRICE_FILTER / LOT_SIZE (orders placed
    before a filter change); ``gradtrade.data.recordings.book_grids`` derives them from
    ``exchangeInfo``. Each side keeps a dense window of 32768 ticks around the top of the last
    snapshot (about 0.5 MiB per book) over a sorted store for the rest.
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
    def from_json(raw: str | bytes) -> OrderBook: ...

# --- model ---

@_final
class NativeModelConfig:
    """The hyperparameters of a ``NativeModel``, named as the torch model names them.

    ``kind``: "ode" (``DynamicalSystem``) or "gru" (``RecurrentBaseline``); ``method`` and
    ``step_size``: the ODE's fixed-grid solver ("euler", "midpoint", "rk4"; adaptive solvers
    are refused); ``variance_head``: "free" or "residual" (which needs ``baseline_column`` >=
    0); ``policy_prior``: "none" or "vol_target" (with ``policy_tilt`` in [0, 2]).
    """

    def __new__(
        cls,
        *,
        n_state: int,
        kind: str,
        method: str = "rk4",
        step_size: float = 0.5,
        variance_head: str = "free",
        baseline_column: int = -1,
        policy_prior: str = "none",
        policy_tilt: float = 0.5,
        var_floor: float = 0.001,
    ) -> NativeModelConfig: ...
    @property
    def n_state(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def method(self) -> str | None: ...
    @property
    def step_size(self) -> float | None: ...
    @property
    def variance_head(self) -> str: ...
    @property
    def baseline_column(self) -> int | None: ...
    @property
    def policy_prior(self) -> str: ...
    @property
    def policy_tilt(self) -> float | None: ...
    @property
    def var_floor(self) -> float: ...
    def __eq__(self, value: object, /) -> bool: ...

@_final
class NativeModel:
    """The first-step forward of a trained model for one window, in f64 (``rust/model``).

    ``weights``: the model's ``state_dict()`` (less ``baseline_column``) as contiguous float64
    NumPy arrays; shapes are checked, non-finite values and unknown names refused.
    """

    def __new__(
        cls, config: NativeModelConfig, weights: dict[str, _npt.NDArray[_np.float64]]
    ) -> NativeModel: ...
    def forward(
        self, x: _npt.ArrayLike, t_x: _npt.ArrayLike, t_y: float
    ) -> tuple[_npt.NDArray[_np.float64], float, float, float]:
        """x (C, n_state), t_x (C,), t_y > 0 -> (x_hat (n_state,), ret_mean, ret_var, u)."""
    @property
    def config(self) -> NativeModelConfig: ...

# --- kalman ---

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
    def from_json(raw: str | bytes) -> KalmanFilter: ...
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
    def from_json(raw: str | bytes) -> StreamingFeatures: ...

@_final
class StateRows:
    """The raw rows of the state X_t for chunks of bars on the timeframe grid.

    Columns: the streaming features of ``features``, then ``hl_range``, ``funding_rate``,
    ``hour_sin``, ``hour_cos``, ``dow_sin``, ``dow_cos``, ``missing_bar``, ``after_gap`` and the
    ``n_extra`` extra columns. One step per bar whatever the chunking (bit-identical rows); a
    chunk starts right after the last real bar seen. A bar pays the funding events in
    ``(open, close]``: a single event's rate exactly, running-sum differences for several.
    """

    def __new__(cls, features: StreamingFeatures, n_extra: int = ...) -> StateRows: ...
    @property
    def n_columns(self) -> int: ...
    def process(
        self,
        opens: _npt.NDArray[_np.int64],
        step_ns: int,
        values: _npt.ArrayLike,
        present: _npt.NDArray[_np.bool_],
    ) -> tuple[
        _npt.NDArray[_np.float64],
        _npt.NDArray[_np.float64],
        _npt.NDArray[_np.float64],
        _npt.NDArray[_np.bool_],
    ]:
        """``(raw (T, n_columns), returns, paid funding, warm)`` of one chunk: ``opens`` (T,)
        on the grid of ``step_ns``, ``values`` (T, 5 + n_extra) open, high, low, close, volume,
        extra (NaN rows for missing bars), ``present`` (T,). Bad input changes nothing."""
    def add_funding(self, times_ns: _npt.NDArray[_np.int64], rates: _npt.ArrayLike) -> None: ...
    def reset(self) -> None: ...
    def features_json(self) -> str: ...
    @property
    def funding_times_ns(self) -> _npt.NDArray[_np.int64]: ...
    @property
    def funding_rates(self) -> _npt.NDArray[_np.float64]: ...
    @property
    def last_rate(self) -> float: ...
    @property
    def warm(self) -> bool: ...
    def restore(
        self,
        features_json: str | bytes,
        funding_times_ns: _npt.NDArray[_np.int64],
        funding_rates: _npt.ArrayLike,
        last_rate: float,
        warm: bool,
    ) -> None:
        """Replaces the carried state with a saved one, validated like new."""

@_final
class StateNormalization:
    """``(x - center) / scale``, winsorized at ``+-clip`` where ``scaled``, NaN -> 0,
    +-inf -> +-clip, as float32; rows that are not warm are all NaN."""

    def __new__(
        cls,
        center: _npt.ArrayLike,
        scale: _npt.ArrayLike,
        scaled: _npt.NDArray[_np.bool_],
        clip: float,
    ) -> StateNormalization: ...
    def apply(
        self, raw: _npt.ArrayLike, warm: _npt.NDArray[_np.bool_]
    ) -> _npt.NDArray[_np.float32]: ...

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

@final
class TradingState:
    """What the risk engine lets through: everything, only reducing orders, or nothing."""

    ACTIVE: ClassVar[TradingState]
    REDUCING: ClassVar[TradingState]
    HALTED: ClassVar[TradingState]
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class RejectReason:
    """Why the pre-trade check refused an order (one reason per limit)."""

    INVALID_ORDER: ClassVar[RejectReason]
    HALTED: ClassVar[RejectReason]
    REDUCING: ClassVar[RejectReason]
    REDUCE_ONLY: ClassVar[RejectReason]
    PRICE_TICK: ClassVar[RejectReason]
    PRICE_FILTER: ClassVar[RejectReason]
    QUANTITY_STEP: ClassVar[RejectReason]
    MIN_QUANTITY: ClassVar[RejectReason]
    MAX_QUANTITY: ClassVar[RejectReason]
    MIN_NOTIONAL: ClassVar[RejectReason]
    PRICE_BAND: ClassVar[RejectReason]
    MAX_ORDER_NOTIONAL: ClassVar[RejectReason]
    MAX_POSITION: ClassVar[RejectReason]
    MAX_LEVERAGE: ClassVar[RejectReason]
    MAX_OPEN_ORDERS: ClassVar[RejectReason]
    RATE_LIMIT: ClassVar[RejectReason]
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class RiskLimits:
    """The user's pre-trade limits; every value is validated (InvalidInput otherwise)."""

    def __new__(
        cls,
        *,
        max_order_notional: float,
        max_position: float,
        max_leverage: float,
        max_open_orders: int,
        max_orders_per_second: int,
        price_band_bps: float,
        reduce_drawdown: float,
        halt_drawdown: float,
    ) -> RiskLimits: ...
    @property
    def max_order_notional(self) -> float: ...
    @property
    def max_position(self) -> float: ...
    @property
    def max_leverage(self) -> float: ...
    @property
    def max_open_orders(self) -> int: ...
    @property
    def max_orders_per_second(self) -> int: ...
    @property
    def price_band_bps(self) -> float: ...
    @property
    def reduce_drawdown(self) -> float: ...
    @property
    def halt_drawdown(self) -> float: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(raw: str | bytes) -> RiskLimits: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class SymbolFilters:
    """Binance's PRICE_FILTER, LOT_SIZE and NOTIONAL filters of one symbol (0 = no limit)."""

    def __new__(
        cls,
        symbol: str,
        tick_size: str | float,
        step_size: str | float,
        min_qty: str | float = ...,
        min_notional: str | float = ...,
        max_qty: str | float = ...,
        min_price: str | float = ...,
        max_price: str | float = ...,
        base_asset: str | None = None,
        quote_asset: str | None = None,
    ) -> SymbolFilters: ...
    @staticmethod
    def from_exchange_info_json(raw: str | bytes, symbol: str) -> SymbolFilters: ...
    @staticmethod
    def all_from_exchange_info_json(raw: str | bytes) -> dict[str, SymbolFilters]: ...
    @property
    def symbol(self) -> str: ...
    @property
    def tick_size(self) -> float: ...
    @property
    def step_size(self) -> float: ...
    @property
    def min_qty(self) -> float: ...
    @property
    def max_qty(self) -> float | None: ...
    @property
    def min_price(self) -> float: ...
    @property
    def max_price(self) -> float | None: ...
    @property
    def min_notional(self) -> float: ...
    @property
    def base_asset(self) -> str | None: ...
    @property
    def quote_asset(self) -> str | None: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(raw: str | bytes) -> SymbolFilters: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Decision:
    """Outcome of a pre-trade check; truthy when approved."""

    @property
    def approved(self) -> bool: ...
    @property
    def reason(self) -> RejectReason | None: ...
    @property
    def message(self) -> str: ...
    def __bool__(self) -> bool: ...

@final
class DrawdownBreaker:
    """ACTIVE -> REDUCING -> HALTED on drawdown from the high-water mark; reset() to leave.

    The mark is never negative (equity at or below 0 halts). ``reset()`` without an equity needs
    a positive last equity. ``from_json`` runs the same checks as building and updating: a state
    below what the drawdown calls for (ACTIVE past the halt level), a negative mark or one below
    the last equity, and unknown fields are ``InvalidInput``.
    """

    def __new__(cls, reduce_drawdown: float, halt_drawdown: float) -> DrawdownBreaker: ...
    def update(self, equity: float) -> TradingState: ...
    def reset(self, equity: float | None = None) -> None: ...
    @property
    def state(self) -> TradingState: ...
    @property
    def high_water_mark(self) -> float: ...
    @property
    def drawdown(self) -> float: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(raw: str | bytes) -> DrawdownBreaker: ...

@final
class RiskEngine:
    """Pure pre-trade checks for one symbol against limits, filters, breaker and order rate."""

    def __new__(cls, limits: RiskLimits, filters: SymbolFilters) -> RiskEngine: ...
    def check(
        self,
        side: Side,
        quantity: float,
        price: float,
        mid_or_mark: float,
        position: float,
        open_orders: int,
        equity: float,
        now_ns: int,
        reduce_only: bool = False,
    ) -> Decision:
        """Pure pre-trade check; never raises for a rejection and records nothing.

        `position` is the signed position in base units (add same-side resting orders for a
        worst-case bound), `equity` the account equity in the quote asset (for the leverage
        limit; the breaker is fed separately by `update_equity`), `now_ns` the time for the
        orders-per-second window. Call `record_order(now_ns)` for an order that is then sent.
        """
    def check_and_record(
        self,
        side: Side,
        quantity: float,
        price: float,
        mid_or_mark: float,
        position: float,
        open_orders: int,
        equity: float,
        now_ns: int,
        reduce_only: bool = False,
    ) -> Decision:
        """`check`, and when approved count the order against the rate limit at `now_ns`."""
    def record_order(self, now_ns: int) -> None: ...
    def update_equity(self, equity: float) -> TradingState: ...
    def reset(self, equity: float | None = None) -> None: ...
    @property
    def state(self) -> TradingState: ...
    @property
    def drawdown(self) -> float: ...
    @property
    def limits(self) -> RiskLimits: ...
    @property
    def filters(self) -> SymbolFilters: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(raw: str | bytes) -> RiskEngine: ...

@final
class PositionSizer:
    """Fractional Kelly capped by volatility target and leverage; SL/TP from predicted sigma."""

    def __new__(
        cls,
        filters: SymbolFilters,
        *,
        kelly_fraction: float,
        target_vol: float,
        max_leverage: float,
        k_sl: float = 2.0,
        k_tp: float = 3.0,
    ) -> PositionSizer: ...
    def leverage(self, mu: float, sigma: float) -> float: ...
    def size(self, mu: float, sigma: float, equity: float, price: float) -> float: ...
    def stops(self, side: Side, entry: float, sigma: float) -> tuple[float, float]: ...
    @property
    def kelly_fraction(self) -> float: ...
    @property
    def target_vol(self) -> float: ...
    @property
    def max_leverage(self) -> float: ...
    @property
    def k_sl(self) -> float: ...
    @property
    def k_tp(self) -> float: ...
    @property
    def filters(self) -> SymbolFilters: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(raw: str | bytes) -> PositionSizer: ...

def kelly_leverage(mu: float, sigma: float, fraction: float = 1.0) -> float: ...
def vol_target_leverage(target_vol: float, predicted_vol: float) -> float: ...

# --- orders ---

@final
class Side:
    BUY: ClassVar[Side]
    SELL: ClassVar[Side]
    @property
    def sign(self) -> int: ...
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class OrderType:
    LIMIT: ClassVar[OrderType]
    MARKET: ClassVar[OrderType]
    LIMIT_MAKER: ClassVar[OrderType]
    STOP_LOSS: ClassVar[OrderType]
    STOP_LOSS_LIMIT: ClassVar[OrderType]
    TAKE_PROFIT: ClassVar[OrderType]
    TAKE_PROFIT_LIMIT: ClassVar[OrderType]
    STOP: ClassVar[OrderType]
    STOP_MARKET: ClassVar[OrderType]
    TAKE_PROFIT_MARKET: ClassVar[OrderType]
    TRAILING_STOP_MARKET: ClassVar[OrderType]
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class TimeInForce:
    GTC: ClassVar[TimeInForce]
    IOC: ClassVar[TimeInForce]
    FOK: ClassVar[TimeInForce]
    GTX: ClassVar[TimeInForce]
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class OrderStatus:
    PENDING_NEW: ClassVar[OrderStatus]
    NEW: ClassVar[OrderStatus]
    PARTIALLY_FILLED: ClassVar[OrderStatus]
    FILLED: ClassVar[OrderStatus]
    PENDING_CANCEL: ClassVar[OrderStatus]
    CANCELED: ClassVar[OrderStatus]
    REJECTED: ClassVar[OrderStatus]
    EXPIRED: ClassVar[OrderStatus]
    EXPIRED_IN_MATCH: ClassVar[OrderStatus]
    @property
    def is_terminal(self) -> bool: ...
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Order:
    """One order: explicit status table, fills deduplicated by trade id, exact average price.

    Every change (fill, transition, execution report) and ``from_json`` run one validation:
    fills, notional and per-asset fees add up exactly (an overflowing sum is ``InvalidInput``,
    never a wrap), the status agrees with the filled quantity (no fills under PENDING_NEW / NEW /
    REJECTED, PARTIALLY_FILLED strictly between 0 and the quantity), and no fill is outside the
    limit price (a BUY never above it, a SELL never below). Reports Binance cannot send (an amend
    that raises the quantity or leaves a status that disagrees with it) are refused; a refused
    call leaves the order as it was. Unknown JSON fields are refused.
    """

    def __new__(
        cls,
        client_order_id: str,
        filters: SymbolFilters,
        side: Side,
        quantity: float,
        price: float | None = None,
        order_type: OrderType = ...,
        time_in_force: TimeInForce = ...,
    ) -> Order: ...
    @property
    def client_order_id(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def time_in_force(self) -> TimeInForce: ...
    @property
    def status(self) -> OrderStatus: ...
    @property
    def exchange_order_id(self) -> int | None: ...
    @property
    def quantity(self) -> float: ...
    @property
    def price(self) -> float | None: ...
    @property
    def filled_qty(self) -> float: ...
    @property
    def remaining_qty(self) -> float: ...
    @property
    def average_price(self) -> float | None: ...
    @property
    def filled_notional(self) -> float: ...
    @property
    def fees(self) -> dict[str, float]: ...
    @property
    def trade_ids(self) -> list[int]: ...
    @property
    def is_terminal(self) -> bool: ...
    @property
    def updated_ms(self) -> int: ...
    def transition(self, status: OrderStatus) -> bool: ...
    def acknowledge(self, exchange_order_id: int) -> bool: ...
    def cancel_rejected(self) -> None: ...
    def apply_fill(
        self,
        trade_id: int,
        quantity: float,
        price: float,
        fee: float = 0.0,
        fee_asset: str | None = None,
        time_ms: int = 0,
    ) -> bool: ...
    def apply_execution_report_json(self, raw: str | bytes) -> bool: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(raw: str | bytes) -> Order: ...

@final
class Position:
    """Signed quantity, average entry, realized/unrealized PnL and fees of one symbol."""

    def __new__(cls, filters: SymbolFilters, quote_asset: str | None = None) -> Position: ...
    def apply_fill(
        self,
        side: Side,
        quantity: float,
        price: float,
        fee: float = 0.0,
        fee_asset: str | None = None,
    ) -> float: ...
    @property
    def symbol(self) -> str: ...
    @property
    def quote_asset(self) -> str | None: ...
    @property
    def quantity(self) -> float: ...
    @property
    def is_flat(self) -> bool: ...
    @property
    def average_entry(self) -> float | None: ...
    @property
    def realized_pnl(self) -> float: ...
    @property
    def net_realized_pnl(self) -> float: ...
    @property
    def fees(self) -> dict[str, float]: ...
    @property
    def fill_count(self) -> int: ...
    def unrealized_pnl(self, mark: float) -> float: ...
    def notional(self, mark: float) -> float: ...
    def exposure(self, mark: float) -> float: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(raw: str | bytes) -> Position: ...

def client_order_id(strategy: str, session: int, seq: int) -> str: ...
def parse_client_order_id(client_order_id: str) -> tuple[str, int, int]: ...
def transition_allowed(from_status: OrderStatus, to_status: OrderStatus) -> bool: ...

# --- sim: candle fill model, funding, L2 simulated venue (rust/sim) ---

@final
class FillAt:
    """Which price a market order decided at bar t's close gets."""

    NEXT_OPEN: ClassVar[FillAt]
    DECISION_CLOSE: ClassVar[FillAt]
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Liquidity:
    MAKER: ClassVar[Liquidity]
    TAKER: ClassVar[Liquidity]
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class FillReason:
    MARKET: ClassVar[FillReason]
    LIMIT: ClassVar[FillReason]
    MARKETABLE_LIMIT: ClassVar[FillReason]
    STOP: ClassVar[FillReason]
    STOP_LOSS: ClassVar[FillReason]
    TAKE_PROFIT: ClassVar[FillReason]
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Bar:
    """One OHLCV bar: finite, prices > 0, low <= open, close <= high, volume >= 0."""

    def __new__(cls, open: float, high: float, low: float, close: float, volume: float) -> Bar: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...

@final
class CandleFill:
    """One simulated candle fill; ``price`` includes half spread and impact."""

    @property
    def price(self) -> float: ...
    @property
    def qty(self) -> float: ...
    @property
    def fee(self) -> float: ...
    @property
    def liquidity(self) -> Liquidity: ...
    @property
    def reason(self) -> FillReason: ...
    @property
    def reference_price(self) -> float: ...
    @property
    def at_open(self) -> bool: ...

@final
class CandleFillConfig:
    """The candle fill model's assumptions, each documented in ``rust/sim/candle.rs``.

    Market orders fill at the next open (or the decision close) moved by the half spread plus
    the impact ``impact_k * sigma * sqrt(q / V)`` (capped at ``max_impact_bps``), taker fee;
    limits fill only when the bar trades through them, at most ``max_volume_share`` of the
    bar's volume, maker fee; stops fill at the stop or at the open on a gap; a stop-loss and a
    take-profit in the same bar resolve adversely (stop-loss first).
    """

    def __new__(
        cls,
        *,
        half_spread_bps: float = 1.0,
        impact_k: float = 1.0,
        taker_fee_rate: float = 0.001,
        maker_fee_rate: float = 0.001,
        max_volume_share: float = 0.1,
        fill_at: FillAt = ...,
        max_impact_bps: float = 500.0,
    ) -> CandleFillConfig: ...
    @property
    def half_spread_bps(self) -> float: ...
    @property
    def impact_k(self) -> float: ...
    @property
    def taker_fee_rate(self) -> float: ...
    @property
    def maker_fee_rate(self) -> float: ...
    @property
    def max_volume_share(self) -> float: ...
    @property
    def fill_at(self) -> FillAt: ...
    @property
    def max_impact_bps(self) -> float: ...
    def impact(self, qty: float, volume: float, sigma: float) -> float: ...
    def market_fill(self, side: Side, qty: float, bar: Bar, sigma: float) -> CandleFill: ...
    def limit_fill(
        self,
        side: Side,
        price: float,
        qty: float,
        bar: Bar,
        sigma: float,
        *,
        arriving: bool = False,
    ) -> CandleFill | None: ...
    def stop_fill(
        self, side: Side, stop: float, qty: float, bar: Bar, sigma: float
    ) -> CandleFill | None: ...
    def protective_fill(
        self,
        position_side: Side,
        qty: float,
        bar: Bar,
        sigma: float,
        *,
        stop_loss: float | None = None,
        take_profit: float | None = None,
    ) -> CandleFill | None: ...
    def market_fills(
        self,
        open: _npt.NDArray[_np.float64],
        high: _npt.NDArray[_np.float64],
        low: _npt.NDArray[_np.float64],
        close: _npt.NDArray[_np.float64],
        volume: _npt.NDArray[_np.float64],
        sigma: _npt.NDArray[_np.float64],
        qty: _npt.NDArray[_np.float64],
    ) -> tuple[_npt.NDArray[_np.float64], _npt.NDArray[_np.float64]]: ...

def funding_cashflow(position: float, mark: float, rate: float) -> float: ...
def funding_cashflows(
    position_ts: _npt.NDArray[_np.int64],
    positions: _npt.NDArray[_np.float64],
    funding_ts: _npt.NDArray[_np.int64],
    rates: _npt.NDArray[_np.float64],
    marks: _npt.NDArray[_np.float64],
) -> _npt.NDArray[_np.float64]: ...
def frame_kind(raw: bytes) -> FrameKind: ...

@final
class FrameKind:
    DEPTH: ClassVar[FrameKind]
    SNAPSHOT: ClassVar[FrameKind]
    TRADE: ClassVar[FrameKind]
    BOOK_TICKER: ClassVar[FrameKind]
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class VenueReject:
    POST_ONLY_WOULD_CROSS: ClassVar[VenueReject]
    BOOK_NOT_SYNCED: ClassVar[VenueReject]
    CANCEL_TOO_LATE: ClassVar[VenueReject]
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class BookStatus:
    SYNCED: ClassVar[BookStatus]
    SEQUENCE_GAP: ClassVar[BookStatus]
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class QueueModel:
    """How a resting order's queue position advances on cancellations (trades always do)."""

    @staticmethod
    def risk_averse() -> QueueModel: ...
    @staticmethod
    def probabilistic(power: float) -> QueueModel: ...
    @property
    def power(self) -> float | None: ...

@final
class Latency:
    """Order-entry or cancel latency: constant, or interpolated from recorded delays."""

    @staticmethod
    def constant(delay_ns: int) -> Latency: ...
    @staticmethod
    def table(ts_ns: _npt.NDArray[_np.int64], delay_ns: _npt.NDArray[_np.int64]) -> Latency: ...
    def at(self, ts_ns: int) -> int: ...

@final
class L2VenueConfig:
    def __new__(
        cls,
        *,
        maker_fee_rate: float = 0.001,
        taker_fee_rate: float = 0.001,
        queue: QueueModel | None = None,
        entry_latency: Latency | None = None,
        cancel_latency: Latency | None = None,
    ) -> L2VenueConfig: ...
    @property
    def maker_fee_rate(self) -> float: ...
    @property
    def taker_fee_rate(self) -> float: ...
    @property
    def queue(self) -> QueueModel: ...
    @property
    def entry_latency(self) -> Latency: ...
    @property
    def cancel_latency(self) -> Latency: ...

@final
class SimFill:
    @property
    def ts_ns(self) -> int: ...
    @property
    def client_id(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def price(self) -> float: ...
    @property
    def qty(self) -> float: ...
    @property
    def fee(self) -> float: ...
    @property
    def liquidity(self) -> Liquidity: ...

@final
class VenueOrderEvent:
    @property
    def ts_ns(self) -> int: ...
    @property
    def client_id(self) -> str: ...
    @property
    def status(self) -> OrderStatus: ...
    @property
    def reason(self) -> VenueReject | None: ...

@final
class BookEvent:
    @property
    def ts_ns(self) -> int: ...
    @property
    def status(self) -> BookStatus: ...

@final
class Recording:
    """A whole recording as arrays (int64 times, uint8 kinds, bytes, n + 1 int64 offsets)."""

    def __new__(
        cls,
        ts_ns: _npt.NDArray[_np.int64],
        kinds: _npt.NDArray[_np.uint8],
        data: bytes,
        offsets: _npt.NDArray[_np.int64],
    ) -> Recording: ...
    @staticmethod
    def from_frames(frames: _Iterable[tuple[int, bytes, *tuple[object, ...]]]) -> Recording: ...
    def __len__(self) -> int: ...
    @property
    def cursor(self) -> int: ...
    @property
    def next_ts(self) -> int | None: ...
    def rewind(self) -> None: ...

@final
class L2Venue:
    """The L2 simulated venue of one symbol; every rule is documented in ``rust/sim/l2.rs``."""

    def __new__(
        cls,
        symbol: str,
        tick_size: str | float,
        step_size: str | float,
        config: L2VenueConfig,
        market: Market | str | None = None,
    ) -> L2Venue: ...
    def submit(
        self,
        ts_ns: int,
        client_id: str,
        side: Side,
        order_type: OrderType,
        qty: float,
        price: float | None = None,
    ) -> None: ...
    def cancel(self, ts_ns: int, client_id: str) -> None: ...
    def process(self, ts_ns: int, kind: FrameKind, raw: bytes) -> None: ...
    def advance_to(self, ts_ns: int) -> None: ...
    def run_until(self, recording: Recording, ts_ns: int) -> int: ...
    def take_fills(self) -> list[SimFill]: ...
    def take_order_events(self) -> list[VenueOrderEvent]: ...
    def take_book_events(self) -> list[BookEvent]: ...
    def order_state(self, client_id: str) -> tuple[OrderStatus, float, float | None]: ...
    @property
    def now(self) -> int | None: ...
    @property
    def open_orders(self) -> int: ...
    @property
    def book_valid(self) -> bool: ...
    def best_bid(self) -> tuple[float, float] | None: ...
    def best_ask(self) -> tuple[float, float] | None: ...
    @property
    def position(self) -> float: ...
    @property
    def cash(self) -> float: ...
    @property
    def fees(self) -> float: ...
    @property
    def counters(self) -> dict[str, int]: ...
