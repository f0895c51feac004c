#!/usr/bin/env python3
"""Writes the PyTorch parity fixture of FilterLens's CNN engine (Tests/EngineTests/Fixtures/parity.*).

A small VGG in FilterLens's notation, "8 M 16 16 M4" on 3x16x16 input with a hidden FC head of 12 and 10 labels
(it covers conv + batch norm + ReLU, a block without a pool, 2x2 and 4x4 max-pools, and a two-layer FC head), is
built in PyTorch with seeded weights (batch-norm weights and biases randomised too). With a batch of 4 it runs:
  1. one forward in training mode, cross-entropy (mean), backward: logits, loss, every gradient, running stats;
  2. one step of torch.optim.SGD (lr 0.1, momentum 0.9, weight decay 5e-4, Nesterov): the stepped parameters;
  3. one forward in eval mode on the same input with the stepped parameters and updated statistics: eval logits.
Then, drawn after all of the above (so the tensors above stay as they were), the weights of two fresh nn.Conv2d
layers under PyTorch's default initialization, which [L] keeps and the engine's "pytorch-default" reproduces:
init/conv1.weight (64 x 3 x 3 x 3) and init/conv2.weight (128 x 64 x 3 x 3), the first two convolutions of VGG-6.

Names follow the engine: parameters/conv1.weight (F x C x 3 x 3), parameters/conv1.bn.weight, .bn.bias (F),
statistics/conv1.bn.running_mean, .running_var (F; "statistics_before/..." the initial ones), parameters/fc1.weight
(out x in), parameters/fc1.bias, ...; gradients/<same names>; stepped/<same names>; input (N x 3 x 16 x 16),
labels (N, int32), logits (N x 10), loss (1), eval_logits (N x 10).

Output: parity.h5 (h5py) and the same tensors as parity.bin (raw little-endian float32 / int32, back to back) with
parity.json (name, dtype, shape, offset in elements of 4 bytes), which the Swift tests read without HDF5.

Run: python3 scripts/make_parity_fixture.py  (needs torch, numpy, h5py; torch's CPU wheel is enough).
"""
import json
import os

import h5py
import numpy as np
import torch
import torch.nn as nn

NOTATION = "8 M 16 16 M4"
IMAGE_SIZE = 16
HEAD = [12]
LABELS = 10
BATCH = 4
LEARNING_RATE, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 5e-4


