"""``ModelStrategy`` decides with the traced forward after its first decision, and with the eager
``predict_windows`` when tracing fails: the same decisions either way (the trained fixtures
of this package, both model kinds, on the real BTC 1h bars they were trained on)."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow.feather as feather
import pytest
import torch

from gradtrade.events import Bar
from gradtrade.optim.config import TrainConfig
from gradtrade.strategy.model import ModelStrategy

NS_PER_HOUR = 3_600_000_000_000


def bars(cfg: TrainConfig, n: int) -> list[Bar]:
    frame = feather.read_table(cfg.data.path).to_pandas()
    frame = frame[frame["date"] >= cfg.data.start].iloc[:n]
    return [
        Bar("BTCUSDT", r.date.value, r.date.value + NS_PER_HOUR, float(r.open), float(r.high),
            float(r.low), float(r.close), float(r.volume))
        for r in frame.itertuples()
    ]  # fmt: skip


def test_a_model_whose_tracing_fails_decides_eagerly_and_alike(
    trained: tuple[TrainConfig, Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg, checkpoint = trained

    def refuse(*args: object, **kwargs: object) -> object:
        raise RuntimeError("tracing refused")

    eager = ModelStrategy.from_checkpoint(checkpoint)
    traced = ModelStrategy.from_checkpoint(checkpoint)
    decided = 0
    with caplog.at_level(logging.WARNING, logger="gradtrade.strategy.model"):
        for bar in bars(cfg, 120):
            with monkeypatch.context() as m:
                m.setattr(torch.jit, "trace", refuse)
                a = eager.on_bar(bar, None)  # type: ignore[arg-type]
            b = traced.on_bar(bar, None)  # type: ignore[arg-type]
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                assert (a.u_raw, a.mean, a.var) == (b.u_raw, b.mean, b.var)
                decided += 1
    assert decided > 50 and traced.traced and not eager.traced
    assert "tracing failed" in caplog.text
