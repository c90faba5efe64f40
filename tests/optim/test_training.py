"""Loss pieces by hand, the block sampler, and short real training runs with their guards."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from gradtrade.optim.batching import BlockBatchSampler
from gradtrade.optim.config import TrainConfig
from gradtrade.optim.loss import block_pnl, gaussian_nll
from gradtrade.optim.run import CHECKPOINT, train


def test_gaussian_nll_matches_torch() -> None:
    torch.manual_seed(0)
    mean, target, var = torch.randn(50), torch.randn(50), torch.rand(50) + 0.1
    ref = torch.nn.GaussianNLLLoss(full=True, eps=0.0)(mean, target, var)
    torch.testing.assert_close(gaussian_nll(mean, var, target), ref)


def test_block_pnl_by_hand() -> None:
    u = torch.tensor([0.5, 1.0, -1.0, 0.0, 0.2, 0.2])
    r = torch.tensor([0.9, 0.01, -0.02, 0.03, 0.9, 0.01])
    f = torch.tensor([0.0, 1e-4, 0.0, 0.0, 0.0, -1e-4])
    pnl, turn = block_pnl(u, r, f, cost=0.001, block=3)
    # block 1: bars 1, 2 against their predecessors; block 2: bars 4, 5
    expected_turn = torch.tensor([0.5, 2.0, 0.2, 0.0])
    expected = torch.tensor(
        [
            1.0 * 0.01 - 0.001 * 0.5 - 1.0 * 1e-4,
            -1.0 * -0.02 - 0.002,
            0.2 * 0.9 - 0.0002,
            0.2 * 0.01 + 0.2 * 1e-4,
        ]
    )
    torch.testing.assert_close(turn, expected_turn)
    torch.testing.assert_close(pnl, expected)


def test_block_sampler_contiguous_and_disjoint_across_ranks() -> None:
    samplers = [
        BlockBatchSampler(1000, block=10, batch_size=40, shuffle=True, seed=3, rank=r, world=2)
        for r in (0, 1)
    ]
    batches = [[b.tolist() for b in s] for s in samplers]
    assert len(batches[0]) == len(batches[1]) == len(samplers[0])
    seen: list[set[int]] = [set(), set()]
    for rank, rank_batches in enumerate(batches):
        for batch in rank_batches:
            for b in range(0, len(batch), 10):
                block = batch[b : b + 10]
                assert block == list(range(block[0], block[0] + 10))
            seen[rank].update(batch)
    assert not seen[0] & seen[1]
    samplers[0].set_epoch(1)
    assert [b.tolist() for b in samplers[0]] != batches[0]  # reshuffled per epoch
    again = BlockBatchSampler(1000, block=10, batch_size=40, shuffle=True, seed=3, rank=0, world=2)
    assert [b.tolist() for b in again] == batches[0]  # deterministically


def test_train_writes_metrics_tensorboard_and_checkpoint(tiny_config: TrainConfig) -> None:
    outcome = train(tiny_config)
    out = outcome.out_dir
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert len(rows) == 2
    for key in ("train_nll_state", "train_risk", "val_loss", "val_sharpe", "nfe", "grad_norm"):
        assert math.isfinite(float(rows[0][key])), key
    assert float(rows[0]["nfe"]) == 16  # horizon 2 x rk4 with two steps of four evaluations
    assert any((out / "tensorboard").iterdir())
    assert outcome.checkpoint == out / CHECKPOINT and outcome.checkpoint.exists()
    assert outcome.fit.best_epoch >= 1


def test_rerun_never_overwrites_a_better_checkpoint(tiny_config: TrainConfig) -> None:
    first = train(tiny_config)
    assert first.checkpoint is not None
    before = first.checkpoint.read_bytes()
    second = train(tiny_config)  # same seed: identical, hence not better
    assert second.fit.best_val == first.fit.best_val
    assert second.checkpoint is None
    assert first.checkpoint.read_bytes() == before


def test_exploding_training_stops_with_reason(
    tiny_config: TrainConfig, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = tiny_config.model_copy(
        update={
            "optim": tiny_config.optim.model_copy(
                update={
                    "optimizer": "sgd",
                    "lr": 1e6,
                    "momentum": 0.0,
                    "grad_clip": 1e6,
                    "epochs": 4,
                    "max_batches_per_epoch": 6,
                }
            )
        }
    )
    with caplog.at_level("ERROR", logger="gradtrade.train"):
        outcome = train(cfg)
    reason = outcome.fit.stopped_reason
    assert reason.startswith(("non-finite", "exploding")), reason
    assert "training stopped" in caplog.text
    ckpt = Path(cfg.run.out_dir) / CHECKPOINT
    if ckpt.exists():  # only a finite, validated state may have been written
        state = torch.load(ckpt, weights_only=True)["state_dict"]
        assert all(bool(torch.isfinite(v).all()) for v in state.values())
    assert all(bool(torch.isfinite(p).all()) for p in outcome.fit.model.parameters())


@pytest.mark.parametrize("kind", ["gru", "ode"])
def test_sgd_and_schedules_train(tiny_config: TrainConfig, kind: str) -> None:
    cfg = tiny_config.model_copy(
        update={
            "model": tiny_config.model.model_copy(update={"kind": kind}),
            "optim": tiny_config.optim.model_copy(
                update={"optimizer": "sgd", "schedule": "plateau", "lr": 0.01}
            ),
            "loss": tiny_config.loss.model_copy(update={"risk": "mean_variance"}),
        }
    )
    outcome = train(cfg)
    assert outcome.fit.epochs_run == 2 and math.isfinite(outcome.fit.best_val)


def test_checkpoint_predicts_the_test_split_with_its_own_statistics(
    tiny_config: TrainConfig,
) -> None:
    from gradtrade.data.market import time_splits
    from gradtrade.optim.predict import predict_dataset
    from gradtrade.optim.run import predict_positions

    outcome = train(tiny_config)
    assert outcome.checkpoint is not None
    from_disk = predict_positions(outcome.checkpoint, tiny_config)
    d = tiny_config.data
    splits = time_splits(len(outcome.market), context=d.context, horizon=d.horizon)
    direct = predict_dataset(
        outcome.fit.model,
        outcome.market.dataset(splits.test, context=d.context, horizon=d.horizon),
    )
    assert len(from_disk["position"]) == len(splits.test)
    for key in ("mean", "var", "position", "anchor"):
        assert (from_disk[key] == direct[key]).all(), key
    assert ((from_disk["position"] > -1) & (from_disk["position"] < 1)).all()


def test_checkpoint_records_the_training_rows(tiny_config: TrainConfig) -> None:
    from gradtrade.optim.checkpoint import load_checkpoint

    outcome = train(tiny_config)
    assert outcome.checkpoint is not None
    ck = load_checkpoint(outcome.checkpoint, tiny_config)
    rows = ck.normalization["train_rows"]
    assert ck.data_range == outcome.market.date_range(0, rows)
    assert ck.data_range[1] < outcome.market.date_range()[1]  # validation/test not included
    assert "state_transformer" in ck.normalization
