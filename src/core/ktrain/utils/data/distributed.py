"""``DistributedSampler``: each of ``num_replicas`` processes reads its own shard."""
from __future__ import annotations

import math
import os

from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _world():
    """(world_size, rank) from ``ktrain.distributed`` when it exists and is initialised,
    else from the WORLD_SIZE / RANK environment variables that launchers set."""
    try:
        from ... import distributed as dist  # not every build has it
    except ImportError:
        dist = None
    if dist is not None and getattr(dist, "is_initialized", lambda: False)():
        return dist.get_world_size(), dist.get_rank()
    if "WORLD_SIZE" in os.environ and "RANK" in os.environ:
        return int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"])
    return None


class DistributedSampler(Sampler):
    """Indices of ``dataset`` for replica ``rank`` of ``num_replicas``.

    The (optionally shuffled, with seed ``seed + epoch``) index list is padded by
    repeating its start until it divides evenly (or truncated when ``drop_last``), then
    replica ``r`` takes every ``num_replicas``-th index from position ``r``. Call
    ``set_epoch(e)`` before each epoch so the shuffle changes; every replica must use the
    same ``seed``.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            world = _world()
            if world is None:
                raise RuntimeError("DistributedSampler: num_replicas and rank were not given "
                                   "and no process group is initialised (nor WORLD_SIZE/RANK "
                                   "set); pass num_replicas= and rank=")
            num_replicas = world[0] if num_replicas is None else num_replicas
            rank = world[1] if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            from ...random import Generator, randperm

            g = Generator().manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch: with ``shuffle``, each epoch gets a different order."""
        self.epoch = epoch
