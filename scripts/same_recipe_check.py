#!/usr/bin/env python3
"""Same-recipe check: trains, in PyTorch, what FilterLens's engine trained, and prints both side by side.

    python3 scripts/same_recipe_check.py RUN [RUN ...] [--torch-seeds 1,2,3] [--threads 2] [--out DIR]

Each RUN is a run folder of `filterlens train` (its run.h5, or its checkpoint.h5 while phase 1 is still going: then
the epochs done so far). The runs must share one recipe; only their seeds may differ. From run.h5's `/config@json`
the script reads the architecture (VGG notation, FC head, labels), the data (the binary files of the run's data
folder, its label subset, the first N training and test images), the recipe (epochs, batch, learning rate, warm-up,
schedule, Nesterov momentum, weight decay, augmentation with its shift fill) and the convolution initialization, and
trains the same network in PyTorch on the same images, once per PyTorch seed (default: the runs' own seeds). It
prints, per epoch, every run's and every PyTorch seed's test and training SR with the means of each side, then the
final test SRs: mean, standard deviation, range, and whether the engine's mean lies inside the range of PyTorch's
seeds (the seed spread).

The PyTorch side, written out (docs/method.md): conv 3x3 (padding 1, no bias; [L]'s bias is removed again by the
batch norm that follows) + BatchNorm2d (eps 1e-5, momentum 0.1) + ReLU blocks, 2x2 (M) or 4x4 (M4) max-pools,
flatten, FC layers with no nonlinearity between them. Convolutions initialized as the run recorded:
"pytorch-default" is nn.Conv2d's own default (uniform in +-1/sqrt(C*9)), "he-normal" kaiming_normal_ (fan_in,
ReLU). Inputs x / 255 * 2 - 1; training batches flipped (p = 0.5) and shifted by -4..+4 pixels per axis, the
uncovered pixels set to the recorded fill (zero: 0; black: -1). SGD with Nesterov momentum and weight decay on every
parameter; the learning rate set before every batch by the engine's rule (linear warm-up over the first batches,
then the step, cosine or linear schedule). Training SR is measured over the epoch's augmented batches in training
mode, test SR in eval mode after the epoch, as the engine does. The shuffles and augmentation draws are PyTorch's
own (seeded), not the engine's: the two sides see the same distribution, not the same batches.

With --out DIR each PyTorch seed's epochs are saved as DIR/torch-seedS.json when that seed finishes, and a rerun
reuses them (an interrupted check loses at most the seed in progress); DIR/same-recipe.csv gets every epoch of both
sides. Needs torch (CPU build), numpy and h5py.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import h5py
import numpy as np

PROG = "same_recipe_check.py"


def fail(message: str) -> None:
    """One error line naming the script, exit status 1."""
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(1)


# --- the engine's run ------------------------------------------------------------------------------------------

METRIC_NAMES = ("train_loss", "train_sr", "test_loss", "test_sr", "seconds")


def read_run(folder: str) -> Tuple[dict, List[dict]]:
    """The run's configuration (run.h5 `/config@json`) and its epochs ({epoch, train_loss, train_sr, test_loss,
    test_sr, seconds}), from run.h5, or from checkpoint.h5 while phase 1 is in progress."""
    run_file, checkpoint = os.path.join(folder, "run.h5"), os.path.join(folder, "checkpoint.h5")
    try:
        if os.path.exists(run_file):
            with h5py.File(run_file, "r") as f:
                if "config" not in f or "json" not in f["config"].attrs:
                    fail(f"{run_file}: no /config@json; this check needs a run trained by `filterlens train`")
                config = json.loads(f["config"].attrs["json"])
                training = f["training"]
                columns = {name: np.asarray(training[name]) for name in ("epoch",) + METRIC_NAMES}
            epochs = [{"epoch": int(columns["epoch"][i]), **{name: float(columns[name][i]) for name in METRIC_NAMES}}
                      for i in range(len(columns["epoch"]))]
            return config, epochs
        if os.path.exists(checkpoint):
            with h5py.File(checkpoint, "r") as f:
                config = json.loads(f.attrs["config_json"])
                metrics = json.loads(f.attrs["metrics_json"])
            keys = {"trainLoss": "train_loss", "trainSR": "train_sr", "testLoss": "test_loss", "testSR": "test_sr",
                    "seconds": "seconds"}
            return config, [{"epoch": m["epoch"], **{new: m[old] for old, new in keys.items()}} for m in metrics]
    except (OSError, KeyError, ValueError) as error:
        fail(f"{folder}: unreadable run.h5 or checkpoint.h5 ({error}); train the run again with `filterlens train`")
    fail(f"{folder}: no run.h5 or checkpoint.h5; give the folder of a run made by `filterlens train`")
    raise AssertionError


# Fields that may differ between the runs compared (everything else is the recipe): the seed, and the convolution
# arithmetic (the same convolution up to float rounding, docs/method.md).
SEED_FIELDS = {"seed", "convolutionAlgorithms"}


def common_recipe(configs: Sequence[dict], folders: Sequence[str]) -> dict:
    """The recipe the runs share; refuses runs whose recipes differ in anything but the seed."""
    first = configs[0]
    for config, folder in zip(configs[1:], folders[1:]):
        keys = sorted(k for k in set(first) | set(config) if k not in SEED_FIELDS and first.get(k) != config.get(k))
        if keys:
            fail(f"{folder}: its recipe differs from {folders[0]}'s in {', '.join(keys)}; compare runs of one recipe")
    return first


# --- the same in PyTorch ----------------------------------------------------------------------------------------

def learning_rate(config: dict, epoch: int, batch: int, batches_per_epoch: int) -> float:
    """The engine's rate of 0-based batch `batch` (counted over the run) in 0-based epoch `epoch`
    (RunConfiguration.learningRate): the schedule, then the linear warm-up."""
    rate = config["learningRate"]
    schedule = config.get("learningRateSchedule") or "step"
    warmup = config["warmupBatches"]
    if schedule == "step":
        every = config["learningRateDecayEvery"]
        rate *= config["learningRateDecayFactor"] ** (epoch // every if every > 0 else 0)
    else:
        total = max(config["epochs"] * batches_per_epoch - warmup, 1)
        progress = min(max((batch - warmup) / total, 0.0), 1.0)
        rate *= 1 - progress if schedule == "linear" else 0.5 * (1 + math.cos(math.pi * progress))
    if warmup > 0 and batch < warmup:
        rate *= (batch + 1) / warmup
    return rate


def read_images(config: dict, data: Optional[str]) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training and test images (uint8 N x 3 x 32 x 32) and labels (int64 N, relabelled 0..K-1 in the run's label
    order) of the run's labels: the first trainImages and testImages of them, in file order, as the engine loads."""
    folder = data or config["dataDirectory"]
    cifar100 = (config.get("dataFormat") or "cifar-10") == "cifar-100"
    for name in (("cifar-100-binary",) if cifar100 else ("cifar-10-batches-bin",)):
        if os.path.isdir(os.path.join(folder, name)):
            folder = os.path.join(folder, name)
    if cifar100:
        files = {"train": ["train.bin"], "test": ["test.bin"]}
        record, label_byte = 3074, 0 if config.get("labelSet") == "coarse" else 1
    else:
        files = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
        record, label_byte = 3073, 0
    labels_used = config.get("labels") or list(range(config["labelCount"]))
    relabel = np.full(256, -1, np.int64)
    relabel[np.asarray(labels_used)] = np.arange(len(labels_used))
    out = []
    for split, limit in (("train", config["trainImages"]), ("test", config["testImages"])):
        chunks = []
        for name in files[split]:
            path = os.path.join(folder, name)
            if not os.path.exists(path):
                fail(f"{path}: missing; prepare the run's data (`filterlens data prepare`) or give --data DIR")
            chunks.append(np.fromfile(path, np.uint8).reshape(-1, record))
        records = np.concatenate(chunks)
        run_labels = relabel[records[:, label_byte]]
        records, run_labels = records[run_labels >= 0][:limit], run_labels[run_labels >= 0][:limit]
        out += [records[:, record - 3072:].reshape(-1, 3, 32, 32), run_labels]
    return out[0], out[1], out[2], out[3]


