"""A two-layer network of 32 + 512 filters on synthetic labelled images, dissected by filterlens-torch at L labels:
the run of issue 35's measurement ("Labels at scale", docs/performance.md).

    PYTHONPATH=python/src python3 scripts/labels_at_scale.py OUT --labels 1000 [--test-images 2000]

Images are 3 x 8 x 8: label c adds a fixed random pattern (drawn from the seed) to Gaussian noise, so every label is
learnable. The network: conv 3->32, BN, ReLU, 2x2 max-pool (layer 1, 32 x 4 x 4); conv 32->512, BN, ReLU, 2x2
max-pool (layer 2, 512 x 2 x 2); FC 2048 -> L. It is trained for a few hundred SGD steps, probed for one epoch and
dissected (fields.h5; no activations.h5). Then: filterlens analyze OUT && filterlens report OUT.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from filterlens_torch import dissect, probe

BLOCKS = ["features.3", "features.7"]


def images(count: int, labels: int, patterns: torch.Tensor, seed: int) -> TensorDataset:
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, labels, (count,), generator=generator)
    x = torch.randn(count, 3, 8, 8, generator=generator) * 0.5 + patterns[y]
    return TensorDataset(x, y)


def network(labels: int) -> nn.Module:
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 512, 3, padding=1, bias=False), nn.BatchNorm2d(512), nn.ReLU(), nn.MaxPool2d(2)))
    model.add_module("flatten", nn.Flatten())
    model.add_module("classifier", nn.Linear(512 * 2 * 2, labels))
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--test-images", type=int, default=2000)
    parser.add_argument("--train-images", type=int, default=8000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    torch.manual_seed(options.seed)
    patterns = torch.randn(options.labels, 3, 8, 8, generator=torch.Generator().manual_seed(options.seed))
    train = images(options.train_images, options.labels, patterns, options.seed + 1)
    test = images(options.test_images, options.labels, patterns, options.seed + 2)
    model = network(options.labels)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    step, started = 0, time.time()
    while step < options.steps:
        for x, y in DataLoader(train, batch_size=64, shuffle=True):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
            step += 1
            if step == options.steps:
                break
    model.eval()
    print("trained %d steps in %.0f s" % (step, time.time() - started))
    heads = probe(model, BLOCKS, DataLoader(train, batch_size=64), options.labels,
                  test_loader=DataLoader(test, batch_size=100), epochs=1, seed=3, augment=False, progress=print)
    names = ["label%04d" % label for label in range(options.labels)]
    result = dissect(model, BLOCKS, heads, DataLoader(test, batch_size=100), options.out, names,
                     dataset="synthetic patterns, %d labels (scripts/labels_at_scale.py)" % options.labels,
                     overwrite=True, max_device_bytes=3 << 30, progress=print)
    print("network test SR %.4f; heads %s" % (result.network_test_sr, result.head_test_sr))


if __name__ == "__main__":
    main()
