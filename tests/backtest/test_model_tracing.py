"""``ModelStrategy``'s decision paths (native -> traced -> eager): it decides with the native
forward when it can, with the traced forward when the native one is not preferred or refused,
with the eager ``predict_windows`` when tracing fails or the model is not traceable; the same
decisions on every path (bit-identical traced/eager, 1e-12 native), logged once at INFO (the
trained fixtures of this package, both model kinds, on the real BTC 1h bars they were trained
on)."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow.feather as feather
import pytest
import torch
from torch import nn

from gradtrade.events import Bar, Decision
from gradtrade.model import DynamicalSystem, SolverOptions
from gradtrade.optim.config import TrainConfig
from gradtrade.optim.native import TOLERANCE
from gradtrade.strategy.model import DecisionPath, ModelStrategy

NS_PER_HOUR = 3_600_000_000_000


def bars(cfg: TrainConfig, n: int) -> list[Bar]:
    frame = feather.read_table(cfg.data.path).to_pandas()
    frame = frame[frame["date"] >= cfg.data.start].iloc[:n]
    return [
        Bar("BTCUSDT", r.date.value, r.date.value + NS_PER_HOUR, float(r.open), float(r.high),
            float(r.low), float(r.close), float(r.volume))
        for r in frame.itertuples()
    ]  # fmt: skip


def decide(strategy: ModelStrategy, bar: Bar) -> Decision | None:
    return strategy.on_bar(bar, None)  # type: ignore[arg-type]


def test_a_model_whose_tracing_fails_decides_eagerly_and_alike(
    trained: tuple[TrainConfig, Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg, checkpoint = trained

    def refuse(*args: object, **kwargs: object) -> object:
        raise RuntimeError("tracing refused")

    eager = ModelStrategy.from_checkpoint(checkpoint, prefer=DecisionPath.TRACED)
    traced = ModelStrategy.from_checkpoint(checkpoint, prefer=DecisionPath.TRACED)
    decided = 0
    with caplog.at_level(logging.INFO, logger="gradtrade.strategy.model"):
        for bar in bars(cfg, 120):
            with monkeypatch.context() as m:
                m.setattr(torch.jit, "trace", refuse)
                a = decide(eager, bar)
            b = decide(traced, bar)
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                assert (a.u_raw, a.mean, a.var) == (b.u_raw, b.mean, b.var)
                decided += 1
    assert decided > 50 and traced.traced and not eager.traced
    assert (traced.path, eager.path) == (DecisionPath.TRACED, DecisionPath.EAGER)
    assert "tracing failed" in caplog.text
    assert caplog.text.count("decides with the traced forward") == 1
    assert caplog.text.count("decides with the eager forward") == 1


def test_the_native_forward_decides_as_the_eager_one(
    trained: tuple[TrainConfig, Path], caplog: pytest.LogCaptureFixture
) -> None:
    cfg, checkpoint = trained
    native = ModelStrategy.from_checkpoint(checkpoint)
    eager = ModelStrategy.from_checkpoint(checkpoint, prefer=DecisionPath.EAGER)
    assert native.path is None  # chosen at the first decision
    decided = 0
    with caplog.at_level(logging.INFO, logger="gradtrade.strategy.model"):
        for bar in bars(cfg, 120):
            a, b = decide(eager, bar), decide(native, bar)
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                for want, got in ((a.u_raw, b.u_raw), (a.mean, b.mean), (a.var, b.var)):
                    assert abs(got - want) <= TOLERANCE * max(1.0, abs(want)), (want, got)
                decided += 1
    assert decided > 50
    assert (native.path, eager.path) == (DecisionPath.NATIVE, DecisionPath.EAGER)
    assert not native.traced
    assert caplog.text.count("decides with the native forward") == 1


def test_an_adaptive_solver_falls_through_to_the_eager_forward(
    trained: tuple[TrainConfig, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """dopri5: no native forward (refused), not traceable, so eager."""
    cfg, checkpoint = trained
    strategy = ModelStrategy.from_checkpoint(checkpoint)
    if not isinstance(strategy.model, DynamicalSystem):
        strategy.model = DynamicalSystem(strategy.model.n_state, latent=4).double().eval()
    strategy.model.solver = SolverOptions("dopri5")
    with caplog.at_level(logging.INFO, logger="gradtrade.strategy.model"):
        decisions = [decide(strategy, bar) for bar in bars(cfg, 60)]
    assert any(d is not None for d in decisions)
    assert strategy.path is DecisionPath.EAGER
    assert "no native forward" in caplog.text and "dopri5" in caplog.text


def test_a_model_the_native_forward_does_not_reproduce_is_traced_with_a_warning(
    trained: tuple[TrainConfig, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """Same class and state dict, other math (a ReLU in the policy): the native forward's own
    check refuses it, the traced one decides, and the refusal of a traceable model warns."""
    cfg, checkpoint = trained
    strategy = ModelStrategy.from_checkpoint(checkpoint)
    with torch.no_grad():
        for p in strategy.model.policy.parameters():
            p.add_(0.5)
    strategy.model.policy.net[1] = nn.ReLU()
    with caplog.at_level(logging.INFO, logger="gradtrade.strategy.model"):
        decisions = [decide(strategy, bar) for bar in bars(cfg, 60)]
    assert any(d is not None for d in decisions)
    assert strategy.path is DecisionPath.TRACED
    refused = [r for r in caplog.records if "no native forward" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.WARNING
    assert "does not reproduce the eager one" in refused[0].getMessage()
