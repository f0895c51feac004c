#!/usr/bin/env python3
"""CIFAR-10 with a torchvision-style VGG, trained in PyTorch, then probed and dissected by filterlens-torch into a
run directory that `filterlens analyze` and `filterlens report` read.

Reads CIFAR-10's standard binary files (`filterlens data prepare` writes them to outputs/data/cifar-10-batches-bin
from the JPEG copy; the official cifar-10-batches-bin works too). On a CPU, on a subset, in minutes:

    python3 python/examples/cifar10_vgg.py --out outputs/torch-vgg6-small

Full size (all 50,000 training images, VGG-6's reference recipe of docs/method.md), on GPUs or CPUs, any number of
processes (each takes its shard through a DistributedSampler; NCCL on GPUs, gloo on CPUs):

    torchrun --standalone --nproc_per_node=8 python/examples/cifar10_vgg.py --full --out outputs/torch-vgg6
    torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --master_port=29500 --nproc_per_node=8 \\
        python/examples/cifar10_vgg.py --full --out outputs/torch-vgg6      # and --node_rank=1 on the other machine

Then: filterlens analyze OUT && filterlens report OUT.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from filterlens_torch import dissect, probe

LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
ARCHITECTURES = {
    "vgg6": "64 64 M 128 128 M 256 256 M",
    "vgg16": "64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M",
}


def read_cifar10(folder: str, split: str) -> Tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N, 3, 32, 32] and labels int64 [N] of the binary files (records: 1 label byte, 3,072 pixels)."""
    if os.path.isdir(os.path.join(folder, "cifar-10-batches-bin")):
        folder = os.path.join(folder, "cifar-10-batches-bin")
    names = ["data_batch_%d.bin" % i for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    records = np.concatenate([np.fromfile(os.path.join(folder, name), np.uint8).reshape(-1, 3073) for name in names])
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].astype(np.int64)


def read_cifar10_subsets(folder: str, train_subset: Optional[int], test_subset: Optional[int]
                         ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training images and labels, then test images and labels (as ``read_cifar10``), each cut to its first N images
    when N is given."""
    train_images, train_labels = read_cifar10(folder, "train")
    test_images, test_labels = read_cifar10(folder, "test")
    if train_subset:
        train_images, train_labels = train_images[:train_subset], train_labels[:train_subset]
    if test_subset:
        test_images, test_labels = test_images[:test_subset], test_labels[:test_subset]
    return train_images, train_labels, test_images, test_labels


class CIFAR10(Dataset):
    """Images scaled to x / 255 * 2 - 1 [L]; with `augment`, a random horizontal flip and a random shift of -4..+4
    pixels on each axis with zero fill [L] (docs/method.md)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, augment: bool) -> None:
        self.images = torch.from_numpy(images)
        self.labels = torch.from_numpy(labels)
        self.augment = augment

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        image = self.images[index].float() / 255 * 2 - 1
        if self.augment:
            if torch.rand(()) < 0.5:
                image = image.flip(2)
            dy, dx = torch.randint(-4, 5, (2,)).tolist()
            image = F.pad(image, (4, 4, 4, 4))[:, 4 + dy:36 + dy, 4 + dx:36 + dx]
        return image, self.labels[index]


class VGG(nn.Module):
    """torchvision's VGG layout: `features` (3x3 convolutions with batch norm and ReLU, 2x2 max-pools, from VGG
    notation) and `classifier` (one FC layer from the last block to the labels, FilterLens's default head)."""

    def __init__(self, notation: str, num_labels: int = 10) -> None:
        super().__init__()
        layers: List[nn.Module] = []
        channels, size = 3, 32
        for token in notation.split():
            if token.startswith("M"):
                pool = int(token[1:] or 2)
                layers.append(nn.MaxPool2d(pool))
                size //= pool
            else:
                layers += [nn.Conv2d(channels, int(token), 3, padding=1, bias=False), nn.BatchNorm2d(int(token)),
                           nn.ReLU(inplace=True)]
                channels = int(token)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels * size * size, num_labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))

    def block_outputs(self) -> List[str]:
        """Module names of each convolution's block output: its ReLU, or the max-pool right after it."""
        names = []
        modules = list(self.features)
        for index, module in enumerate(modules):
            if isinstance(module, nn.ReLU):
                follows_pool = index + 1 < len(modules) and isinstance(modules[index + 1], nn.MaxPool2d)
                names.append("features.%d" % (index + 1 if follows_pool else index))
        return names


def loader(dataset: Dataset, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    """Each process's shard under torch.distributed (a DistributedSampler), the whole set otherwise."""
    if dist.is_initialized():
        sampler: DistributedSampler = DistributedSampler(dataset, shuffle=shuffle, seed=seed)
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=2 if shuffle else 0)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


