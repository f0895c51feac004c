"""What the any-model examples (cifar10_vit.py, cifar10_resnet.py) share: flags, CIFAR-10 loading, and the
block_names -> probe -> dissect -> `filterlens analyze` -> `filterlens report` sequence after training.

Reads CIFAR-10's standard binary files (cifar10_vgg.py's reader; `filterlens data prepare` writes them to
outputs/data/cifar-10-batches-bin from the JPEG copy). Single process.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from cifar10_vgg import CIFAR10, LABEL_NAMES, read_cifar10_subsets, success_rate
from filterlens_torch import block_names, dissect, probe


def arguments(description: str, epochs: int, probe_epochs: int) -> argparse.ArgumentParser:
    """The examples' common flags: data and out folders, subsets, epochs, batch size, seed, threads, the
    filterlens binary (to analyze and report), and dissect's max_device_bytes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", default="outputs/data", help="folder of the CIFAR-10 binary files")
    parser.add_argument("--out", required=True, help="run directory to write")
    parser.add_argument("--train-subset", type=int, default=10000, help="first N training images (0: all 50,000)")
    parser.add_argument("--test-subset", type=int, default=0, help="first N test images (0: all 10,000)")
    parser.add_argument("--epochs", type=int, default=epochs, help="training epochs (phase 1)")
    parser.add_argument("--probe-epochs", type=int, default=probe_epochs, help="phase 2 epochs (probe's recipe otherwise)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--max-device-bytes", type=int, default=None,
                        help="dissect's budget for the field sums (split over passes when they do not fit)")
    parser.add_argument("--filterlens", default=None,
                        help="the filterlens binary: when given, runs `filterlens analyze` and `report` on OUT")
    parser.add_argument("--overwrite", action="store_true")
    return parser


class Clock:
    """Prints lines prefixed with the seconds since it was made."""

    def __init__(self) -> None:
        self.started = time.time()

    def __call__(self, message: str) -> None:
        print("[%6.0f s] %s" % (time.time() - self.started, message), flush=True)


def cifar10(options: argparse.Namespace, say: Callable[[str], None]):
    """(augmented training loader, test loader, test image count) of the subsets the flags ask for."""
    train_images, train_labels, test_images, test_labels = read_cifar10_subsets(options.data, options.train_subset,
                                                                                options.test_subset)
    say("CIFAR-10 (JPEG copy): %d training and %d test images" % (len(train_labels), len(test_labels)))
    generator = torch.Generator().manual_seed(options.seed)
    train = DataLoader(CIFAR10(train_images, train_labels, augment=True), batch_size=options.batch_size,
                       shuffle=True, generator=generator)
    test = DataLoader(CIFAR10(test_images, test_labels, augment=False), batch_size=options.batch_size)
    return train, test, len(test_labels)


def show_block_names(model: nn.Module, test: DataLoader, say: Callable[[str], None]) -> Dict[str, tuple]:
    """Prints block_names(model, two test images) and returns it."""
    images, _ = next(iter(test))
    names = block_names(model, images[:2])
    say("block_names(model, images[:2]): %d modules" % len(names))
    for name, shape in names.items():
        print("    %-28s %s" % (name, shape))
    return names


def probe_dissect_report(model: nn.Module, layers: Sequence[str], train: DataLoader, test: DataLoader,
                         test_count: int, options: argparse.Namespace, say: Callable[[str], None],
                         layouts: Optional[Mapping[str, str]] = None) -> None:
    """Phase 2 (probe, the documented recipe but for the epochs), phase 3's sums (dissect) and, with
    ``--filterlens``, `filterlens analyze` and `filterlens report`, printing layers.csv's main columns."""
    say("network test SR %.4f" % success_rate(model, test, torch.device("cpu")))
    say("phase 2: %d heads on %s" % (len(layers), ", ".join(layers)))
    heads = probe(model, layers, train, len(LABEL_NAMES), test_loader=test, epochs=options.probe_epochs,
                  seed=options.seed, augment=True, progress=say, layouts=layouts)
    say("heads: %s" % ", ".join("%s %s %s" % (name, heads.layouts[name], "x".join(map(str, heads.shapes[name])))
                                for name in layers))
    result = dissect(model, layers, heads, test, options.out, LABEL_NAMES, dataset="CIFAR-10 (JPEG copy), %d test "
                     "images" % test_count, overwrite=options.overwrite, max_device_bytes=options.max_device_bytes,
                     progress=say)
    say("network SR %.4f; SR(l): %s" % (result.network_test_sr, " ".join(
        "%.3f" % result.head_test_sr[name] for name in layers)))
    os.makedirs(options.out, exist_ok=True)
    heads_path = os.path.join(options.out, "heads.pt")
    torch.save(heads.state_dict(), heads_path)
    say("wrote %s and %s (the heads' state_dict)" % (options.out, heads_path))
    if options.filterlens is None:
        say("next: filterlens analyze %s && filterlens report %s" % (options.out, options.out))
        return
    for command in ("analyze", "report"):
        started = time.time()
        completed = subprocess.run([options.filterlens, command, options.out], capture_output=True, text=True)
        if completed.returncode != 0:
            raise SystemExit("filterlens %s failed:\n%s" % (command, completed.stderr))
        say("filterlens %s %s: %.1f s" % (command, options.out, time.time() - started))
    print_layers(os.path.join(options.out, "layers.csv"), layers)


def print_layers(path: str, modules: Sequence[str]) -> None:
    """layers.csv's SR(l), clusters per filter, mean cluster size, noise and SNR, a line per layer."""
    columns = ["sr_probe_final", "clusters_per_filter", "mean_cluster_size", "mean_noise", "snr", "no_cluster_fraction"]
    with open(path) as handle:
        rows: List[Dict[str, str]] = list(csv.DictReader(handle))
    print("    %-20s %s" % ("layer", " ".join("%19s" % column for column in columns)))
    for row, module in zip(rows, modules):
        print("    %-20s %s" % (module, " ".join("%19s" % ("%.3f" % float(row[c]) if c in row else "-")
                                                for c in columns)))
