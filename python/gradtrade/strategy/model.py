"""``ModelStrategy``: a trained checkpoint deciding one closed bar at a time.

Invariant (the backtest/evaluation parity): the decision at a bar equals the evaluation's
position for the anchor at that bar to 1e-9 (the parity test's tolerance). Both see the same
rows, because ``StateTransformer.update`` continues the same state as ``transform``
(bit-identical rows) and normalizes with the checkpoint's training statistics, and both compute
X_hat, sigma^2 and u_t as ``optim.predict.predict_windows`` does: with its operators (the
traced and eager paths: the same floats) or with the native forward, the same arithmetic in
Rust held to it within 1e-12 (below); the window's times are relative to the anchor in hours
(int64 subtraction first), as ``WindowDataset`` builds them. Only the first target time is
asked for (one bar ahead, on the regular grid): the decision uses the first step alone, and the
models evolve each target interval on its own, so the first step does not depend on the later
ones (the parity test holds them to 1e-9); it cuts the ODE's cost per decision by ``horizon``.

No decision is made until ``context`` warmed-up rows exist; a bar after an outage brings the
flagged rows of the missing bars with it, exactly like the training data.

Cost: the model's forward at batch 1 is most of a decision (the GRU over the window, then the
ODE). The encoder cannot be carried from one bar to the next: each window's times are relative
to its own anchor (``t_x`` <= 0), so every input row changes when the window moves. The first
decision picks the forward that decides from then on (``DecisionPath``), the fastest that can
be built, in the chain native -> traced -> eager (from ``prefer`` down), and logs it once at
INFO:

- native: the Rust forward (``optim.native.NativePredictor``), a second implementation of the
  same arithmetic held to the eager forward to 1e-12 by tests and by its own check on the first
  window; the decision equals the evaluation's position to 1e-9 as on the other paths. Refused
  (and the chain goes on) for a model it does not cover: an adaptive ODE solver, another class.
- traced: ``optim.predict.TracedPredictor`` (the same operators, the same floats, checked on the
  first window); refused for a model that is not ``traceable`` or whose tracing fails.
- eager: ``predict_windows``.

Neither the native nor the traced forward re-checks its input as the eager model does, which
``observe`` makes unnecessary (only finite rows enter a window, its times increase).
"""

from __future__ import annotations

import enum
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gradtrade.data.state import StateTransformer
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar, Decision
from gradtrade.model import ForecastModel
from gradtrade.optim.checkpoint import load_checkpoint
from gradtrade.optim.native import NativePredictor
from gradtrade.optim.predict import TracedPredictor, as_predictor, predict_windows
from gradtrade.strategy.protocol import BarStrategy, StrategyContext

NS_PER_HOUR = 3_600_000_000_000
log = logging.getLogger(__name__)


class DecisionPath(enum.Enum):
    """Which forward computes a ``ModelStrategy``'s decisions, fastest first (module docstring)."""

    NATIVE = "native"
    TRACED = "traced"
    EAGER = "eager"


