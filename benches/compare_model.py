"""Model benchmarks: full-history training to early stopping, cost split, live decision latency.

``run(data_dir, quick)`` trains the default config (configs/btc_1h.yaml) on the whole BTC 1h
history, Neural ODE and GRU baseline, then times one training step split into encoder, ODE
forward (everything after the encoder) and backward, the same step with the adaptive dopri5
solver, and one live decision (window in; X_hat, sigma^2, u_t out) on one thread.

    python benches/compare.py model
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gradtrade.data.market import time_splits
from gradtrade.optim.config import TrainConfig, load_config
from gradtrade.optim.loss import Objective
from gradtrade.optim.run import market_for, scaled_model, train

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parent / "configs" / "btc_1h.yaml"


def _config(data_dir: Path, kind: str, quick: bool, out: Path) -> TrainConfig:
    cfg = load_config(CONFIG)
    raw: dict[str, Any] = cfg.model_dump()
    raw["data"]["path"] = str(data_dir / "klines/spot/BTC_USDT-1h.feather")
    raw["model"]["kind"] = kind
    raw["run"].update(out_dir=str(out / kind), progress=False, tensorboard=False)
    if quick:
        raw["optim"].update(epochs=1, max_batches_per_epoch=20)
    return TrainConfig.model_validate(raw)


def _train_row(cfg: TrainConfig) -> dict[str, Any]:
    t0 = time.perf_counter()
    outcome = train(cfg)
    wall = time.perf_counter() - t0
    hist = outcome.fit.history
    return {
        "wall_s": wall,
        "epochs": outcome.fit.epochs_run,
        "best_epoch": outcome.fit.best_epoch,
        "reason": outcome.fit.stopped_reason,
        "samples_per_s": statistics.median(h["samples_per_s"] for h in hist),
        "nfe": hist[-1]["nfe"],
        "n_state": outcome.market.n_features,
        "train_samples": len(time_splits(len(outcome.market), context=cfg.data.context,
                                         horizon=cfg.data.horizon).train),
    }  # fmt: skip


def _step_split(cfg: TrainConfig, reps: int) -> dict[str, float]:
    """Median ms per batch of 256 real windows: encoder, rest of forward + loss, backward."""
    market = market_for(cfg)
    d = cfg.data
    rows = int(len(market) * d.train)
    market.normalize(rows)
    ds = market.dataset(
        time_splits(len(market), context=d.context, horizon=d.horizon).train[1000:1256],
        context=d.context, horizon=d.horizon,
    )  # fmt: skip
    batch = ds[np.arange(256)]
    model = scaled_model(cfg, market, 0, rows)
    obj = Objective(model, cfg.loss, 64)
    enc, fwd, bwd = [], [], []
    for _ in range(reps + 2):
        t0 = time.perf_counter()
        model.encoder(batch["x"], batch["t_x"])
        t1 = time.perf_counter()
        loss = obj.parts(batch, obj(batch)).loss
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        enc.append(t1 - t0)
        fwd.append(t2 - t1)
        bwd.append(t3 - t2)
    med = {k: statistics.median(v[2:]) * 1e3 for k, v in (("enc", enc), ("fwd", fwd), ("bwd", bwd))}
    # fwd includes a second encoder pass; the ODE/decoder share is what remains after it
    return {
        "encoder": med["enc"],
        "evolve": max(med["fwd"] - med["enc"], 0.0),
        "backward": med["bwd"],
    }


def _decision_ms(cfg: TrainConfig, n: int, n_state: int) -> tuple[float, float]:
    # Built exactly as training builds it (scales and, for the residual variance head, the
    # baseline column come from the market's training rows), then timed on one window.
    market = market_for(cfg)
    rows = int(len(market) * cfg.data.train)
    market.normalize(rows)
    model = scaled_model(cfg, market, 0, rows).eval()
    assert market.n_features == n_state
    window = torch.randn(1, cfg.data.context, n_state)
    t_x = torch.arange(1 - cfg.data.context, 1.0)
    for _ in range(50):
        model.decide(window, t_x)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        model.decide(window, t_x)
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times) * 1e3, times[int(0.99 * (n - 1))] * 1e3


def run(data_dir: Path, quick: bool) -> str:
    torch.set_num_threads(1)
    reps, n_dec = (3, 300) if quick else (15, 3000)
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("ode", "gru"):
            cfg = _config(data_dir, kind, quick, Path(tmp))
            rows[kind] = _train_row(cfg)
            rows[kind].update(_step_split(cfg, reps))
            n_state = rows[kind]["n_state"]
            rows[kind]["decide_ms"], rows[kind]["decide_p99_ms"] = _decision_ms(cfg, n_dec, n_state)
        dopri = _config(data_dir, "ode", quick, Path(tmp)).model_dump()
        dopri["model"]["solver"]["method"] = "dopri5"
        dopri_split = _step_split(TrainConfig.model_validate(dopri), max(2, reps // 3))
    lines = [
        "Default config `configs/btc_1h.yaml` (context 32, horizon 4, batch 256), "
        "spot BTC/USDT 1h, "
        f"{rows['ode']['train_samples']} training windows; torch on 1 thread (the 2 shared cores "
        "run other jobs; 2 threads measured slower under that load)."
        + (" QUICK run: 1 short epoch, not a result." if quick else ""),
        "",
        "| model | train wall (to early stop) | epochs (best) | samples/s | NFE/batch "
        "| encoder ms | ODE/decoder fwd ms | backward ms | live decision median / p99 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = {"ode": "Neural ODE (rk4, step 0.5)", "gru": "GRU baseline"}
    for kind, r in rows.items():
        lines.append(
            f"| {names[kind]} | {r['wall_s']:.0f} s | {r['epochs']} ({r['best_epoch']}) "
            f"| {r['samples_per_s']:.0f} | {r['nfe']:.0f} | {r['encoder']:.1f} | {r['evolve']:.1f} "
            f"| {r['backward']:.1f} | {r['decide_ms']:.2f} / {r['decide_p99_ms']:.2f} ms |"
        )
    ode = rows["ode"]
    ratio = (dopri_split["evolve"] + dopri_split["backward"]) / (ode["evolve"] + ode["backward"])
    lines += [
        "",
        f"Targets: training to early stopping < 600 s: Neural ODE {ode['wall_s']:.0f} s "
        f"({'met' if ode['wall_s'] < 600 else 'NOT met'}); live decision < 2 ms: "
        f"{ode['decide_ms']:.2f} ms median ({'met' if ode['decide_ms'] < 2 else 'NOT met'}). "
        f"Stop reasons: ODE '{ode['reason']}', GRU '{rows['gru']['reason']}'.",
        f"Adaptive dopri5 instead of rk4 (same model, one batch): ODE forward "
        f"{dopri_split['evolve']:.1f} ms vs {ode['evolve']:.1f} ms, backward "
        f"{dopri_split['backward']:.1f} ms vs {ode['backward']:.1f} ms "
        f"({ratio:.1f}x the rk4 cost).",
    ]
    return "\n".join(lines) + "\n"
