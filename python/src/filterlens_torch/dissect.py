"""Phase 3's test pass: field sums of every layer on the device, the heads' and the network's test SR, and a run
directory in FilterLens's layout that ``filterlens analyze`` and ``filterlens report`` read."""
from __future__ import annotations

import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .distributed import is_distributed, rank_and_world_size, sum_across_processes, wait_for_all
from .fields import FieldSumsAccumulator
from .hooks import BlockOutputs, unwrapped
from .lock import RunFolderInUse, RunFolderLock
from .layout import (ACTIVATIONS_FILE, FIELDS_FILE, PROBE_FILE, RUN_FILE, ActivationsWriter, HeadRecord, LayerFieldSums,
                     NetworkEvaluation, ProbeRecipeRecord, write_fields_file, write_probe_file, write_run_file)
from .probe import Batches, ProbedHeads, block_shape

DERIVED_FILES = ("analysis.h5", "analysis-checkpoint.h5", "layers.csv")
"""Files ``filterlens analyze`` derives from a run; an overwritten run loses them, since they no longer match."""


@dataclass
class Dissection:
    """What ``dissect`` measured (the same numbers on every process).

    sums[layer]: float64 [input_label, filter, output_label]; images_per_label: int64 [label];
    head_test_sr[layer]: SR of each head on this test pass; network_test_sr: the model's own SR (NaN when its
    output is not batch x labels scores).
    """

    directory: str
    sums: Dict[str, np.ndarray]
    images_per_label: np.ndarray
    head_test_sr: Dict[str, float]
    network_test_sr: float
    network_test_loss: float
    seconds: float


def dissect(model: nn.Module, layers: Sequence[str], heads: Mapping[str, nn.Linear], test_loader: Batches, out: str,
            label_names: Sequence[str], write_activations: bool = False, *, dataset: str = "unknown",
            overwrite: bool = False) -> Dissection:
    """One test pass of the frozen ``model`` (inference mode) that accumulates, on the model's device, each layer's
    field sums and the image count per label (no block output is kept), measures each head's and the network's
    test SR, and writes the run directory ``out``: run.h5 (label names, network SR), probe.h5 (the heads with their
    probe history) and fields.h5; with ``write_activations``, also activations.h5 (every block output: for runs small
    enough, single process only).

    ``layers`` are the module names given to ``probe`` (layer l = ``layers[l-1]``, numbered from the input);
    ``heads`` maps each to its bias-free ``nn.Linear(C*H*W, labels)``, usually ``probe``'s result. Under
    torch.distributed each process passes its shard of the test set; sums, counts and SR counts are summed across
    processes and rank 0 writes. ``out`` must not hold a run already unless ``overwrite``; while ``dissect`` works,
    rank 0 holds ``out``'s lock (``.filterlens.lock``, shared with the ``filterlens`` command line), and a folder
    another process is writing raises ``RunFolderInUse``.
    """
    rank, world_size = rank_and_world_size()
    names = list(layers)
    missing = [name for name in names if name not in heads]
    if missing:
        raise KeyError("no head for layer(s) %s: pass probe()'s result as `heads`" % missing)
    if write_activations and is_distributed():
        raise ValueError("write_activations=True needs a single process: under torch.distributed the block outputs "
                         "stay on each rank; the field sums (fields.h5) are all `filterlens analyze` needs")
    lock = _prepare_directory(out, overwrite, write_activations, rank)
    try:
        return _dissect_locked(model, names, heads, test_loader, out, label_names, write_activations, dataset, rank,
                               world_size)
    finally:
        if lock is not None:
            lock.release()


def _dissect_locked(model: nn.Module, names: List[str], heads: Mapping[str, nn.Linear], test_loader: Batches, out: str,
                    label_names: Sequence[str], write_activations: bool, dataset: str, rank: int,
                    world_size: int) -> Dissection:
    """``dissect`` once its output folder is prepared (and, on rank 0, locked)."""
    label_count = len(label_names)
    network = unwrapped(model)
    device = next(network.parameters()).device
    accumulators: Dict[str, FieldSumsAccumulator] = {}
    head_correct = torch.zeros(len(names), dtype=torch.int64, device=device)
    network_correct = torch.zeros(1, dtype=torch.int64, device=device)
    network_loss = torch.zeros(1, dtype=torch.float64, device=device)
    network_scored = True
    writer: Optional[ActivationsWriter] = None
    started = time.time()
    was_training = network.training
    network.eval()
    try:
        with BlockOutputs(network, names) as blocks, torch.no_grad():
            for images, labels in test_loader:
                images, labels = images.to(device), labels.to(device=device, dtype=torch.int64)
                outputs = network(images)
                if isinstance(outputs, torch.Tensor) and outputs.dim() == 2 and outputs.shape[1] == label_count:
                    network_correct += (outputs.argmax(1) == labels).sum()
                    network_loss += F.cross_entropy(outputs.float(), labels, reduction="sum").double()
                else:
                    network_scored = False
                if not accumulators:
                    for name in names:
                        shape = block_shape(blocks.output(name))
                        accumulators[name] = FieldSumsAccumulator(heads[name].weight.to(device), shape)
                        if heads[name].weight.shape[0] != label_count:
                            raise ValueError("head of %r has %d outputs for %d label names"
                                             % (name, heads[name].weight.shape[0], label_count))
                    if write_activations:
                        writer = ActivationsWriter(os.path.join(out, ACTIVATIONS_FILE),
                                                   [(index + 1, name, accumulators[name].shape)
                                                    for index, name in enumerate(names)])
                        writer.open()
                for index, name in enumerate(names):
                    output = blocks.output(name)
                    accumulators[name].add(output, labels)
                    scores = F.linear(output.flatten(1).float(), accumulators[name].head_weight)
                    head_correct[index] += (scores.argmax(1) == labels).sum()
                if writer is not None:
                    writer.add(labels.cpu().numpy(), {index + 1: blocks.output(name).float().cpu().numpy()
                                                      for index, name in enumerate(names)})
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    finally:
        network.train(was_training)
    if not accumulators:
        raise ValueError("test_loader yielded no batch")
    for accumulator in accumulators.values():
        sum_across_processes(accumulator.sums)
        sum_across_processes(accumulator.images_per_label)
    for tensor in (head_correct, network_correct, network_loss):
        sum_across_processes(tensor)
    counts = accumulators[names[0]].images_per_label.cpu().numpy()
    image_count = int(counts.sum())
    network_sr = int(network_correct.item()) / image_count if network_scored else math.nan
    network_mean_loss = float(network_loss.item()) / image_count if network_scored else math.nan
    result = Dissection(
        directory=out, sums={name: accumulators[name].sums.cpu().numpy() for name in names},
        images_per_label=counts, head_test_sr={name: int(head_correct[index].item()) / image_count
                                               for index, name in enumerate(names)},
        network_test_sr=network_sr, network_test_loss=network_mean_loss, seconds=time.time() - started)
    if rank == 0:
        _write_run(result, names, heads, accumulators, label_names, dataset, world_size, device)
        if writer is not None:
            writer.commit()
    wait_for_all()
    return result


