"""A run to try ``filterlens analyze`` and ``filterlens report`` on, made in seconds on a CPU:

    python3 -m filterlens_torch.demo outputs/torch-demo [--write-activations]

It trains a tiny CNN on synthetic images (label c brightens colour channel c % 3 in quadrant c % 4 of a 3 x 8 x 8
image over Gaussian noise), probes its two blocks and dissects them with the package's real ``probe`` and
``dissect``. The same data and network serve the package's tests.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .dissect import dissect
from .probe import probe

LABELS = 4
LABEL_NAMES = ["red-nw", "green-ne", "blue-sw", "red-se"]
BLOCKS = ["features.3", "features.6"]
"""Block outputs of the tiny CNN: layer 1 after its max-pool (4 x 4 x 4), layer 2 after its ReLU (6 x 4 x 4)."""


def quadrant_images(count: int, seed: int) -> TensorDataset:
    """``count`` images float32 [count, 3, 8, 8] and labels int64 [count] in 0..LABELS-1, drawn from ``seed``."""
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
    """The tiny CNN after ``steps`` SGD steps (lr 0.05, momentum 0.9, batch 32) on ``quadrant_images(512, seed=1)``,
    in inference mode. Deterministic for a given seed and thread count."""
    model = tiny_cnn(seed)
    data = quadrant_images(512, seed=1)
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


def main(arguments: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="run directory to write (run.h5, fields.h5)")
    parser.add_argument("--write-activations", action="store_true", help="also write activations.h5")
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in OUT")
    options = parser.parse_args(arguments)
    model = trained_tiny_cnn()
    train, test = quadrant_images(512, seed=1), quadrant_images(256, seed=2)
    heads = probe(model, BLOCKS, DataLoader(train, batch_size=32), LABELS, test_loader=DataLoader(test, batch_size=64),
                  epochs=3, seed=3, augment=False, progress=print)
    result = dissect(model, BLOCKS, heads, DataLoader(test, batch_size=64), options.out, LABEL_NAMES,
                     write_activations=options.write_activations, dataset="synthetic quadrants (filterlens_torch.demo)",
                     overwrite=options.overwrite)
    lines: List[str] = ["network test SR %.4f; heads: %s" % (result.network_test_sr, ", ".join(
        "%s %.4f" % (name, sr) for name, sr in result.head_test_sr.items())),
        "wrote %s; next: filterlens analyze %s && filterlens report %s" % (options.out, options.out, options.out)]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
