"""``NativePredictor`` (the Rust first-step forward) computes what the eager ``predict_windows``
computes, to ``TOLERANCE`` = 1e-12 of max(1, |value|) for every output (absolute up to
magnitude 1, relative beyond): random models of both kinds, every fixed-grid solver, both
variance heads and policy priors, random sizes, on random irregular windows; and a model trained
by the package's own pipeline on real BTC candles. Models it does not compute, bad weights and
bad shapes are refused with errors naming the problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gradtrade.core import NativeModel, NativeModelConfig
from gradtrade.data.market import time_splits
from gradtrade.errors import InvalidInput
from gradtrade.model import DynamicalSystem, RecurrentBaseline, SolverOptions
from gradtrade.model.base import ForecastModel
from gradtrade.optim.checkpoint import load_checkpoint
from gradtrade.optim.config import parse_config
from gradtrade.optim.native import (
    TOLERANCE,
    NativePredictor,
    native_config,
    native_weights,
)
from gradtrade.optim.predict import WindowPrediction, as_predictor, predict_windows
from gradtrade.optim.run import market_for, train

Window = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def worst(want: WindowPrediction, got: WindowPrediction) -> float:
    """The largest |native - eager| / max(1, |eager|) over all outputs (shapes must agree)."""
    out = 0.0
    for name in ("x_hat", "mean", "var", "position"):
        a, b = getattr(want, name), getattr(got, name)
        assert a.shape == b.shape, (name, a.shape, b.shape)
        out = max(out, float(np.max(np.abs(b - a) / np.maximum(1.0, np.abs(a)))))
    return out


def random_window(rng: np.random.Generator, n_state: int, context: int, t_y: float) -> Window:
    """Random rows at irregular times ending at 0 (outages, and repeated times: gap 0)."""
    gaps = rng.choice([1.0, 1.0, 1.0, 2.0, 5.0, 0.5, 0.0], size=context - 1)
    t_x = np.concatenate([[0.0], np.cumsum(gaps)])
    x = rng.normal(size=(1, context, n_state)) * 3
    return (
        torch.from_numpy(x),
        torch.tensor([[t_y]], dtype=torch.float64),
        torch.from_numpy(t_x - t_x[-1])[None, :],
    )


@st.composite
def models(draw: st.DrawFn) -> ForecastModel:
    n_state = draw(st.integers(1, 6))
    sizes = {
        "latent": draw(st.integers(1, 12)),
        "hidden": draw(st.integers(1, 24)),
        "policy_hidden": draw(st.integers(1, 12)),
        "var_floor": draw(st.sampled_from([1e-3, 1e-4, 0.05])),
        "variance_head": draw(st.sampled_from(["free", "residual"])),
        "policy_prior": draw(st.sampled_from(["none", "vol_target"])),
        "policy_tilt": draw(st.floats(0.0, 2.0)),
    }
    torch.manual_seed(draw(st.integers(0, 2**31 - 1)))
    model: ForecastModel
    if draw(st.sampled_from(["ode", "gru"])) == "ode":
        solver = SolverOptions(
            method=draw(st.sampled_from(["euler", "midpoint", "rk4"])),
            step_size=draw(st.sampled_from([1.0, 0.5, 1 / 3, 0.3, 0.25, 0.1])),
        )
        field_hidden = draw(st.integers(1, 24))
        model = DynamicalSystem(n_state, field_hidden=field_hidden, solver=solver, **sizes)
    else:
        model = RecurrentBaseline(n_state, **sizes)
    model.set_scales(draw(st.floats(1e-3, 0.1)), draw(st.floats(1e-3, 0.05)))
    if sizes["variance_head"] == "residual":
        # center > 0 mostly: a positive baseline, sometimes below the floor (the clamp)
        center = draw(st.floats(-1e-4, 1e-3))
        model.set_variance_baseline(draw(st.integers(0, n_state - 1)), center, 1e-4)
    with torch.no_grad():  # off the priors' zero initialization, so every path matters
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return as_predictor(model)


@settings(max_examples=80, deadline=None)
@given(
    model=models(),
    context=st.integers(1, 40),
    t_y=st.sampled_from([1.0, 0.25, 4.0, 1 / 3]),
    seed=st.integers(0, 2**31 - 1),
)
def test_native_equals_eager_on_random_models_and_windows(
    model: ForecastModel, context: int, t_y: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    native = NativePredictor(model, random_window(rng, model.n_state, context, t_y))
    for _ in range(3):
        w = random_window(rng, model.n_state, context, t_y)
        want, got = predict_windows(model, *w), native(*w)
        assert worst(want, got) <= TOLERANCE, (want, got)


@pytest.mark.parametrize("kind", ["ode", "gru"])
def test_native_equals_eager_on_a_trained_model(
    kind: str, tiny_raw: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    """The package's own training (the production heads: residual variance, vol-target prior)
    on real BTC 1h candles, then every test-split window of its checkpoint."""
    torch.set_num_threads(1)
    model_cfg = {"kind": kind, "variance_head": "residual", "policy_prior": "vol_target"}
    cfg = parse_config(tiny_raw(tmp_path / "run", model=model_cfg))
    outcome = train(cfg, tmp_path / "run")
    assert outcome.checkpoint is not None
    ck = load_checkpoint(outcome.checkpoint)
    model = as_predictor(ck.model)
    market = market_for(ck.config)
    market.apply_stats(ck.normalization)
    d = ck.config.data
    splits = time_splits(len(market), train=d.train, val=d.val, context=d.context,
                         horizon=d.horizon)  # fmt: skip
    ds = market.dataset(splits.test, context=d.context, horizon=d.horizon)
    native = NativePredictor(model)
    positions = []
    for i in range(len(ds)):
        b = ds[np.array([i])]
        w = (b["x"], b["t_y"][:, :1], b["t_x"])
        want, got = predict_windows(model, *w), native(*w)
        assert worst(want, got) <= TOLERANCE, (i, want, got)
        positions.append(got.position[0])
    assert len(positions) > 100 and np.std(positions) > 1e-4, "a constant policy proves little"


def small_model(kind: str = "ode") -> ForecastModel:
    torch.manual_seed(0)
    if kind == "gru":
        return as_predictor(RecurrentBaseline(3, latent=4, hidden=5, policy_hidden=3))
    return as_predictor(DynamicalSystem(3, latent=4, hidden=5, field_hidden=6, policy_hidden=3))


def test_an_adaptive_solver_is_refused() -> None:
    model = as_predictor(DynamicalSystem(3, latent=4, solver=SolverOptions("dopri5")))
    with pytest.raises(InvalidInput, match=r"dopri5.*not supported"):
        NativePredictor(model)


def test_another_model_class_is_refused() -> None:
    class Tweaked(RecurrentBaseline):
        pass

    with pytest.raises(InvalidInput, match="not Tweaked"):
        NativePredictor(as_predictor(Tweaked(3, latent=4)))


def test_a_model_computing_something_else_fails_the_self_check() -> None:
    """Same class, same state dict, other math (a ReLU in the policy): refused when built."""
    model = small_model()
    with torch.no_grad():
        for p in model.policy.parameters():
            p.add_(0.5)
    model.policy.net[1] = nn.ReLU()
    with pytest.raises(InvalidInput, match="does not reproduce the eager one: position"):
        NativePredictor(model)


def test_a_model_not_from_as_predictor_is_refused() -> None:
    with pytest.raises(InvalidInput, match="as_predictor"):
        NativePredictor(DynamicalSystem(3, latent=4).double())  # training mode


@pytest.mark.parametrize("kind", ["ode", "gru"])
def test_bad_weights_are_refused_naming_the_parameter(kind: str) -> None:
    model = small_model(kind)
    config, weights = native_config(model), native_weights(model)
    NativeModel(config, weights)  # the real ones build

    def refused(change: Callable[[dict[str, Any]], None], match: str) -> None:
        w: dict[str, Any] = dict(weights)
        change(w)
        with pytest.raises(InvalidInput, match=match):
            NativeModel(config, w)

    refused(lambda w: w.pop("encoder.out.bias"), "missing parameter encoder.out.bias")
    refused(lambda w: w.update({"heads.linear.weight": np.zeros((8, 5))}),
            r"heads.linear.weight must have shape \[8, 4\], got \[8, 5\]")  # fmt: skip
    nan = weights["policy.net.0.weight"].copy()
    nan[1, 2] = np.nan
    refused(lambda w: w.update({"policy.net.0.weight": nan}), "policy.net.0.weight is not finite")
    refused(lambda w: w.update({"policy.vol_target": np.array([0.01])}),
            r"policy.vol_target must have shape \[\]")  # fmt: skip
    refused(lambda w: w.update({"extra.bias": np.zeros(2)}), r"unexpected parameters.*extra.bias")
    listed = weights["encoder.out.weight"].tolist()
    refused(lambda w: w.update({"encoder.out.weight": listed}),
            "encoder.out.weight must be a float64 NumPy array")  # fmt: skip
    f32 = weights["encoder.out.weight"].astype(np.float32)
    refused(lambda w: w.update({"encoder.out.weight": f32}), "float64 NumPy array")


def test_bad_configs_are_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown model kind"):
        NativeModelConfig(n_state=3, kind="lstm")
    with pytest.raises(InvalidInput, match="step_size"):
        NativeModelConfig(n_state=3, kind="ode", step_size=0.0)
    with pytest.raises(InvalidInput, match="baseline column"):
        NativeModelConfig(n_state=3, kind="gru", variance_head="residual")
    with pytest.raises(InvalidInput, match="baseline column 3"):
        NativeModelConfig(n_state=3, kind="gru", variance_head="residual", baseline_column=3)
    with pytest.raises(InvalidInput, match="tilt"):
        NativeModelConfig(n_state=3, kind="gru", policy_prior="vol_target", policy_tilt=3.0)
    cfg = NativeModelConfig(n_state=3, kind="gru", variance_head="residual", baseline_column=1)
    assert (cfg.kind, cfg.method, cfg.baseline_column, cfg.policy_tilt) == ("gru", None, 1, None)


def test_bad_windows_are_refused() -> None:
    model = small_model()
    native = NativePredictor(model)
    x, t_y, t_x = random_window(np.random.default_rng(0), 3, 8, 1.0)
    with pytest.raises(InvalidInput, match="one window"):
        native(x.expand(2, -1, -1), t_y, t_x)
    with pytest.raises(InvalidInput, match="one window"):
        native(x, torch.tensor([[1.0, 2.0]]), t_x)
    with pytest.raises(InvalidInput, match="one window"):
        native(x[:, :, :2], t_y, t_x)
    with pytest.raises(InvalidInput, match="positive"):
        native(x, -t_y, t_x)
    bad = x.clone()
    bad[0, 3, 1] = float("nan")
    with pytest.raises(InvalidInput, match="NaN"):
        native(bad, t_y, t_x)
    raw = NativeModel(native_config(model), native_weights(model))
    with pytest.raises(InvalidInput, match=r"x must have shape \(rows, 3\)"):
        raw.forward(np.zeros((8, 2)), np.zeros(8), 1.0)
    with pytest.raises(InvalidInput, match=r"t_x must have shape \(8,\)"):
        raw.forward(np.zeros((8, 3)), np.zeros(7), 1.0)
    # a refused window leaves the model deciding as before
    assert worst(predict_windows(model, x, t_y, t_x), native(x, t_y, t_x)) <= TOLERANCE