def _prepare_directory(out: str, overwrite: bool, write_activations: bool, rank: int) -> Optional[RunFolderLock]:
    """Rank 0 takes ``out``'s lock, checks ``out`` (refusing an existing run unless ``overwrite``) and removes what
    an overwritten run would leave stale; every process learns whether that succeeded, so none waits in a collective
    alone. Returns rank 0's held lock (the caller releases it), None on the other ranks."""
    problem = torch.zeros(1, dtype=torch.int64)
    failure: Optional[Exception] = None
    lock: Optional[RunFolderLock] = None
    if rank == 0:
        os.makedirs(out, exist_ok=True)
        try:
            lock = RunFolderLock(out, "filterlens_torch.dissect").acquire()
        except RunFolderInUse as error:
            failure = error
        if failure is None and os.path.exists(os.path.join(out, RUN_FILE)) and not overwrite:
            failure = FileExistsError("%s already holds a run (%s): choose another `out` or pass overwrite=True"
                                      % (out, os.path.join(out, RUN_FILE)))
        if failure is not None:
            problem += 1
            if lock is not None:
                lock.release()
                lock = None
        else:
            stale = list(DERIVED_FILES) + ([] if write_activations else [ACTIVATIONS_FILE])
            for name in stale:
                path = os.path.join(out, name)
                if os.path.exists(path):
                    os.remove(path)
    if is_distributed():
        import torch.distributed as dist
        if dist.get_backend() == "nccl":
            problem = problem.cuda()
        sum_across_processes(problem)
    if int(problem.item()):
        if failure is not None:
            raise failure
        raise FileExistsError("rank 0 refused the output directory %s (see its error)" % out)
    return lock


def _write_run(result: Dissection, names: List[str], heads: Mapping[str, nn.Linear],
               accumulators: Mapping[str, FieldSumsAccumulator], label_names: Sequence[str], dataset: str,
               world_size: int, device: torch.device) -> None:
    history = heads.history if isinstance(heads, ProbedHeads) else {}
    records: List[HeadRecord] = []
    for index, name in enumerate(names):
        epochs = history.get(name, [])
        train_loss = [epoch.train_loss for epoch in epochs] or [math.nan]
        test_sr = [epoch.test_sr for epoch in epochs] or [math.nan]
        if math.isnan(test_sr[-1]):
            test_sr[-1] = result.head_test_sr[name]   # probe had no test loader: this pass measured the final SR
        records.append(HeadRecord(layer=index + 1, module=name,
                                  weight=heads[name].weight.detach().float().cpu().numpy(),
                                  shape=accumulators[name].shape, train_loss=train_loss, test_sr=test_sr))
    recipe = None
    if isinstance(heads, ProbedHeads):
        r = heads.recipe
        recipe = ProbeRecipeRecord(epochs=r.epochs, learning_rate=r.learning_rate, lr_decay=r.lr_decay,
                                   momentum=r.momentum, weight_decay=r.weight_decay,
                                   batch_size=heads.batch_size * world_size, augment=r.augment, seed=r.seed)
    network = (NetworkEvaluation(result.network_test_sr, result.network_test_loss)
               if not math.isnan(result.network_test_sr) else None)
    provenance = {
        "command_line": " ".join(sys.argv), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.platform(), "cpu_cores": str(os.cpu_count()), "torch_version": torch.__version__,
        "device": str(device), "world_size": str(world_size), "python_version": platform.python_version(),
    }
    run_id = write_run_file(os.path.join(result.directory, RUN_FILE), label_names, dataset, network, provenance)
    write_probe_file(os.path.join(result.directory, PROBE_FILE), run_id, len(label_names), records, recipe)
    write_fields_file(os.path.join(result.directory, FIELDS_FILE), result.images_per_label,
                      [LayerFieldSums(index + 1, name, accumulators[name].shape, result.sums[name])
                       for index, name in enumerate(names)])
