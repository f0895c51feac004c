"""The tiny CNN and separable synthetic images of ``filterlens_torch.demo`` (real torch, no mocks), and loaders.

Images are 3 x 8 x 8; label c brightens colour channel c % 3 in quadrant c % 4 over Gaussian noise, so a linear
head on either block output separates the labels well above chance (1 / LABELS).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from torch.utils.data import DataLoader, Sampler, TensorDataset

from filterlens_torch.demo import BLOCKS, LABEL_NAMES, LABELS, quadrant_images, tiny_cnn, trained_tiny_cnn

__all__ = ["BLOCKS", "LABEL_NAMES", "LABELS", "images", "tiny_cnn", "trained_tiny_cnn", "loader",
           "block_output_shapes"]
images = quadrant_images


def loader(data: TensorDataset, batch_size: int, sampler: Optional[Sampler] = None) -> DataLoader:
    """Batches in data-set order (or ``sampler``'s), no workers."""
    return DataLoader(data, batch_size=batch_size, shuffle=False, sampler=sampler)


def block_output_shapes() -> List[Tuple[int, int, int]]:
    """(C, H, W) of ``BLOCKS``."""
    return [(4, 4, 4), (6, 4, 4)]
