#!/usr/bin/env python3
"""A small vision transformer (patch size 4: 64 patches and a class token, width 64, 6 pre-norm encoder layers of
4-head self-attention and an MLP of 128, batch_first) trained on CIFAR-10 in PyTorch, then probed and dissected by
filterlens-torch and, with --filterlens, analysed and reported.

The layers probed are the outputs of the 6 encoder layers, batch x tokens x channels (all 65 tokens: a filter is a
channel, its positions the tokens), and the class token after the final LayerNorm, batch x channels
("pre_logits": one position). On 2 CPU cores, 10,000 training and 10,000 test images:

    python3 python/examples/cifar10_vit.py --out outputs/vit-small --filterlens /path/to/filterlens

Phase 1: AdamW (lr 1e-3, weight decay 0.05) with a linear warm-up over the first epoch and a cosine decay to 0,
the training augmentation of docs/method.md; phase 2: probe's documented recipe, for --probe-epochs epochs.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

import any_model
from cifar10_vgg import success_rate


class Attention(nn.Module):
    """The attention sub-block's branch: LayerNorm, then multi-head self-attention (batch x tokens x channels in
    and out; the attention weights are not returned)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.attention = nn.MultiheadAttention(width, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        return self.attention(x, x, x, need_weights=False)[0]


class EncoderLayer(nn.Module):
    """Pre-norm encoder layer: x + attention(x), then + mlp(x); batch x tokens x channels in and out."""

    def __init__(self, width: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.attention = Attention(width, heads)
        self.mlp = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(x)
        return x + self.mlp(x)


class Encoder(nn.Module):
    def __init__(self, width: int, depth: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(*[EncoderLayer(width, heads, hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.layers(x))


class ViT(nn.Module):
    """patch_embedding (4x4 convolution, stride 4) -> tokens with a class token and learned positions ->
    encoder.layers.0 .. encoder.layers.5 -> encoder.norm -> pre_logits (the class token) -> head."""

    def __init__(self, num_labels: int = 10, width: int = 64, depth: int = 6, heads: int = 4, hidden: int = 128,
                 patch: int = 4, image: int = 32) -> None:
        super().__init__()
        self.patch_embedding = nn.Conv2d(3, width, patch, patch)
        tokens = (image // patch) ** 2 + 1
        self.class_token = nn.Parameter(torch.zeros(1, 1, width))
        self.positions = nn.Parameter(torch.randn(1, tokens, width) * 0.02)
        self.encoder = Encoder(width, depth, heads, hidden)
        self.pre_logits = nn.Identity()
        self.head = nn.Linear(width, num_labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embedding(x).flatten(2).transpose(1, 2)                 # batch x patches x width
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], 1) + self.positions
        x = self.encoder(x)
        return self.head(self.pre_logits(x[:, 0]))                            # the class token, batch x width


def train_adamw(model: nn.Module, data: DataLoader, test: DataLoader, epochs: int, say) -> None:
    """AdamW, lr 1e-3 warmed up linearly over the first epoch then cosine to 0, weight decay 0.05."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    total, warmup, step = epochs * len(data), len(data), 0
    for epoch in range(epochs):
        model.train()
        started, loss_sum, seen = time.time(), 0.0, 0
        for images, labels in data:
            rate = 1e-3 * (min(1.0, (step + 1) / warmup) if step < warmup else
                           0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup))))
            for group in optimizer.param_groups:
                group["lr"] = rate
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(labels)
            seen += len(labels)
            step += 1
        say("epoch %d/%d: train loss %.3f, test SR %.4f, %.0f s" % (epoch + 1, epochs, loss_sum / seen,
                                                                     success_rate(model, test, torch.device("cpu")),
                                                                     time.time() - started))


def main() -> None:
    options = any_model.arguments("A small ViT on CIFAR-10, dissected by filterlens-torch", epochs=6,
                                  probe_epochs=2).parse_args()
    torch.set_num_threads(options.threads)
    torch.manual_seed(options.seed)
    say = any_model.Clock()
    train_loader, test_loader, test_count = any_model.cifar10(options, say)
    model = ViT()
    any_model.show_block_names(model, test_loader, say)
    say("phase 1: %d epochs" % options.epochs)
    train_adamw(model, train_loader, test_loader, options.epochs, say)
    layers = ["encoder.layers.%d" % index for index in range(6)] + ["pre_logits"]
    any_model.probe_dissect_report(model, layers, train_loader, test_loader, test_count, options, say)


if __name__ == "__main__":
    main()
