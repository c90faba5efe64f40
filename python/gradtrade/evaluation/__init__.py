"""Honest evaluation: walk-forward out of sample, after costs, against baselines."""
