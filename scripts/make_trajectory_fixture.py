#!/usr/bin/env python3
"""Writes the many-step PyTorch parity fixture of FilterLens's engine (Tests/EngineTests/Fixtures/trajectory.*).

The one-step fixture (make_parity_fixture.py) runs a batch of 4 at 16 x 16, on one thread, from a zero momentum
buffer. This one trains at full size: a 6-convolution VGG ("16 16 M 32 32 M 64 64 M" by default; VGG-6's shape at a
quarter of its width) on 32 x 32 CIFAR-10 images in batches of 100, for --steps steps of torch.optim.SGD (Nesterov,
momentum 0.9, weight decay 5e-4, constant --lr), so that batch statistics over 100 x 32 x 32 values, the engine's
threaded reductions and the momentum buffer after its first step are all exercised.

Float32 arithmetic in any summation order departs from exact arithmetic, and training amplifies the departure
step by step, so the engine cannot be held to PyTorch's float32 numbers bit for bit. The fixture holds the same
training twice in PyTorch, in float64 (the reference) and in float32: the test holds the engine as close to the
float64 run as PyTorch's own float32 run is (a few times that distance), which a wrong formula cannot pass.

Architecture as scripts/same_recipe_check.py builds it (bias-free 3x3 convolutions under nn.Conv2d's default
initialization, BatchNorm2d eps 1e-5 momentum 0.1, ReLU, 2x2 max-pools, one linear head). Inputs: the first
steps x batch training images of data_batch_1.bin in file order, x / 255 * 2 - 1, not augmented; batch k is images
k*batch ..< (k+1)*batch.

Tensors (names as the engine's parameter views): parameters/<name> and statistics_before/<name> (the initial
values); images (uint8, steps*batch x 3 x 32 x 32), labels (int32); of the float64 run: float64/losses (steps),
float64/gradients/<name> (step 1), float64/stepped/<name> (after the last step), float64/statistics/<name> (running
statistics after the last step). Of the float32 run only its distance from the float64 run, in the metadata's
"float32Distance": "losses" (|difference| per step) and "gradients/<name>", "stepped/<name>", "statistics/<name>"
(largest |difference| over the tensor). Output: trajectory.json (metadata and an index of
name, dtype, shape, offset in 4-byte elements) and trajectory.bin (raw little-endian float32 / int32 / uint8, each
tensor padded to 4 bytes), as parity.json / parity.bin.

Run: python3 scripts/make_trajectory_fixture.py --data outputs/data/cifar-10-batches-bin
     [--out Tests/EngineTests/Fixtures] [--notation "64 64 M 128 128 M 256 256 M"] [--steps 6] [--lr 0.02]
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn


def build(notation, labels):
    """The network and its parameters and running statistics by engine name."""
    layers, channels, side, names, statistics = [], 3, 32, [], []
    conv_index = 0
    for token in notation.split():
        if token.startswith("M"):
            size = int(token[1:] or 2)
            layers.append(nn.MaxPool2d(size, size))
            side //= size
            continue
        conv_index += 1
        conv = nn.Conv2d(channels, int(token), 3, padding=1, bias=False)
        bn = nn.BatchNorm2d(int(token), eps=1e-5, momentum=0.1)
        layers += [conv, bn, nn.ReLU()]
        names += [(f"conv{conv_index}.weight", conv.weight), (f"conv{conv_index}.bn.weight", bn.weight),
                  (f"conv{conv_index}.bn.bias", bn.bias)]
        statistics += [(f"conv{conv_index}.bn.running_mean", bn, "running_mean"),
                       (f"conv{conv_index}.bn.running_var", bn, "running_var")]
        channels = int(token)
    fc = nn.Linear(channels * side * side, labels)
    layers += [nn.Flatten(), fc]
    names += [("fc1.weight", fc.weight), ("fc1.bias", fc.bias)]
    return nn.Sequential(*layers), names, statistics


def train(notation, initial, images, labels, steps, batch, lr, dtype, prefix, tensors):
    """Trains from the `initial` parameters in `dtype`, recording under `prefix`."""
    torch.manual_seed(0)
    model, names, statistics = build(notation, 10)
    model = model.to(dtype)
    with torch.no_grad():
        for (name, parameter) in names:
            parameter.copy_(torch.from_numpy(initial[name]).to(dtype))
    x_all = torch.from_numpy(images).to(dtype) / 255 * 2 - 1
    y_all = torch.from_numpy(labels.astype(np.int64))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    losses = []
    model.train()
    for step in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x_all[step * batch:(step + 1) * batch]),
                                           y_all[step * batch:(step + 1) * batch])
        loss.backward()
        if step == 0:
            for name, parameter in names:
                tensors[f"{prefix}/gradients/{name}"] = parameter.grad.detach().float().numpy().copy()
        optimizer.step()
        losses.append(loss.item())
    tensors[f"{prefix}/losses"] = np.array(losses, np.float32)
    for name, parameter in names:
        tensors[f"{prefix}/stepped/{name}"] = parameter.detach().float().numpy().copy()
    for name, module, attribute in statistics:
        tensors[f"{prefix}/statistics/{name}"] = getattr(module, attribute).float().numpy().copy()
    return losses


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder with data_batch_1.bin (CIFAR-10 binary)")
    parser.add_argument("--out", default=os.path.join(here, "..", "Tests", "EngineTests", "Fixtures"))
    parser.add_argument("--notation", default="16 16 M 32 32 M 64 64 M")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    model, names, statistics = build(args.notation, 10)
    initial = {name: parameter.detach().numpy().copy() for name, parameter in names}
    records = np.fromfile(os.path.join(args.data, "data_batch_1.bin"), np.uint8).reshape(-1, 3073)
    records = records[: args.steps * args.batch]
    images = np.ascontiguousarray(records[:, 1:].reshape(-1, 3, 32, 32))
    labels = records[:, 0].astype(np.int32)
    tensors = {f"parameters/{name}": value for name, value in initial.items()}
    for name, module, attribute in statistics:
        tensors[f"statistics_before/{name}"] = getattr(module, attribute).numpy().copy()
    tensors["images"], tensors["labels"] = images, labels
    reference = train(args.notation, initial, images, labels, args.steps, args.batch, args.lr, torch.float64,
                      "float64", tensors)
    single_tensors = {}
    single = train(args.notation, initial, images, labels, args.steps, args.batch, args.lr, torch.float32,
                   "float32", single_tensors)
    # PyTorch float32's distance from float64: per step for the losses, the largest |difference| per tensor else.
    distance = {"losses": [abs(a - b) for a, b in zip(single, reference)]}
    for name, value in single_tensors.items():
        if not name.endswith("/losses"):
            key = name[len("float32/"):]
            distance[key] = float(np.abs(value.astype(np.float64) - tensors["float64/" + key]).max())
    os.makedirs(args.out, exist_ok=True)
    meta = {"generator": f"PyTorch {torch.__version__} (scripts/make_trajectory_fixture.py)",
            "notation": args.notation, "imageSize": 32, "head": [], "labelCount": 10, "batch": args.batch,
            "steps": args.steps, "learningRate": args.lr, "momentum": 0.9, "weightDecay": 5e-4, "nesterov": True,
            "float32Distance": distance}
    index, offset = [], 0
    with open(os.path.join(args.out, "trajectory.bin"), "wb") as f:
        for name, value in tensors.items():
            dtype = {np.dtype(np.int32): "int32", np.dtype(np.uint8): "uint8"}.get(value.dtype, "float32")
            data = np.ascontiguousarray(value, dtype={"int32": "<i4", "uint8": "u1", "float32": "<f4"}[dtype]).tobytes()
            data += b"\0" * (-len(data) % 4)
            f.write(data)
            index.append({"name": name, "dtype": dtype, "shape": list(value.shape), "offset": offset})
            offset += len(data) // 4
    with open(os.path.join(args.out, "trajectory.json"), "w") as f:
        json.dump({**meta, "tensors": index}, f, indent=1)
    print("losses float64 " + " ".join(f"{v:.6f}" for v in reference))
    print("losses float32 " + " ".join(f"{v:.6f}" for v in single))
    print(f"wrote {len(tensors)} tensors ({offset * 4} bytes) to {args.out}")


if __name__ == "__main__":
    main()
