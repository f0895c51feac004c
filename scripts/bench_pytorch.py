#!/usr/bin/env python3
"""FilterLens engine vs PyTorch on the CPU: same architecture, batch, threads and machine, in one run.

Usage: python3 scripts/bench_pytorch.py [--preset vgg6] [--batch 128] [--threads 2] [--iterations 5] [--warmup 2]
                                      [--rounds 2] [--conv-algorithm auto]

Runs `.build/release/filterlens bench --json` (build it first: swift build -c release), then times the same
network in PyTorch (conv 3x3 without bias + batch norm + ReLU blocks, max-pools, FC head; SGD with Nesterov
momentum and weight decay; training mode for the step, eval mode for inference), both on random data, and prints
both results and the ratio engine / PyTorch. PyTorch is timed in both memory formats, NCHW (contiguous) and
channels_last (what a performance-minded user sets, and where oneDNN's direct convolutions run); the faster of
the two is the anchor of each ratio. The runs alternate (engine, torch NCHW, torch channels_last, engine, ...)
and each side's best median is kept, so background noise hits all alike. Also prints the CPU, its vector flags
and the OpenBLAS core the engine used. Needs torch (CPU build) and numpy.
"""
import argparse
import json
import os
import subprocess
import sys
import time

PRESETS = {
    "small": "16 16 M 32 32 M",
    "tiny": "8 M 16 M",
    "vgg6": "64 64 M 128 128 M 256 256 M",
    "vgg16": "64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M",
    "avgg16": "64 64 M 128 128 M 256 256 256 M 512 512 512 512 512 512 M4",
}


def build(notation, labels=10):
    import torch.nn as nn
    layers, channels, side = [], 3, 32
    for token in notation.split():
        if token.startswith("M"):
            size = int(token[1:] or 2)
            layers.append(nn.MaxPool2d(size, size))
            side //= size
        else:
            filters = int(token)
            layers += [nn.Conv2d(channels, filters, 3, padding=1, bias=False), nn.BatchNorm2d(filters), nn.ReLU(inplace=True)]
            channels = filters
    layers += [nn.Flatten(), nn.Linear(channels * side * side, labels)]
    return nn.Sequential(*layers)


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def torch_bench(notation, batch, threads, warmup, iterations, channels_last=False):
    """Training and inference images/s of PyTorch (median step), in NCHW or channels_last memory format."""
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = build(notation)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4, nesterov=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = (torch.rand(batch, 3, 32, 32) * 2 - 1).contiguous(memory_format=memory_format)
    y = torch.arange(batch) % 10
    train, infer = [], []
    for i in range(warmup + iterations):
        model.train()
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        t1 = time.perf_counter()
        model.eval()
        with torch.no_grad():
            model(x)
        t2 = time.perf_counter()
        if i >= warmup:
            train.append(t1 - t0)
            infer.append(t2 - t1)
    return batch / median(train), batch / median(infer), torch.__version__


def engine_bench(binary, notation, batch, warmup, iterations, threads, algorithm):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([binary, "bench", "--arch", notation, "--batch", str(batch), "--warmup", str(warmup),
                          "--iterations", str(iterations), "--analysis-images", "0", "--conv-algorithm", algorithm,
                          "--json"],
                         check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="vgg6", choices=sorted(PRESETS))
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="alternating engine/torch rounds")
    parser.add_argument("--binary", default=".build/release/filterlens")
    parser.add_argument("--conv-algorithm", default="auto", help="the engine's --conv-algorithm")
    args = parser.parse_args()
    notation = PRESETS[args.preset]
    engine = None
    best = {"nchw": [0.0, 0.0], "channels_last": [0.0, 0.0]}   # [train, inference] images/s
    version = ""
    for _ in range(args.rounds):
        result = engine_bench(args.binary, notation, args.batch, args.warmup, args.iterations, args.threads,
                              args.conv_algorithm)
        if engine is None or result["train_images_per_second"] > engine["train_images_per_second"]:
            engine = result
        for name in best:
            train, infer, version = torch_bench(notation, args.batch, args.threads, args.warmup, args.iterations,
                                                channels_last=name == "channels_last")
            best[name] = [max(best[name][0], train), max(best[name][1], infer)]
    anchor_train = max(best, key=lambda name: best[name][0])
    anchor_infer = max(best, key=lambda name: best[name][1])
    report = {
        "preset": args.preset, "batch": args.batch, "threads": args.threads,
        "cpu": engine.get("cpu"), "cpu_flags": engine.get("cpu_flags"),
        "openblas_core": engine["openblas_core"], "sgemm_gflops": engine.get("sgemm_gflops"),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", ""),
        "convolution_algorithms": engine.get("convolution_algorithms"),
        "torch_version": version,
        "engine_train_images_per_second": engine["train_images_per_second"],
        "torch_nchw_train_images_per_second": round(best["nchw"][0], 1),
        "torch_channels_last_train_images_per_second": round(best["channels_last"][0], 1),
        "train_anchor": anchor_train,
        "train_ratio": round(engine["train_images_per_second"] / best[anchor_train][0], 3),
        "engine_inference_images_per_second": engine["inference_images_per_second"],
        "torch_nchw_inference_images_per_second": round(best["nchw"][1], 1),
        "torch_channels_last_inference_images_per_second": round(best["channels_last"][1], 1),
        "inference_anchor": anchor_infer,
        "inference_ratio": round(engine["inference_images_per_second"] / best[anchor_infer][1], 3),
        # The engine's passes with unchanged weights (phases 2 and 3, the test pass) reuse the Winograd kernels'
        # transforms; PyTorch's eval passes are the same either way.
        "engine_frozen_inference_images_per_second": engine.get("frozen_inference_images_per_second"),
        "frozen_inference_ratio": round(engine["frozen_inference_images_per_second"] / best[anchor_infer][1], 3)
        if "frozen_inference_images_per_second" in engine else None,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.exit(main())