class ModelStrategy(BarStrategy):
    """Feeds closed bars to the checkpoint's transformer and asks the model for u_t."""

    name = "model"

    def __init__(
        self,
        model: ForecastModel,
        transformer: StateTransformer,
        *,
        context: int,
        horizon: int,
        source: str = "",
        prefer: DecisionPath = DecisionPath.NATIVE,
    ) -> None:
        if transformer.center is None or transformer.scale is None:
            raise InvalidInput("ModelStrategy needs a transformer with fitted normalization")
        if context < 1 or horizon < 1:
            raise InvalidInput(f"context and horizon must be >= 1, got {context}, {horizon}")
        self.model = as_predictor(model)
        self.transformer = transformer
        self.context, self.horizon = context, horizon
        self.source = source
        # the last ``context`` warmed-up rows, oldest first (float32 values held as float64,
        # what the native forward reads; the torch paths cast them back exactly), and their
        # close times; only the last ``_filled`` rows are valid
        self._window = np.zeros((context, transformer.n_features))
        self._times = np.zeros(context, dtype=np.int64)
        self._filled = 0
        step_hours = transformer.step_ns / NS_PER_HOUR
        self._t_y = torch.tensor([[step_hours]], dtype=torch.float32)
        self._t_y_hours = float(self._t_y[0, 0])  # the float32 value, as the torch paths see it
        self.prefer = prefer
        self._path: DecisionPath | None = None  # None: not chosen yet (no decision so far)
        self._predictor: NativePredictor | TracedPredictor | None = None

    @property
    def path(self) -> DecisionPath | None:
        """The forward that decides (chosen at the first decision; None before it)."""
        return self._path

    @property
    def traced(self) -> bool:
        """True once decisions run the traced graph (after the first one, when that is the
        path taken: traceable, and the native forward preferred against or refused)."""
        return self._path is DecisionPath.TRACED

    def _choose(self, x: torch.Tensor, t_x: torch.Tensor) -> None:
        """Builds the first forward of the chain, from ``prefer`` down, that accepts the model."""
        chain = list(DecisionPath)
        for path in chain[chain.index(self.prefer) :]:
            if path is DecisionPath.NATIVE:
                try:
                    self._predictor = NativePredictor(self.model, (x, self._t_y, t_x))
                except InvalidInput as exc:
                    # expected for what it does not cover (an adaptive solver: not traceable);
                    # a traceable model refused means its math moved away from the native one
                    level = logging.WARNING if self.model.traceable else logging.INFO
                    log.log(level, "model %s: no native forward: %s", self.source, exc)
                    continue
            elif path is DecisionPath.TRACED:
                if not self.model.traceable:
                    continue
                try:
                    self._predictor = TracedPredictor(self.model, x, self._t_y, t_x)
                except (RuntimeError, InvalidInput) as exc:  # torch could not trace it
                    log.warning("model %s: tracing failed: %s", self.source, exc)
                    continue
            self._path = path
            log.info("model %s decides with the %s forward", self.source, path.value)
            return

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, *, prefer: DecisionPath = DecisionPath.NATIVE
    ) -> ModelStrategy:
        """The model, its normalization and its window sizes from a ``gradtrade train`` file;
        ``prefer``: the first forward of the chain to try (module docstring)."""
        ck = load_checkpoint(path)
        if "state_transformer" not in ck.normalization:
            raise InvalidInput(f"{path}: checkpoint has no state transformer statistics")
        transformer = StateTransformer.from_json(ck.normalization["state_transformer"])
        transformer.reset()
        d = ck.config.data
        return cls(
            ck.model,
            transformer,
            context=d.context,
            horizon=d.horizon,
            source=f"{Path(path).name}:{ck.payload['config_hash']}@{ck.epoch}",
            prefer=prefer,
        )

    def add_funding(self, funding: pd.DataFrame) -> None:
        """Register funding events (``date``, ``rate``) before the bars they fall in."""
        self.transformer.add_funding(funding)

    def observe(self, bar: Bar) -> bool:
        """Feed one closed bar; True when a full warmed-up window ends at it."""
        frame = self.transformer.update(
            {
                "date": bar.open_time_ns,
                "open": bar.open,
                "high": bar.high,
                "low": bar.low,
                "close": bar.close,
                "volume": bar.volume,
            }
        )
        states = self.transformer.normalize(frame)  # finite where warm, all NaN where not
        window, times, context = self._window, self._times, self.context
        for i in range(len(states)):
            if not frame.warm[i]:  # before warm-up: a window must not include it
                self._filled = 0
                continue
            window[:-1] = window[1:]
            window[-1] = states[i]
            times[:-1] = times[1:]
            times[-1] = frame.times_ns[i]
            self._filled = min(self._filled + 1, context)
        return self._filled == context and int(times[-1]) == bar.close_time_ns

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        if not self.observe(bar):
            return None
        times = self._times
        t_x = ((times - times[-1]) / NS_PER_HOUR).astype(np.float32)
        predictor = self._predictor
        if self._path is not None and isinstance(predictor, NativePredictor):
            # the values the torch paths see: float32 rows and times, as float64
            mean, var, u = predictor.first_step(
                self._window, self._t_y_hours, t_x.astype(np.float64)
            )
        else:
            mean, var, u = self._torch_first_step(t_x)
        return Decision(bar.symbol, bar.ts_ns, u, mean=mean, var=var, source=self.source)

    def _torch_first_step(self, t_x: np.ndarray) -> tuple[float, float, float]:
        """The first decision (which chooses the path), and every decision of the torch paths."""
        x = torch.from_numpy(self._window.astype(np.float32))[None]
        t = torch.from_numpy(t_x)[None]
        # inference mode: no autograd bookkeeping at all (predict_windows only turns gradients
        # off); the same kernels on the same inputs, so the same floats, ~15% less time
        with torch.inference_mode():
            if self._path is None:
                self._choose(x, t)
            predictor = self._predictor
            if isinstance(predictor, NativePredictor):
                pred = predictor.predict(self._window, self._t_y_hours, t_x.astype(np.float64))
            elif predictor is not None:
                pred = predictor(x, self._t_y, t)
            else:
                pred = predict_windows(self.model, x, self._t_y, t)
        return float(pred.mean[0]), float(pred.var[0]), float(pred.position[0])


__all__ = ["DecisionPath", "ModelStrategy"]
