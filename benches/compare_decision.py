"""Live decision forward: eager torch, traced torch and the native Rust forward, on one window.

``run(data_dir, quick)`` builds the default config's model (configs/btc_1h.yaml: context 32,
its heads and prior, scales and variance baseline from the real BTC 1h training rows, as
training builds it) for the Neural ODE and the GRU baseline, takes one real window, and times
one decision forward the way ``ModelStrategy.on_bar`` calls each path (eager
``predict_windows`` and ``TracedPredictor`` on tensors under inference mode,
``NativePredictor.predict`` on the float64 rows): cold, each call after a 100 ms sleep (as live,
one bar per interval: caches and branch predictors cold), and hot, back to back. Weights are
at initialization: the cost does not depend on their values. One torch thread.

    python benches/compare.py decision --no-write
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gradtrade.data.market import time_splits
from gradtrade.optim.config import TrainConfig, load_config
from gradtrade.optim.native import NativePredictor
from gradtrade.optim.predict import TracedPredictor, as_predictor, predict_windows
from gradtrade.optim.run import market_for, scaled_model

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parent / "configs" / "btc_1h.yaml"
PATHS = ("eager", "traced", "native")


def _config(data_dir: Path, kind: str) -> TrainConfig:
    raw: dict[str, Any] = load_config(CONFIG).model_dump()
    raw["data"]["path"] = str(data_dir / "klines/spot/BTC_USDT-1h.feather")
    raw["model"]["kind"] = kind
    return TrainConfig.model_validate(raw)


def _deciders(cfg: TrainConfig) -> dict[str, Callable[[], object]]:
    """One zero-argument call per path, each deciding the same real test window."""
    market = market_for(cfg)
    d = cfg.data
    rows = int(len(market) * d.train)
    market.normalize(rows)
    model = as_predictor(scaled_model(cfg, market, 0, rows))
    splits = time_splits(len(market), train=d.train, val=d.val, context=d.context,
                         horizon=d.horizon)  # fmt: skip
    ds = market.dataset(splits.test[:1], context=d.context, horizon=d.horizon)
    b = ds[np.array([0])]
    x, t_x, t_y = b["x"], b["t_x"], b["t_y"][:, :1]
    x_np, t_x_np, t_y_hours = x[0].double().numpy(), t_x[0].double().numpy(), float(t_y[0, 0])
    traced = TracedPredictor(model, x, t_y, t_x)
    native = NativePredictor(model, (x, t_y, t_x))

    def eager_call() -> object:
        with torch.inference_mode():
            return predict_windows(model, x, t_y, t_x)

    def traced_call() -> object:
        with torch.inference_mode():
            return traced(x, t_y, t_x)

    def native_call() -> object:
        return native.predict(x_np, t_y_hours, t_x_np)

    return {"eager": eager_call, "traced": traced_call, "native": native_call}


def _time(call: Callable[[], object], n: int, pause_s: float) -> list[float]:
    for _ in range(20):
        call()
    out = []
    for _ in range(n):
        if pause_s:
            time.sleep(pause_s)
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1e3)
    return sorted(out)


def run(data_dir: Path, quick: bool) -> str:
    torch.set_num_threads(1)
    n_cold, n_hot = (20, 200) if quick else (100, 2000)
    lines = [
        "One decision forward (window in; X_hat, return mean and variance, u_t out) of the "
        "default config `configs/btc_1h.yaml` (context 32), called as `ModelStrategy.on_bar` "
        f"calls each path, torch on 1 thread. Cold: each of {n_cold} calls after a 100 ms sleep "
        f"(as live); hot: {n_hot} calls back to back. Milliseconds."
        + (" QUICK run: few repetitions." if quick else ""),
        "",
        "| model | path | cold median | cold max | hot median | hot p99 | cold speedup vs traced |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {"ode": "Neural ODE (rk4, step 0.5)", "gru": "GRU baseline"}
    for kind in ("ode", "gru"):
        deciders = _deciders(_config(data_dir, kind))
        cold = {p: _time(deciders[p], n_cold, 0.1) for p in PATHS}
        hot = {p: _time(deciders[p], n_hot, 0.0) for p in PATHS}
        traced_cold = statistics.median(cold["traced"])
        for p in PATHS:
            c, h = cold[p], hot[p]
            lines.append(
                f"| {names[kind]} | {p} | {statistics.median(c):.3f} | {c[-1]:.3f} "
                f"| {statistics.median(h):.3f} | {h[int(0.99 * (len(h) - 1))]:.3f} "
                f"| {traced_cold / statistics.median(c):.1f}x |"
            )
    return "\n".join(lines) + "\n"
