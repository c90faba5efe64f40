"""Batches of contiguous blocks of anchors, so the PnL can charge |u_t - u_{t-1}|.

A batch is ``batch_size // block`` blocks; each block is ``block`` consecutive anchors (consecutive
bars), blocks are shuffled per epoch with a fixed seed, and under DDP each rank takes every
``world``-th block with the same number of batches on every rank (DDP needs equal step counts).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Sampler

from gradtrade.data.dataset import WindowDataset, passthrough
from gradtrade.errors import InvalidInput


class BlockBatchSampler(Sampler[np.ndarray]):
    def __init__(
        self,
        n: int,
        *,
        block: int,
        batch_size: int,
        shuffle: bool,
        seed: int,
        rank: int = 0,
        world: int = 1,
        max_batches: int | None = None,
    ) -> None:
        if batch_size % block:
            raise InvalidInput("batch_size must be a multiple of block")
        if n < block * world:
            raise InvalidInput(f"only {n} samples: fewer than one block ({block}) per rank")
        self.n, self.block, self.per_batch = n, block, batch_size // block
        self.shuffle, self.seed, self.rank, self.world = shuffle, seed, rank, world
        self.max_batches = max_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _starts(self) -> np.ndarray:
        starts = np.arange(0, self.n - self.block + 1, self.block)
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch])
            rng.shuffle(starts)
        per_rank = len(starts) // self.world
        return starts[self.rank :: self.world][:per_rank]

    def __len__(self) -> int:
        per_rank = (self.n - self.block + 1 + self.block - 1) // self.block // self.world
        batches = -(-per_rank // self.per_batch)
        return batches if self.max_batches is None else min(batches, self.max_batches)

    def __iter__(self) -> Iterator[np.ndarray]:
        starts = self._starts()
        offsets = np.arange(self.block)
        for b in range(len(self)):
            chunk = starts[b * self.per_batch : (b + 1) * self.per_batch]
            yield (chunk[:, None] + offsets).reshape(-1)


def block_loader(dataset: WindowDataset, sampler: BlockBatchSampler) -> DataLoader[Any]:
    """Each batch is gathered by one fancy-indexing call of the dataset (no per-sample stacking)."""
    return DataLoader(
        dataset, sampler=sampler, batch_size=None, collate_fn=passthrough, num_workers=0
    )