class Block(nn.Module):
    """3x3 conv (no bias) + batch norm + ReLU, optionally followed by a max-pool."""

    def __init__(self, inputs, filters, pool):
        super().__init__()
        self.conv = nn.Conv2d(inputs, filters, 3, stride=1, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(filters, eps=1e-5, momentum=0.1)
        self.pool = nn.MaxPool2d(pool, pool) if pool else None

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.pool(x) if self.pool is not None else x


def build():
    tokens = NOTATION.split()
    blocks, channels, side = [], 3, IMAGE_SIZE
    for i, token in enumerate(tokens):
        if token.startswith("M"):
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        pool = (int(following[1:]) if len(following) > 1 else 2) if following.startswith("M") else 0
        blocks.append(Block(channels, int(token), pool))
        channels = int(token)
        side //= pool or 1
    widths = [channels * side * side] + HEAD + [LABELS]
    fcs = [nn.Linear(widths[i], widths[i + 1]) for i in range(len(widths) - 1)]
    return nn.ModuleList(blocks), nn.ModuleList(fcs)


def main():
    torch.manual_seed(20240607)
    blocks, fcs = build()
    with torch.no_grad():
        for block in blocks:
            block.bn.weight.uniform_(0.5, 1.5)
            block.bn.bias.uniform_(-0.3, 0.3)

    def named_parameters():
        out = {}
        for l, block in enumerate(blocks, 1):
            out[f"conv{l}.weight"] = block.conv.weight
            out[f"conv{l}.bn.weight"] = block.bn.weight
            out[f"conv{l}.bn.bias"] = block.bn.bias
        for i, fc in enumerate(fcs, 1):
            out[f"fc{i}.weight"] = fc.weight
            out[f"fc{i}.bias"] = fc.bias
        return out

    def named_statistics():
        out = {}
        for l, block in enumerate(blocks, 1):
            out[f"conv{l}.bn.running_mean"] = block.bn.running_mean
            out[f"conv{l}.bn.running_var"] = block.bn.running_var
        return out

    def network(x):
        for block in blocks:
            x = block(x)
        x = torch.flatten(x, 1)
        for fc in fcs:  # no nonlinearity between FC layers, as in [L]
            x = fc(x)
        return x

    tensors = {}
    params = named_parameters()
    for name, p in params.items():
        tensors[f"parameters/{name}"] = p.detach().numpy().copy()
    for name, s in named_statistics().items():
        tensors[f"statistics_before/{name}"] = s.detach().numpy().copy()

    x = torch.rand(BATCH, 3, IMAGE_SIZE, IMAGE_SIZE) * 2 - 1
    labels = torch.tensor([3, 0, 7, 3], dtype=torch.int64)
    tensors["input"] = x.numpy().copy()
    tensors["labels"] = labels.numpy().astype(np.int32)

    blocks.train()
    logits = network(x)
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()
    tensors["logits"] = logits.detach().numpy().copy()
    tensors["loss"] = np.array([loss.item()], dtype=np.float32)
    for name, p in params.items():
        tensors[f"gradients/{name}"] = p.grad.detach().numpy().copy()
    for name, s in named_statistics().items():
        tensors[f"statistics/{name}"] = s.detach().numpy().copy()

    optimizer = torch.optim.SGD(list(params.values()), lr=LEARNING_RATE, momentum=MOMENTUM,
                                weight_decay=WEIGHT_DECAY, nesterov=True)
    optimizer.step()
    for name, p in params.items():
        tensors[f"stepped/{name}"] = p.detach().numpy().copy()

    blocks.eval()
    with torch.no_grad():
        tensors["eval_logits"] = network(x).numpy().copy()

    # nn.Conv2d's own reset_parameters (kaiming-uniform, a = sqrt(5)), with the bias [L]'s layers have.
    for index, (inputs, filters) in enumerate([(3, 64), (64, 128)], 1):
        tensors[f"init/conv{index}.weight"] = nn.Conv2d(inputs, filters, 3, padding=1).weight.detach().numpy().copy()

    here = os.path.dirname(os.path.abspath(__file__))
    folder = os.path.join(here, "..", "Tests", "EngineTests", "Fixtures")
    os.makedirs(folder, exist_ok=True)
    meta = {"generator": f"PyTorch {torch.__version__} (scripts/make_parity_fixture.py)", "notation": NOTATION,
            "imageSize": IMAGE_SIZE, "head": HEAD, "labelCount": LABELS, "batch": BATCH,
            "learningRate": LEARNING_RATE, "momentum": MOMENTUM, "weightDecay": WEIGHT_DECAY, "nesterov": True}
    with h5py.File(os.path.join(folder, "parity.h5"), "w") as f:
        for key, value in meta.items():
            f.attrs[key] = json.dumps(value) if isinstance(value, list) else value
        for name, value in tensors.items():
            f.create_dataset(name, data=value)
    index, offset = [], 0
    with open(os.path.join(folder, "parity.bin"), "wb") as f:
        for name, value in tensors.items():
            dtype = "int32" if value.dtype == np.int32 else "float32"
            data = np.ascontiguousarray(value, dtype="<i4" if dtype == "int32" else "<f4")
            f.write(data.tobytes())
            index.append({"name": name, "dtype": dtype, "shape": list(value.shape), "offset": offset})
            offset += data.size
    with open(os.path.join(folder, "parity.json"), "w") as f:
        json.dump({**meta, "tensors": index}, f, indent=1)
    print(f"loss {loss.item():.6f}; wrote {len(tensors)} tensors ({offset * 4} bytes) to {folder}")


if __name__ == "__main__":
    main()
