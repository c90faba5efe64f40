"""Honest evaluation: walk-forward out of sample, after costs, against baselines.

``walk_forward(config)`` trains on each past window and predicts the next period;
``score(oos, config)`` turns the concatenated out-of-sample series into the metrics dict;
``write_reports`` writes evaluation.json / .md / equity.png / oos.npz. The metric functions
live in ``gradtrade.evaluation.metrics`` and the baselines in ``gradtrade.evaluation.baselines``.
"""

from __future__ import annotations

from gradtrade.evaluation.report import markdown, score, write_reports
from gradtrade.evaluation.walkforward import OutOfSample, walk_forward

__all__ = ["OutOfSample", "markdown", "score", "walk_forward", "write_reports"]