def build_network(config: dict, torch):
    """The run's architecture in PyTorch, its convolutions initialized as recorded."""
    nn = torch.nn
    layers, channels, side = [], 3, 32
    initialization = config.get("convolutionInitialization") or "he-normal"
    if initialization not in ("pytorch-default", "he-normal"):
        fail(f"unknown convolution initialization {initialization!r} in the run's configuration")
    for token in config["notation"].split():
        if token.startswith("M"):
            size = int(token[1:] or 2)
            layers.append(nn.MaxPool2d(size, size))
            side //= size
            continue
        conv = nn.Conv2d(channels, int(token), 3, padding=1, bias=False)    # nn.Conv2d's default init: [L]'s
        if initialization == "he-normal":
            nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
        layers += [conv, nn.BatchNorm2d(int(token), eps=1e-5, momentum=0.1), nn.ReLU(inplace=True)]
        channels = int(token)
    widths = [channels * side * side] + list(config.get("head") or []) + [config["labelCount"]]
    layers.append(nn.Flatten())
    layers += [nn.Linear(widths[i], widths[i + 1]) for i in range(len(widths) - 1)]
    return nn.Sequential(*layers)


def augment(batch, fill: float, generator, torch):
    """Random horizontal flip (p = 0.5) and shift of -4..+4 pixels per axis of a batch (N x 3 x 32 x 32), the
    uncovered pixels set to `fill`."""
    n = batch.shape[0]
    draws = torch.randint(0, 9, (n, 2), generator=generator) - 4
    flips = torch.randint(0, 2, (n,), generator=generator).bool()
    batch = torch.where(flips[:, None, None, None], batch.flip(3), batch)
    padded = torch.full((n, 3, 40, 40), fill, dtype=batch.dtype)
    padded[:, :, 4:36, 4:36] = batch
    out = torch.empty_like(batch)
    for i in range(n):
        y, x = 4 + int(draws[i, 0]), 4 + int(draws[i, 1])
        out[i] = padded[i, :, y:y + 32, x:x + 32]
    return out


