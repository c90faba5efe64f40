"""KalmanFilter against filterpy (step for step) and statsmodels (likelihood, MLE), plus its
invariants: symmetric PSD covariance, NaN = predict only, exact save/restore."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.feather as feather
import pytest
from filterpy.kalman import KalmanFilter as FilterpyKF
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import multivariate_normal
from statsmodels.tsa.statespace.structural import UnobservedComponents

from gradtrade.core import InvalidInput, KalmanFilter, NumericalError

RTOL = 1e-9


def random_model(rng: np.random.Generator, n: int, m: int) -> dict[str, np.ndarray]:
    """A random model with a stable-ish F and well-conditioned noise."""
    f = rng.normal(size=(n, n))
    f *= 0.95 / max(1.0, np.max(np.abs(np.linalg.eigvals(f))))
    a, b, c = rng.normal(size=(n, n)), rng.normal(size=(m, m)), rng.normal(size=(n, n))
    return {
        "F": f,
        "H": rng.normal(size=(m, n)),
        "Q": a @ a.T * 0.1 + 1e-3 * np.eye(n),
        "R": b @ b.T * 0.5 + 0.1 * np.eye(m),
        "x0": rng.normal(size=n),
        "P0": c @ c.T + np.eye(n),
    }


def log_closes(data_dir: Path, name: str, n: int | None = None) -> np.ndarray:
    table = feather.read_table(data_dir / "klines" / "spot" / name, columns=["close"])
    closes = table.column("close").to_numpy()
    return np.log(closes if n is None else closes[:n])


@pytest.mark.parametrize("seed", range(12))
def test_matches_filterpy_step_for_step(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    model = random_model(rng, n, m)
    ours = KalmanFilter(**model)
    ref = FilterpyKF(dim_x=n, dim_z=m)
    ref.F, ref.H, ref.Q, ref.R = model["F"], model["H"], model["Q"], model["R"]
    ref.x, ref.P = model["x0"].reshape(n, 1).copy(), model["P0"].copy()
    loglik = 0.0
    for t in range(60):
        missing = t % 11 == 7
        z = np.full(m, np.nan) if missing else rng.normal(size=m) * 3
        state = ours.update(z if m > 1 else float(z[0]))
        ref.predict()
        if missing:
            ref.update(None)
            assert np.isnan(ours.innovation).all()
        else:
            ref.update(z.reshape(m, 1))
            assert_allclose(ours.innovation, ref.y.ravel(), rtol=RTOL, atol=1e-12)
            assert_allclose(ours.innovation_variance, ref.S, rtol=RTOL, atol=1e-12)
            loglik += multivariate_normal.logpdf(ref.y.ravel(), np.zeros(m), ref.S)
        assert_allclose(state, ref.x.ravel(), rtol=RTOL, atol=1e-12)
        assert_allclose(ours.P, ref.P, rtol=RTOL, atol=1e-12)
    assert ours.loglik == pytest.approx(loglik, rel=RTOL)


def statsmodels_local_level(y: np.ndarray, x0: float, p1: float) -> UnobservedComponents:
    """statsmodels' local level with a known initialization, set up to compute the same
    likelihood as ours: every observation counts (its default burns the first one) and no
    steady-state shortcut (by default it freezes P once it looks converged, which moves the
    likelihood by ~1e-6 relative)."""
    mod = UnobservedComponents(y, "llevel", loglikelihood_burn=0)
    mod.ssm.initialize_known(np.array([x0]), np.array([[p1]]))
    mod.ssm.tolerance = 0.0
    assert mod.param_names == ["sigma2.irregular", "sigma2.level"]
    return mod


def test_local_level_loglik_matches_statsmodels(data_dir: Path) -> None:
    """Known initialization on both sides. Timing: statsmodels' initial state is the PRIOR of the
    first observation, ours is the state BEFORE the first predict, so statsmodels gets
    ``a1 = x0`` and ``P1 = p0 + q`` (the local-level predict step)."""
    y = log_closes(data_dir, "BTC_USDT-1h.feather", 3000)
    for q, r in [(1e-5, 1e-6), (3e-5, 4e-4), (1e-4, 1e-8)]:
        x0, p0 = y[0] - 0.01, 2e-3
        kf = KalmanFilter.local_level(q, r, x0=x0, p0=p0)
        states, variances, loglik = kf.filter(y)
        mod = statsmodels_local_level(y, x0, p0 + q)
        assert loglik == pytest.approx(mod.loglike([r, q]), rel=RTOL)
        res = mod.filter([r, q])
        assert_allclose(states[:, 0], res.filtered_state[0], rtol=RTOL)
        assert_allclose(variances[:, 0], res.filtered_state_cov[0, 0], rtol=1e-7)


def test_fit_matches_statsmodels_mle(data_dir: Path) -> None:
    """Our Nelder-Mead optimum against statsmodels' own MLE of the same likelihood. A nearly
    diffuse p0 makes the P1 timing difference (p0 vs p0 + q) immaterial at the optimum."""
    y = log_closes(data_dir, "BTC_USDT-1h.feather", 2000)
    p0 = 1e-2
    fitted = KalmanFilter.local_level(1.0, 1.0, x0=y[0], p0=p0).fit(y)
    assert fitted.converged
    q_hat, r_hat = fitted.params["q"], fitted.params["r"]
    mod = statsmodels_local_level(y, y[0], p0 + q_hat)
    assert mod.loglike([r_hat, q_hat]) == pytest.approx(fitted.loglik, rel=RTOL)
    res = mod.fit(start_params=[1e-5, 1e-5], disp=False, maxiter=500)
    # Ours is at least as good as statsmodels' L-BFGS optimum and essentially the same point.
    assert res.llf - 1e-6 <= fitted.loglik <= res.llf + 1e-3
    assert r_hat == pytest.approx(res.params[0], rel=1e-2)
    assert q_hat == pytest.approx(res.params[1], rel=1e-2)
    assert fitted.filter.filter(y)[2] == pytest.approx(fitted.loglik, rel=1e-12)


def test_fit_recovers_simulated_variances() -> None:
    rng = np.random.default_rng(3)
    q, r = 2e-4, 5e-4
    level = 5.0 + np.cumsum(rng.normal(scale=np.sqrt(q), size=5000))
    zs = level + rng.normal(scale=np.sqrt(r), size=level.size)
    zs[5::97] = np.nan  # missing observations are skipped, not fatal
    fitted = KalmanFilter.local_level(1.0, 1.0, x0=zs[0], p0=1.0).fit(zs)
    assert fitted.params["q"] == pytest.approx(q, rel=0.3)
    assert fitted.params["r"] == pytest.approx(r, rel=0.15)

    q_level, q_trend, r = 1e-4, 1e-7, 4e-4
    trend = np.cumsum(rng.normal(scale=np.sqrt(q_trend), size=5000))
    level = 3.0 + np.cumsum(trend + rng.normal(scale=np.sqrt(q_level), size=5000))
    zs = level + rng.normal(scale=np.sqrt(r), size=level.size)
    start = KalmanFilter.local_linear_trend(1.0, 1.0, 1.0, x0=(zs[0], 0.0), p0=1.0)
    fitted = start.fit(zs)
    truth = KalmanFilter.local_linear_trend(q_level, q_trend, r, x0=(zs[0], 0.0), p0=1.0)
    assert fitted.loglik >= truth.filter(zs)[2] - 1e-6
    assert fitted.params["q_level"] == pytest.approx(q_level, rel=0.4)
    assert fitted.params["r"] == pytest.approx(r, rel=0.2)
    assert 0 < fitted.params["q_trend"] < 1e-5


def test_fit_refuses_general_models() -> None:
    kf = KalmanFilter(np.eye(1), np.eye(1), np.eye(1), np.eye(1), np.zeros(1), np.eye(1))
    with pytest.raises(InvalidInput, match="local_level"):
        kf.fit(np.arange(50.0))


def test_nan_observation_predicts_only() -> None:
    kf = KalmanFilter.local_linear_trend(1e-3, 1e-5, 1e-2, x0=(1.0, 0.1), p0=1.0)
    kf.update(1.2)
    x, p = kf.x, kf.P
    loglik = kf.loglik
    state = kf.update(float("nan"))
    f = np.array([[1.0, 1.0], [0.0, 1.0]])
    assert_allclose(state, f @ x, rtol=1e-15)
    assert_allclose(kf.P, f @ p @ f.T + np.diag([1e-3, 1e-5]), rtol=1e-15)
    assert np.isnan(kf.innovation).all() and np.isnan(kf.innovation_variance).all()
    assert kf.loglik == loglik


def test_save_restore_continues_identically(data_dir: Path) -> None:
    zs = log_closes(data_dir, "BTC_USDT-1h.feather", 4000)
    zs[1234] = np.nan
    a = KalmanFilter.local_linear_trend(1e-6, 1e-8, 1e-5, x0=(zs[0], 0.0), p0=1e-3)
    a.filter(zs[:2000])
    saved = a.to_json()
    json.loads(saved)  # plain JSON
    b = KalmanFilter.from_json(saved)
    assert_array_equal(b.x, a.x)
    assert_array_equal(b.P, a.P)
    sa, va, la = a.filter(zs[2000:])
    sb, vb, lb = b.filter(zs[2000:])
    assert_array_equal(sa, sb)
    assert_array_equal(va, vb)
    assert la == lb and a.loglik == b.loglik


def test_filter_equals_update_loop_and_continues_state(data_dir: Path) -> None:
    zs = log_closes(data_dir, "BTC_USDT-1h.feather", 5000)
    zs[[10, 11, 4000]] = np.nan
    batch = KalmanFilter.local_linear_trend(1e-6, 1e-8, 1e-5, x0=(zs[0], 0.0), p0=1e-3)
    stream = KalmanFilter.from_json(batch.to_json())
    states, _, loglik = batch.filter(zs[:3000])
    s2, v2, l2 = batch.filter(zs[3000:])  # long enough to release the GIL
    looped = np.array([stream.update(float(z)) for z in zs])
    assert_array_equal(np.vstack([states, s2]), looped)
    assert_array_equal(v2[-1], np.diag(stream.P))
    assert loglik + l2 == pytest.approx(stream.loglik, rel=1e-12)
    assert batch.loglik == stream.loglik


def test_multivariate_observations_through_filter() -> None:
    rng = np.random.default_rng(5)
    model = random_model(rng, 3, 2)
    zs = rng.normal(size=(500, 2))
    zs[17] = np.nan
    a, b = KalmanFilter(**model), KalmanFilter(**model)
    states, _, _ = a.filter(zs)
    assert states.shape == (500, 3)
    assert_array_equal(states, np.array([b.update(z) for z in zs]))
    with pytest.raises(InvalidInput, match=r"shape \(n,\) or \(n, 2\)"):
        a.filter(np.zeros((5, 3)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"Q": np.array([[1.0, 0.5], [0.0, 1.0]])}, "Q must be symmetric"),
        ({"R": np.array([[0.0]])}, "R must be positive definite"),
        ({"P0": np.array([[1.0, 2.0], [2.0, 1.0]])}, "P0 must be positive semi-definite"),
        ({"F": np.array([[1.0, np.nan], [0.0, 1.0]])}, "F contains NaN"),
        ({"H": np.ones((1, 3))}, "H must have shape"),
        ({"x0": np.zeros(3)}, "x0 must have length 2"),
        ({"F": np.eye(9)}, "at most|between"),
    ],
)
def test_invalid_models_raise_invalid_input(kwargs: dict[str, np.ndarray], message: str) -> None:
    model = {
        "F": np.array([[1.0, 1.0], [0.0, 1.0]]),
        "H": np.array([[1.0, 0.0]]),
        "Q": np.eye(2) * 1e-3,
        "R": np.array([[1e-2]]),
        "x0": np.zeros(2),
        "P0": np.eye(2),
    }
    model.update(kwargs)
    with pytest.raises(InvalidInput, match=message):
        KalmanFilter(**model)


def test_bad_observations_change_nothing() -> None:
    kf = KalmanFilter.local_level(1e-3, 1e-2, x0=0.0, p0=1.0)
    kf.update(0.5)
    saved = kf.to_json()
    with pytest.raises(InvalidInput, match="infinite"):
        kf.update(float("inf"))
    with pytest.raises(InvalidInput, match="infinite"):
        kf.filter(np.array([1.0, 2.0, np.inf]))
    with pytest.raises(InvalidInput, match="length 1"):
        kf.update(np.zeros(2))
    with pytest.raises(InvalidInput):
        KalmanFilter.local_level(-1.0, 1.0)
    with pytest.raises(InvalidInput, match="JSON"):
        KalmanFilter.from_json("{not json")
    assert kf.to_json() == saved


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 4),
    m=st.integers(1, 3),
    scale=st.floats(1e-6, 1e6),
)
def test_covariance_stays_symmetric_psd(seed: int, n: int, m: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    model = random_model(rng, n, m)
    model["Q"] *= scale
    kf = KalmanFilter(**model)
    zs = rng.normal(size=(200, m)) * np.sqrt(scale)
    zs[rng.random(200) < 0.2] = np.nan
    for z in zs:
        kf.update(z)
        p = kf.P
        assert_array_equal(p, p.T)
        eig = np.linalg.eigvalsh(p)
        assert eig.min() >= -1e-12 * max(1.0, eig.max())


def runs_without_gil(call: Callable[[], object]) -> bool:
    """True when the main thread executes Python while `call` runs in another thread: with the
    GIL held it could not run at all during the call, so look at the middle of the call."""
    window: list[float] = []

    def worker() -> None:
        window.append(time.perf_counter())
        call()
        window.append(time.perf_counter())

    thread = threading.Thread(target=worker)
    ticks: list[float] = []
    thread.start()
    while thread.is_alive():
        ticks.append(time.perf_counter())
    thread.join()
    start, end = window
    margin = 0.25 * (end - start)
    return any(start + margin < t < end - margin for t in ticks)


def test_filter_releases_the_gil() -> None:
    zs = np.cumsum(np.random.default_rng(0).normal(size=2_000_000))
    kf = KalmanFilter.local_linear_trend(1e-2, 1e-4, 1e-1)
    assert runs_without_gil(lambda: kf.filter(zs))


def test_observation_types_and_properties() -> None:
    a = KalmanFilter.local_level(1e-3, 1e-2, x0=0.0, p0=1.0)
    b = KalmanFilter.from_json(a.to_json())
    assert_array_equal(a.update(np.float64(0.5)), b.update(0.5))
    assert_array_equal(a.update(1), b.update([1.0]))  # int and sequence inputs
    assert a.dim_x == 1 and a.dim_z == 1
    assert_array_equal(a.F, [[1.0]])
    assert_array_equal(a.Q, [[1e-3]])
    assert_array_equal(a.R, [[1e-2]])
    a.reset()
    assert a.loglik == 0.0 and a.x[0] == 0.0 and a.P[0, 0] == 1.0
    assert "local_level(q=0.001, r=0.01)" in repr(a)


def test_predict_only_overflow_is_refused_at_its_step() -> None:
    """Issue 12: predict-only steps grew P to inf/NaN without an error and the filter's JSON
    could not be read back; the step that leaves the finite range now raises NumericalError and
    leaves the filter as it was."""
    kf = KalmanFilter([[1e10]], [[1.0]], [[1.0]], [[1.0]], [1.0], [[1.0]])
    for _ in range(100):
        saved = kf.to_json()
        try:
            kf.update(math.nan)
        except NumericalError:
            assert kf.to_json() == saved
            break
        assert np.isfinite(kf.P).all()
    else:
        pytest.fail("P never overflowed")
    assert KalmanFilter.from_json(kf.to_json()).to_json() == kf.to_json()
