"""``ModelStrategy``: a trained checkpoint deciding one closed bar at a time.

Invariant (the backtest/evaluation parity): the decision at a bar is exactly the evaluation's
position for the anchor at that bar. Both see the same rows, because ``StateTransformer.update``
continues the same state as ``transform`` (bit-identical rows) and normalizes with the
checkpoint's training statistics, and both compute X_hat, sigma^2 and u_t through
``optim.predict.predict_windows``; the window's times are relative to the anchor in hours
(int64 subtraction first), as ``WindowDataset`` builds them. Only the first target time is
asked for (one bar ahead, on the regular grid): the decision uses the first step alone, and the
models evolve each target interval on its own, so the first step does not depend on the later
ones (the parity test holds them to 1e-9); it cuts the ODE's cost per decision by ``horizon``.

No decision is made until ``context`` warmed-up rows exist; a bar after an outage brings the
flagged rows of the missing bars with it, exactly like the training data.

Cost: the model's forward at batch 1 is most of a decision (the GRU over the window, then the
ODE). The encoder cannot be carried from one bar to the next: each window's times are relative
to its own anchor (``t_x`` <= 0), so every input row changes when the window moves. The first
decision traces the forward for the window's shape (``optim.predict.TracedPredictor``: the same
operators, the same floats, checked on that window) and later ones run the traced graph; the
graph has no input checks, which ``observe`` makes unnecessary (only finite rows enter a
window, its times increase). A model that is not ``traceable`` (an adaptive ODE solver: its
steps depend on the values), or whose tracing fails, decides with the eager
``predict_windows``.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch

from gradtrade.data.state import StateTransformer
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar, Decision
from gradtrade.model import ForecastModel
from gradtrade.optim.checkpoint import load_checkpoint
from gradtrade.optim.predict import TracedPredictor, as_predictor, predict_windows
from gradtrade.strategy.protocol import BarStrategy, StrategyContext

NS_PER_HOUR = 3_600_000_000_000
log = logging.getLogger(__name__)


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
    ) -> None:
        if transformer.center is None or transformer.scale is None:
            raise InvalidInput("ModelStrategy needs a transformer with fitted normalization")
        if context < 1 or horizon < 1:
            raise InvalidInput(f"context and horizon must be >= 1, got {context}, {horizon}")
        self.model = as_predictor(model)
        self.transformer = transformer
        self.context, self.horizon = context, horizon
        self.source = source
        self._rows: deque[np.ndarray] = deque(maxlen=context)
        self._times: deque[int] = deque(maxlen=context)
        step_hours = transformer.step_ns / NS_PER_HOUR
        self._t_y = torch.tensor([[step_hours]], dtype=torch.float32)
        self._traced: TracedPredictor | Literal[False] | None = None  # None: not tried yet

    @property
    def traced(self) -> bool:
        """True once decisions run the traced graph (after the first one, when traceable)."""
        return isinstance(self._traced, TracedPredictor)

    def _trace(self, x: torch.Tensor, t_x: torch.Tensor) -> TracedPredictor | Literal[False]:
        try:
            return TracedPredictor(self.model, x, self._t_y, t_x)
        except (RuntimeError, InvalidInput) as exc:  # torch could not trace it: stay eager
            log.warning("model %s: tracing failed, deciding with the eager forward: %s",
                        self.source, exc)  # fmt: skip
            return False

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> ModelStrategy:
        """The model, its normalization and its window sizes from a ``gradtrade train`` file."""
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
        )

    def add_funding(self, funding: pd.DataFrame) -> None:
        """Register funding events (``date``, ``rate``) before the bars they fall in."""
        self.transformer.add_funding(funding)

    def observe(self, bar: Bar) -> bool:
        """Feed one closed bar; True when a full warmed-up window ends at it."""
        frame = self.transformer.update(
            {
                "date": pd.Timestamp(bar.open_time_ns, unit="ns", tz="UTC"),
                "open": bar.open,
                "high": bar.high,
                "low": bar.low,
                "close": bar.close,
                "volume": bar.volume,
            }
        )
        states = self.transformer.normalize(frame)
        for t, row in zip(frame.times_ns, states, strict=True):
            if not np.isfinite(row).all():  # before warm-up: a window must not include it
                self._rows.clear()
                self._times.clear()
                continue
            self._rows.append(row)
            self._times.append(int(t))
        return len(self._rows) == self.context and self._times[-1] == bar.close_time_ns

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        if not self.observe(bar):
            return None
        times = np.fromiter(self._times, dtype=np.int64)
        # inference mode: no autograd bookkeeping at all (predict_windows only turns gradients
        # off); the same kernels on the same inputs, so the same floats, ~15% less time
        with torch.inference_mode():
            x = torch.from_numpy(np.stack(self._rows)).unsqueeze(0)
            t_x = torch.from_numpy(((times - times[-1]) / NS_PER_HOUR).astype(np.float32))
            t_x = t_x.unsqueeze(0)
            if self._traced is None:
                self._traced = self.model.traceable and self._trace(x, t_x)
            pred = (
                self._traced(x, self._t_y, t_x)
                if self._traced
                else predict_windows(self.model, x, self._t_y, t_x)
            )
        return Decision(
            bar.symbol,
            bar.ts_ns,
            float(pred.position[0]),
            mean=float(pred.mean[0]),
            var=float(pred.var[0]),
            source=self.source,
        )


__all__ = ["ModelStrategy"]
