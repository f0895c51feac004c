#!/usr/bin/env python3
"""A ResNet-20-style CNN (He et al. 2016's CIFAR ResNet: a 3x3 stem of 16 filters, three stages of three basic
residual blocks of 16, 32 and 64 filters, global average pool, FC) trained on CIFAR-10 in PyTorch, then probed and
dissected by filterlens-torch block by block (each block's output after its residual addition and ReLU), and, with
--filterlens, analysed and reported. On 2 CPU cores, 10,000 training and 10,000 test images:

    python3 python/examples/cifar10_resnet.py --out outputs/resnet20-small --filterlens /path/to/filterlens

Phase 1: SGD with Nesterov momentum 0.9, weight decay 5e-4, lr 0.05 with a linear warm-up, x0.6 every 2 epochs
(cifar10_vgg.py's recipe); phase 2: probe's documented recipe, for --probe-epochs epochs.
"""
from __future__ import annotations

from typing import List

import torch
from torch import nn

import any_model
from cifar10_vgg import train


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the input (a 1x1 convolution and BN where the shape changes), then ReLU.
    Its output, batch x C x H x W, is the block output probed. Like torchvision's, one ReLU module runs twice."""

    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.relu = nn.ReLU()
        self.downsample = (nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))
                           if stride != 1 or inputs != outputs else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet20(nn.Module):
    """torchvision's names: conv1, bn1, relu, layer1..layer3 (3 BasicBlocks each), avgpool, fc."""

    def __init__(self, num_labels: int = 10, widths=(16, 32, 64), blocks: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        stages: List[nn.Sequential] = []
        inputs = widths[0]
        for index, width in enumerate(widths):
            stride = 1 if index == 0 else 2
            stages.append(nn.Sequential(*[BasicBlock(inputs if b == 0 else width, width, stride if b == 0 else 1)
                                          for b in range(blocks)]))
            inputs = width
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], num_labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def main() -> None:
    options = any_model.arguments("ResNet-20 on CIFAR-10, dissected by filterlens-torch", epochs=4,
                                  probe_epochs=2).parse_args()
    torch.set_num_threads(options.threads)
    torch.manual_seed(options.seed)
    say = any_model.Clock()
    train_loader, test_loader, test_count = any_model.cifar10(options, say)
    model = ResNet20()
    any_model.show_block_names(model, test_loader, say)
    say("phase 1: %d epochs" % options.epochs)
    train(model, train_loader, test_loader, options.epochs, torch.device("cpu"), say)
    layers = ["%s.%d" % (stage, block) for stage in ("layer1", "layer2", "layer3") for block in range(3)]
    any_model.probe_dissect_report(model, layers, train_loader, test_loader, test_count, options, say)


if __name__ == "__main__":
    main()