def train_torch(config: dict, seed: int, images, threads: int, label: str) -> List[dict]:
    """Trains the run's recipe in PyTorch with `seed`; returns its epochs."""
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    train_x, train_y, test_x, test_y = images
    scale = lambda x: torch.from_numpy(x).float() / 255 * 2 - 1
    train_x, test_x = scale(train_x), scale(test_x)
    train_y, test_y = torch.from_numpy(train_y), torch.from_numpy(test_y)
    model = build_network(config, torch)
    optimizer = torch.optim.SGD(model.parameters(), lr=config["learningRate"], momentum=config["momentum"],
                                weight_decay=config["weightDecay"], nesterov=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    fill = {"zero": 0.0, "black": -1.0}[config.get("shiftFill") or "black"]
    batch_size, count = config["batchSize"], len(train_y)
    batches_per_epoch = (count + batch_size - 1) // batch_size
    epochs = []
    for epoch in range(config["epochs"]):
        start = time.time()
        model.train()
        order = torch.randperm(count, generator=generator)
        loss_sum, correct = 0.0, 0
        for b in range(batches_per_epoch):
            index = order[b * batch_size:(b + 1) * batch_size]
            x, y = train_x[index], train_y[index]
            if config["augment"]:
                x = augment(x, fill, generator, torch)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, epoch, epoch * batches_per_epoch + b, batches_per_epoch)
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            if not math.isfinite(loss.item()):
                fail(f"PyTorch seed {seed}: the loss is not finite in epoch {epoch + 1}, batch {b + 1}")
            loss_sum += loss.item() * len(y)
            correct += int((logits.argmax(1) == y).sum())
        model.eval()
        test_loss, test_correct = 0.0, 0
        with torch.no_grad():
            for b in range(0, len(test_y), batch_size):
                logits = model(test_x[b:b + batch_size])
                test_loss += float(loss_fn(logits, test_y[b:b + batch_size])) * len(logits)
                test_correct += int((logits.argmax(1) == test_y[b:b + batch_size]).sum())
        seconds = time.time() - start
        epochs.append({"epoch": epoch + 1, "train_loss": loss_sum / count, "train_sr": correct / count,
                       "test_loss": test_loss / len(test_y), "test_sr": test_correct / len(test_y), "seconds": seconds})
        left = seconds * (config["epochs"] - epoch - 1)
        print(f"{label}: epoch {epoch + 1}/{config['epochs']}  train SR {correct / count:.4f}  "
              f"test SR {test_correct / len(test_y):.4f}  {count / seconds:.0f} img/s  {seconds:.0f} s  "
              f"ETA {left / 60:.1f} min", file=sys.stderr, flush=True)
    return epochs


# --- side by side -----------------------------------------------------------------------------------------------

