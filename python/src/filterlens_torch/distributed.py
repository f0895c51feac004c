"""The few torch.distributed operations phases 2 and 3 need; each is a no-op in a single process."""
from __future__ import annotations

from typing import Tuple

import torch
import torch.distributed as dist


def rank_and_world_size() -> Tuple[int, int]:
    """(rank, world size) of this process: (0, 1) when torch.distributed is not initialized."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_distributed() -> bool:
    """Whether more than one process takes part."""
    return rank_and_world_size()[1] > 1


def sum_across_processes(tensor: torch.Tensor) -> torch.Tensor:
    """Adds ``tensor`` over all processes, in place, and returns it (unchanged in a single process)."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def same_as_rank_zero(tensor: torch.Tensor) -> torch.Tensor:
    """Overwrites ``tensor`` with rank 0's copy, in place, and returns it (unchanged in a single process)."""
    if is_distributed():
        dist.broadcast(tensor, src=0)
    return tensor


def wait_for_all() -> None:
    """A barrier across processes (nothing in a single process)."""
    if is_distributed():
        dist.barrier()