def train(model: nn.Module, data: DataLoader, test: DataLoader, epochs: int, device: torch.device, say) -> None:
    """Phase 1 as docs/method.md's reference run: SGD with Nesterov momentum 0.9, weight decay 5e-4, lr 0.05 with a
    linear warm-up over the first 500 batches (a fifth of the run when shorter), x0.6 every 2 epochs."""
    network = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if dist.is_initialized() else model
    optimizer = torch.optim.SGD(network.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    warmup = min(500, max(1, epochs * len(data) // 5))
    step = 0
    for epoch in range(epochs):
        if isinstance(data.sampler, DistributedSampler):
            data.sampler.set_epoch(epoch)
        network.train()
        started, loss_sum, seen = time.time(), 0.0, 0
        for images, labels in data:
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            rate = 0.05 * 0.6 ** (epoch // 2) * min(1.0, (step + 1) / warmup)
            for group in optimizer.param_groups:
                group["lr"] = rate
            loss = F.cross_entropy(network(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(labels)
            seen += len(labels)
            step += 1
        say("epoch %d/%d: train loss %.3f, test SR %.4f, %.0f s" % (epoch + 1, epochs, loss_sum / seen,
                                                                     success_rate(model, test, device),
                                                                     time.time() - started))


def success_rate(model: nn.Module, data: DataLoader, device: torch.device) -> float:
    """Test SR of the whole network over all processes' shards."""
    model.eval()
    counts = torch.zeros(2, dtype=torch.int64, device=device)
    with torch.no_grad():
        for images, labels in data:
            images, labels = images.to(device), labels.to(device)
            counts[0] += (model(images).argmax(1) == labels).sum()
            counts[1] += len(labels)
    if dist.is_initialized():
        dist.all_reduce(counts)
    return counts[0].item() / max(counts[1].item(), 1)


def main(arguments: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="CIFAR-10 VGG in PyTorch, dissected by filterlens-torch")
    parser.add_argument("--data", default="outputs/data", help="folder of the CIFAR-10 binary files")
    parser.add_argument("--out", required=True, help="run directory to write")
    parser.add_argument("--arch", default="vgg6", help="vgg6, vgg16, or any stack in VGG notation")
    parser.add_argument("--full", action="store_true",
                        help="all images, 12 epochs, 4 probe epochs (docs/method.md's reference run)")
    parser.add_argument("--train-subset", type=int, default=5000, help="training images (0: all)")
    parser.add_argument("--test-subset", type=int, default=1000, help="test images (0: all)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--probe-epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100, help="per process")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write-activations", action="store_true", help="also write activations.h5 (1 process)")
    parser.add_argument("--overwrite", action="store_true")
    options = parser.parse_args(arguments)
    if options.full:
        options.train_subset, options.test_subset, options.epochs, options.probe_epochs = 0, 0, 12, 4

    if "RANK" in os.environ:   # started by torchrun
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
    rank = dist.get_rank() if dist.is_initialized() else 0
    world = dist.get_world_size() if dist.is_initialized() else 1
    started = time.time()

    def say(message: str) -> None:
        if rank == 0:
            print("[%6.0f s] %s" % (time.time() - started, message), flush=True)

    torch.manual_seed(options.seed)
    train_images, train_labels, test_images, test_labels = read_cifar10_subsets(options.data, options.train_subset,
                                                                                options.test_subset)
    notation = ARCHITECTURES.get(options.arch, options.arch)
    say("%s [%s] on %s x %d, %d training and %d test images" % (options.arch, notation, device, world,
                                                                  len(train_labels), len(test_labels)))
    model = VGG(notation).to(device)
    augmented = loader(CIFAR10(train_images, train_labels, augment=True), options.batch_size, True, options.seed)
    test = loader(CIFAR10(test_images, test_labels, augment=False), options.batch_size, False, options.seed)
    train(model, augmented, test, options.epochs, device, say)

    layers = model.block_outputs()
    say("phase 2: %d heads on %s" % (len(layers), ", ".join(layers)))
    heads = probe(model, layers, augmented, len(LABEL_NAMES), test_loader=test, epochs=options.probe_epochs,
                  seed=options.seed, augment=True, progress=say)
    say("phase 3: field sums of %d layers" % len(layers))
    result = dissect(model, layers, heads, test, options.out, LABEL_NAMES, write_activations=options.write_activations,
                     dataset="CIFAR-10 (%d test images)" % len(test_labels), overwrite=options.overwrite)
    say("network SR %.4f; SR(l): %s" % (result.network_test_sr, " ".join("%.3f" % result.head_test_sr[name]
                                                                         for name in layers)))
    say("wrote %s; next: filterlens analyze %s && filterlens report %s" % (options.out, options.out, options.out))
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