def spread(values: Sequence[float]) -> str:
    """mean ± standard deviation [min, max] (n)."""
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.4f} ± {sd:.4f} [{min(values):.4f}, {max(values):.4f}] (n = {len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folders of one recipe (seeds may differ)")
    parser.add_argument("--torch-seeds", help="PyTorch seeds, comma-separated (default: the runs' seeds)")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (default 2)")
    parser.add_argument("--data", help="folder of the binary files (default: the run's recorded data folder)")
    parser.add_argument("--out", help="folder for each PyTorch seed's epochs (reused by a rerun) and same-recipe.csv")
    args = parser.parse_args()
    try:
        seeds = [int(s) for s in args.torch_seeds.split(",")] if args.torch_seeds else None
    except ValueError:
        fail(f"--torch-seeds: {args.torch_seeds!r} is not a comma-separated list of integers")
    if args.threads < 1:
        fail("--threads must be at least 1")

    loaded = [read_run(folder) for folder in args.runs]
    config = common_recipe([c for c, _ in loaded], args.runs)
    engine = {f"engine seed {c['seed']}": epochs for c, epochs in loaded}
    seeds = seeds or [c["seed"] for c, _ in loaded]
    print(f"recipe: {config['notation']}" + (f" + FC {config['head']}" if config.get("head") else "")
          + f", {config['labelCount']} labels, {config['trainImages']} training / {config['testImages']} test images of "
          f"{config['dataset']}; {config['epochs']} epochs, batch {config['batchSize']}, lr {config['learningRate']} "
          f"({config.get('learningRateSchedule') or 'step'}, warm-up {config['warmupBatches']} batches), momentum "
          f"{config['momentum']} (Nesterov), weight decay {config['weightDecay']}, augmentation "
          f"{'flip + shift 4, ' + (config.get('shiftFill') or 'black') + ' fill' if config['augment'] else 'none'}, "
          f"convolutions {config.get('convolutionInitialization') or 'he-normal'}", flush=True)

    images = read_images(config, args.data)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    torch_runs: Dict[str, List[dict]] = {}
    for seed in seeds:
        label = f"PyTorch seed {seed}"
        saved = os.path.join(args.out, f"torch-seed{seed}.json") if args.out else None
        if saved and os.path.exists(saved):
            with open(saved) as f:
                record = json.load(f)
            if record.get("config") == config:
                torch_runs[label] = record["epochs"]
                print(f"{label}: reusing {saved}", file=sys.stderr)
                continue
        torch_runs[label] = train_torch(config, seed, images, args.threads, label)
        if saved:
            with open(saved + ".tmp", "w") as f:
                json.dump({"config": config, "seed": seed, "epochs": torch_runs[label]}, f)
            os.replace(saved + ".tmp", saved)

    columns = list(engine) + list(torch_runs)
    every = {**engine, **torch_runs}
    for metric, title in (("test_sr", "test SR"), ("train_sr", "training SR")):
        print(f"\n{title} per epoch")
        print("| epoch | " + " | ".join(columns) + " | engine mean | PyTorch mean |")
        print("|---" * (len(columns) + 3) + "|")
        for e in range(config["epochs"]):
            def value(name):
                epochs = every[name]
                return epochs[e][metric] if e < len(epochs) else None
            cells = [value(name) for name in columns]
            means = []
            for group in (engine, torch_runs):
                got = [value(name) for name in group if value(name) is not None]
                means.append(f"{statistics.mean(got):.4f}" if got else "")
            print(f"| {e + 1} | " + " | ".join("" if v is None else f"{v:.4f}" for v in cells) + " | "
                  + " | ".join(means) + " |")

    finals = {group: [runs[name][-1]["test_sr"] for name in runs if len(runs[name]) == config["epochs"]]
              for group, runs in (("engine", engine), ("PyTorch", torch_runs))}
    print("\nfinal test SR")
    for group, values in finals.items():
        print(f"  {group:8s} {spread(values) if values else 'no finished run'}")
    if finals["engine"] and len(finals["PyTorch"]) > 1:
        mean = statistics.mean(finals["engine"])
        low, high = min(finals["PyTorch"]), max(finals["PyTorch"])
        difference = mean - statistics.mean(finals["PyTorch"])
        inside = low <= mean <= high
        print(f"  engine mean - PyTorch mean = {difference:+.4f}; the engine's mean is "
              f"{'inside' if inside else 'outside'} the PyTorch seeds' range [{low:.4f}, {high:.4f}]")
    if args.out:
        path = os.path.join(args.out, "same-recipe.csv")
        with open(path + ".tmp", "w") as f:
            f.write("side,seed,epoch," + ",".join(METRIC_NAMES) + "\n")
            for name, epochs in every.items():
                side, seed = ("engine", name.split()[-1]) if name.startswith("engine") else ("pytorch", name.split()[-1])
                for row in epochs:
                    f.write(f"{side},{seed},{row['epoch']}," + ",".join(f"{row[k]:.6g}" for k in METRIC_NAMES) + "\n")
        os.replace(path + ".tmp", path)
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
