"""The synthetic market's documented properties, measured on its own output."""

from __future__ import annotations

import numpy as np
from scipy import stats

from gradtrade.local_exchange.synthetic import SyntheticModel


def run(seed: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    model = SyntheticModel(seed, "spot:BTCUSDT", 60_000.0, 0.01, 0.00001)
    returns, flow = np.empty(steps), np.empty(steps)
    for i in range(steps):
        r, trades = model.advance()
        returns[i] = r
        flow[i] = sum(q if buy else -q for buy, q in trades)
    return returns, flow


def test_reproducible_by_seed() -> None:
    a, fa = run(3, 500)
    b, fb = run(3, 500)
    c, _ = run(4, 500)
    assert np.array_equal(a, b) and np.array_equal(fa, fb)
    assert not np.array_equal(a, c)


def test_fat_tails_clustering_and_informative_flow() -> None:
    r, flow = run(11, 20_000)
    assert stats.kurtosis(r) > 1.0  # excess kurtosis: fatter than Gaussian
    sq = r**2 - np.mean(r**2)
    acf = [np.dot(sq[:-k], sq[k:]) / np.dot(sq, sq) for k in (1, 2, 5)]
    assert min(acf) > 0.03  # volatility clustering
    # signed flow of a step predicts the price move that follows it, and the next step's too
    assert np.corrcoef(flow, r)[0, 1] > 0.05
    assert np.corrcoef(flow[:-1], r[1:])[0, 1] > 0.03


def test_spread_and_depth_move_with_volatility() -> None:
    model = SyntheticModel(5, "spot:BTCUSDT", 60_000.0, 0.01, 0.00001)

    def touch(s2: float) -> tuple[float, float]:
        model.s2 = s2
        bids, asks = model.book()
        best_bid, best_ask = max(bids), min(asks)
        return best_ask - best_bid, float(np.mean(list(bids.values())[:5]))

    calm_spread, calm_depth = touch(model.p.sigma_bar**2 * 0.25)
    wild_spread, wild_depth = touch(model.p.sigma_bar**2 * 16)
    assert wild_spread > 2 * calm_spread
    assert wild_depth < calm_depth / 2
    bids, asks = model.book()
    assert max(bids) < min(asks)  # never crossed
