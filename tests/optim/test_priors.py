"""Structural priors: the residual variance head and the vol-targeted policy prior.

At initialisation each must reproduce its baseline exactly (the EWMA variance read from the
state; the volatility-targeted long position), so training can only move away from a strong
baseline where the data supports it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gradtrade.data.market import load_market
from gradtrade.errors import InvalidInput
from gradtrade.model import DynamicalSystem, RecurrentBaseline
from gradtrade.optim.checkpoint import load_checkpoint, save_checkpoint
from gradtrade.optim.config import parse_config
from gradtrade.optim.run import BASELINE_FEATURE, scaled_model


def residual_model(cls: type = DynamicalSystem) -> DynamicalSystem:
    torch.manual_seed(1)
    model = cls(4, latent=6, hidden=8, variance_head="residual", policy_prior="vol_target")
    model.set_scales(0.01, 0.004)
    model.set_variance_baseline(2, center=3e-5, scale=4e-5)
    return model


@pytest.mark.parametrize("cls", [DynamicalSystem, RecurrentBaseline])
def test_residual_variance_head_equals_baseline_at_init(cls: type) -> None:
    model = residual_model(cls)
    x = torch.randn(7, 10, 4)
    traj = model(x, torch.tensor([1.0, 2.0, 5.0]))
    expected = x[:, -1, 2] * 4e-5 + 3e-5
    expected = expected.clamp_min(1e-3 * 0.01**2)
    for k in range(3):  # every horizon step starts from the same causal baseline
        torch.testing.assert_close(traj.ret_var[:, k], expected, rtol=1e-6, atol=0.0)


def test_residual_correction_learns_a_constant_variance_ratio() -> None:
    """The correction is trainable: fitted to data twice as volatile as the baseline, the
    predicted variance moves from the baseline towards 2x it."""
    model = residual_model()
    x = torch.randn(256, 10, 4)
    base = (x[:, -1, 2] * 4e-5 + 3e-5).clamp_min(1e-7)
    ret = torch.randn(256) * (2 * base).sqrt()
    opt = torch.optim.Adam(model.heads.parameters(), lr=0.05)
    for _ in range(150):
        var = model(x, torch.tensor([1.0])).ret_var[:, 0]
        loss = (torch.log(var) + ret**2 / var).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        ratio = float((model(x, torch.tensor([1.0])).ret_var[:, 0] / base).mean())
    assert 1.4 < ratio < 3.0


def test_policy_prior_is_vol_targeted_long_at_init() -> None:
    model = residual_model()
    x = torch.randn(7, 10, 4) * 3
    traj = model(x, torch.tensor([1.0]))
    u = model.position(traj)
    vt = 0.004
    torch.testing.assert_close(u, vt / torch.sqrt(traj.ret_var[:, 0] + vt**2))
    assert bool((u > 0).all()) and bool((u < 1).all())


def test_policy_tilt_is_bounded() -> None:
    model = residual_model()
    with torch.no_grad():
        model.policy.net[-1].bias.fill_(50.0)  # tanh saturates at +1
    traj = model(torch.randn(5, 10, 4), torch.tensor([1.0]))
    scaling = 0.004 / torch.sqrt(traj.ret_var[:, 0] + 0.004**2)
    u = model.position(traj)
    torch.testing.assert_close(u, (1.5 * scaling).clamp(max=1.0))


def test_residual_head_without_baseline_and_bad_options_are_clear_errors() -> None:
    model = DynamicalSystem(3, latent=4, variance_head="residual")
    with pytest.raises(InvalidInput, match="variance baseline"):
        model(torch.randn(2, 5, 3), torch.tensor([1.0]))
    with pytest.raises(InvalidInput, match="variance baseline column"):
        model.set_variance_baseline(3, 0.0, 1.0)
    with pytest.raises(InvalidInput, match="variance head"):
        DynamicalSystem(3, variance_head="garch")
    with pytest.raises(InvalidInput, match="policy prior"):
        DynamicalSystem(3, policy_prior="long")
    with pytest.raises(InvalidInput, match=r"model\.policy_tilt"):
        parse_config({"model": {"policy_tilt": 3.0}})


def test_market_baseline_is_the_raw_ewma_variance_and_survives_a_checkpoint(
    data_dir: Path, tmp_path: Path
) -> None:
    path = data_dir / "klines/spot/BTC_USDT-1h.feather"
    cfg = parse_config(
        {
            "data": {"path": str(path), "start": "2024-01-01", "end": "2024-02-01"},
            "model": {"latent": 4, "hidden": 8, "variance_head": "residual"},
        }
    )
    market = load_market(path, start="2024-01-01", end="2024-02-01")
    states = market.normalize(400)
    model = scaled_model(cfg, market, 0, 400)
    col = market.names.index(BASELINE_FEATURE)
    rows = np.arange(300, 340)
    window = torch.from_numpy(np.stack([states[r - 11 : r + 1] for r in rows]))
    base = model.baseline_variance(window).double().numpy()
    raw = market.frame.raw[rows, col]
    clip = market.transformer.config.clip * market.transformer.scale[col]
    unclipped = np.abs(raw - market.transformer.center[col]) < clip
    assert unclipped.sum() > 20
    np.testing.assert_allclose(base[unclipped], raw[unclipped], rtol=1e-5)
    ck = save_checkpoint(
        tmp_path / "best.pt", model, cfg, normalization=market.stats,
        data_range=market.date_range(0, 400), epoch=1, val_loss=0.0,
    )  # fmt: skip
    loaded = load_checkpoint(ck, cfg).model
    assert int(loaded.baseline_column) == col
    with torch.no_grad():
        a = model(window, torch.tensor([1.0])).ret_var
        b = loaded(window, torch.tensor([1.0])).ret_var
    torch.testing.assert_close(a, b, rtol=0.0, atol=0.0)


def test_detach_forecast_stops_the_risk_gradient_at_the_policy() -> None:
    grads = {}
    for detach in (False, True):
        torch.manual_seed(3)
        model = DynamicalSystem(4, latent=6, hidden=8, detach_forecast=detach)
        model.set_scales(0.01, 0.004)
        traj = model(torch.randn(16, 10, 4), torch.tensor([1.0]))
        pnl = model.position(traj) * torch.randn(16) * 0.01
        (-(pnl.mean() / pnl.std())).backward()
        params = dict(model.named_parameters())
        grads[detach] = {
            name: float(params[name].grad.abs().sum()) if params[name].grad is not None else 0.0
            for name in ("heads.linear.weight", "encoder.out.weight", "policy.net.0.weight")
        }
    assert grads[False]["heads.linear.weight"] > 0 and grads[False]["encoder.out.weight"] > 0
    assert grads[True]["heads.linear.weight"] == 0 and grads[True]["encoder.out.weight"] == 0
    assert grads[True]["policy.net.0.weight"] > 0
