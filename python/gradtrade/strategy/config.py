"""``StrategySection``: which strategy decides (strict YAML section shared by the backtest and
the live trader): a checkpoint of ``gradtrade train`` (``kind: model``) or a reference strategy
with its parameters (``kind: ma_cross``, the ``MovingAverageCross`` keyword arguments;
``kind: quote_at_best``, ``QuoteAtBest``'s: it decides on the L2 book only).
Unknown keys are errors; every error names the dotted field."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gradtrade.config import StrictModel


class StrategySection(StrictModel):
    kind: Literal["model", "ma_cross", "quote_at_best"] = "model"
    checkpoint: str | None = None
    params: dict[str, float | int | bool] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _checkpoint(self) -> StrategySection:
        if self.kind == "model" and not self.checkpoint:
            raise ValueError("strategy.kind 'model' needs strategy.checkpoint")
        return self


__all__ = ["StrategySection"]
