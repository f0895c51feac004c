"""A tiny CNN and a synthetic, separable image set for the tests (real torch, no mocks).

Images are 3 x 8 x 8; label c (of ``LABELS``) brightens colour channel c % 3 in quadrant c % 4 over Gaussian
noise, so a linear head on any block output separates the labels well above chance (1 / LABELS).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

LABELS = 4
LABEL_NAMES = ["red-nw", "green-ne", "blue-sw", "red-se"]
BLOCKS = ["features.3", "features.6"]
"""Block outputs of the tiny CNN: layer 1 after its max-pool (4 x 4 x 4), layer 2 after its ReLU (6 x 4 x 4)."""


def images(count: int, seed: int) -> TensorDataset:
    """``count`` images [count, 3, 8, 8] float32 and labels int64 [count], drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, LABELS, (count,), generator=generator)
    pixels = torch.randn(count, 3, 8, 8, generator=generator) * 0.5
    for index, label in enumerate(labels.tolist()):
        row, column = divmod(label % 4, 2)
        pixels[index, label % 3, row * 4:(row + 1) * 4, column * 4:(column + 1) * 4] += 1.5
    return TensorDataset(pixels, labels)


def tiny_cnn(seed: int = 7) -> nn.Module:
    """conv 3->4, BN, ReLU, 2x2 max-pool ("features.3"); conv 4->6, BN, ReLU ("features.6"); FC 96 -> labels."""
    torch.manual_seed(seed)
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU()))
    model.add_module("flatten", nn.Flatten())
    model.add_module("classifier", nn.Linear(6 * 4 * 4, LABELS))
    return model


def trained_tiny_cnn(steps: int = 60, seed: int = 7) -> nn.Module:
    """The tiny CNN after ``steps`` SGD steps on ``images(512, seed=1)`` (batch 32), so its batch-norm statistics
    and full-network SR are those of a trained network. Deterministic for a given seed."""
    model = tiny_cnn(seed)
    data = images(512, seed=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    step = 0
    while step < steps:
        for batch, labels in DataLoader(data, batch_size=32, shuffle=False):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(batch), labels).backward()
            optimizer.step()
            step += 1
            if step == steps:
                break
    model.eval()
    return model


def loader(data: TensorDataset, batch_size: int, sampler: Optional[Sampler] = None) -> DataLoader:
    """Batches in data-set order (or ``sampler``'s), no workers."""
    return DataLoader(data, batch_size=batch_size, shuffle=False, sampler=sampler)


def block_output_shapes() -> List[Tuple[int, int, int]]:
    """(C, H, W) of ``BLOCKS``."""
    return [(4, 4, 4), (6, 4, 4)]
