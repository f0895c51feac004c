"""Phase 3's test pass: field sums of every layer on the device, the heads' and the network's test SR, and a run
directory in FilterLens's layout that ``filterlens analyze`` and ``filterlens report`` read."""
from __future__ import annotations

import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .distributed import is_distributed, rank_and_world_size, sum_across_processes, wait_for_all
from .fields import FieldSumsAccumulator
from .hooks import BlockOutputs, BlockShape, check_layouts, model_device, unwrapped
from .lock import RunFolderInUse, RunFolderLock
from .layout import (ACTIVATIONS_FILE, FIELDS_FILE, PROBE_FILE, RUN_FILE, ActivationsWriter, HeadRecord, LayerFieldSums,
                     NetworkEvaluation, ProbeRecipeRecord, write_fields_file, write_probe_file, write_run_file)
from .probe import Batches, ProbedHeads
from .top_images import DEFAULT_TOP_IMAGES, ImageCopies, TopImagesAccumulator

DERIVED_FILES = ("probe-checkpoint.h5", "analysis.h5", "analysis-checkpoint.h5", "layers.csv", "prune.h5",
                 "prune-checkpoint.h5")
"""Files ``filterlens probe``, ``analyze`` and ``prune`` derive from a run; an overwritten run loses them, since they
no longer match. The command line's rule is ``RunDirectory.derived(after: .train)`` less the probe.h5 that ``dissect``
writes itself (a test holds the two lists equal); report.html stays and ``filterlens status`` calls it stale."""


FilterRange = Tuple[str, int, int]
"""(layer, start, stop): filters start..stop-1 of a layer's field sums, summed in one pass."""


def bytes_per_filter(label_count: int, batch_size: int) -> int:
    """Device bytes one filter's field sums take during a pass: 8 L^2 for its float64 sums [input_label,
    output_label], and 12 B L for one batch's fields (float32, then the float64 copy added to the sums)."""
    return 8 * label_count * label_count + 12 * batch_size * label_count


def plan_passes(filters: Sequence[Tuple[str, int]], label_count: int, batch_size: int,
                max_device_bytes: Optional[int]) -> List[List[FilterRange]]:
    """Splits the field sums of ``filters`` ([(layer, filter count)], in order) over test passes so that each pass
    holds at most ``max_device_bytes`` of them (``bytes_per_filter`` per filter, plus 8 L bytes of image counts):
    layers in order, a layer split by filters where it does not fit whole. None: one pass with every layer."""
    if max_device_bytes is None:
        return [[(name, 0, count) for name, count in filters]]
    per_filter = bytes_per_filter(label_count, batch_size)
    room = int(max_device_bytes) - 8 * label_count
    if room < per_filter:
        raise ValueError("max_device_bytes=%d is too small for even one filter: one filter's sums and one batch's "
                         "fields take %d bytes (8 L^2 + 12 B L with L = %d labels, B = %d images a batch), the image "
                         "counts %d more; give max_device_bytes >= %d, or a smaller test batch"
                         % (max_device_bytes, per_filter, label_count, batch_size, 8 * label_count,
                            per_filter + 8 * label_count))
    capacity = room // per_filter   # filters a pass holds
    passes: List[List[FilterRange]] = [[]]
    free = capacity
    for name, count in filters:
        start = 0
        while start < count:
            if free == 0:
                passes.append([])
                free = capacity
            stop = min(count, start + free)
            passes[-1].append((name, start, stop))
            free -= stop - start
            start = stop
    return passes


@dataclass
class Dissection:
    """What ``dissect`` measured (the same numbers on every process).

    sums[layer]: float64 [input_label, filter, output_label]; images_per_label: int64 [label];
    head_test_sr[layer]: SR of each head on this test pass; network_test_sr: the model's own SR (NaN when its
    output is not batch x labels scores); passes: the filters each test pass summed (one pass without a budget).
    """

    directory: str
    sums: Dict[str, np.ndarray]
    images_per_label: np.ndarray
    head_test_sr: Dict[str, float]
    network_test_sr: float
    network_test_loss: float
    seconds: float
    passes: List[List[FilterRange]] = field(default_factory=list)
    top_images: Dict[str, Tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    """Per layer, (indices int64, values float64, labels int32), each [filter, rank]: the test images with the
    largest spatially averaged block output of each filter, largest first (fields.h5's ``/top_images``)."""
    image_copies: Optional[Tuple[np.ndarray, np.ndarray]] = None
    """(index int64 [image], pixels uint8 [image, height, width, 3]): small copies of every top image (fields.h5's
    ``/image_copies``); None when the model's input is not images."""


def dissect(model: nn.Module, layers: Sequence[str], heads: Mapping[str, nn.Linear], test_loader: Batches, out: str,
            label_names: Sequence[str], write_activations: bool = False, *, dataset: str = "unknown",
            overwrite: bool = False, max_device_bytes: Optional[int] = None, layouts: Optional[Mapping] = None,
            progress: Optional[Callable[[str], None]] = None, top_images: int = DEFAULT_TOP_IMAGES) -> Dissection:
    """One test pass of the frozen ``model`` (inference mode) that accumulates, on the model's device, each layer's
    field sums and the image count per label (no block output is kept), measures each head's and the network's
    test SR, and writes the run directory ``out``: run.h5 (label names, network SR), probe.h5 (the heads with their
    probe history) and fields.h5; with ``write_activations``, also activations.h5 (every block output: for runs small
    enough, single process only).

    ``layers`` are the module names given to ``probe`` (layer l = ``layers[l-1]``, numbered from the input);
    ``heads`` maps each to its bias-free ``nn.Linear(C*H*W, labels)``, usually ``probe``'s result, whose layouts
    it reads (for plain heads, pass ``layouts`` as to ``probe``). Under
    torch.distributed each process passes its shard of the test set; sums, counts and SR counts are summed across
    processes and rank 0 writes. ``out`` must not hold a run already unless ``overwrite``; while ``dissect`` works,
    rank 0 holds ``out``'s lock (``.filterlens.lock``, shared with the ``filterlens`` command line), and a folder
    another process is writing raises ``RunFolderInUse``.

    Device memory: the sums take 8 L^2 F bytes a layer (L labels, F filters). With ``max_device_bytes`` the sums
    (and one batch's fields: ``bytes_per_filter``) held at once stay within it: layers, or filters of a layer, are
    split over several passes of ``test_loader`` (``plan_passes``), which must then yield the same images each time
    (no random augmentation); the SRs are measured in the first pass. ``progress`` gets a line per pass.

    Top images: during the first pass, each filter's ``top_images`` (k) test images with the largest spatially
    averaged block output are kept on the device (24 F k bytes a layer), and small copies of the images that enter a
    top k on the CPU (``top_images.COPY_DEFINITION``); fields.h5 stores the top k of every filter and the copies of
    the final top images, which ``filterlens analyze`` and ``report`` show. Image indices count the images in the
    loader's order (under torch.distributed, rank r's i-th image is r + world_size * i, a DistributedSampler's order
    without shuffling).
    """
    rank, world_size = rank_and_world_size()
    names = list(layers)
    missing = [name for name in names if name not in heads]
    if missing:
        raise KeyError("no head for layer(s) %s: pass probe()'s result as `heads`" % missing)
    recorded = dict(getattr(heads, "layouts", {}) or {})
    declared = check_layouts(names, layouts)
    for name, layout in declared.items():
        if name in recorded and recorded[name] != layout:
            raise ValueError("layouts[%r] = %r, but the heads were probed with %r: drop `layouts` or probe again"
                             % (name, layout, recorded[name]))
    declared = {**{name: recorded[name] for name in names if name in recorded}, **declared}
    if max_device_bytes is not None and max_device_bytes <= 0:
        raise ValueError("max_device_bytes must be positive (or None: no limit), got %r" % max_device_bytes)
    if write_activations and is_distributed():
        raise ValueError("write_activations=True needs a single process: under torch.distributed the block outputs "
                         "stay on each rank; the field sums (fields.h5) are all `filterlens analyze` needs")
    lock = _prepare_directory(out, overwrite, write_activations, rank)
    try:
        if top_images <= 0:
            raise ValueError("top_images must be positive, got %r" % top_images)
        return _dissect_locked(model, names, heads, test_loader, out, label_names, write_activations, dataset, rank,
                               world_size, declared, max_device_bytes, progress if rank == 0 else None, top_images)
    finally:
        if lock is not None:
            lock.release()


def _dissect_locked(model: nn.Module, names: List[str], heads: Mapping[str, nn.Linear], test_loader: Batches, out: str,
                    label_names: Sequence[str], write_activations: bool, dataset: str, rank: int,
                    world_size: int, layouts: Dict[str, str], max_device_bytes: Optional[int],
                    progress: Optional[Callable[[str], None]], top_count: int = DEFAULT_TOP_IMAGES) -> Dissection:
    """``dissect`` once its output folder is prepared (and, on rank 0, locked)."""
    label_count = len(label_names)
    network = unwrapped(model)
    device = model_device(network)
    head_weights: Dict[str, torch.Tensor] = {}
    shapes: Dict[str, BlockShape] = {}
    head_correct = torch.zeros(len(names), dtype=torch.int64, device=device)
    network_correct = torch.zeros(1, dtype=torch.int64, device=device)
    network_loss = torch.zeros(1, dtype=torch.float64, device=device)
    network_scored = True
    writer: Optional[ActivationsWriter] = None
    passes: List[List[FilterRange]] = []
    sums: Dict[str, np.ndarray] = {}
    counts: Optional[np.ndarray] = None
    tops: Dict[str, TopImagesAccumulator] = {}
    copies = ImageCopies()
    seen = 0   # images of this process's first pass so far
    started = time.time()
    was_training = network.training
    network.eval()
    try:
        pass_index = 0
        while pass_index == 0 or pass_index < len(passes):
            first = pass_index == 0
            pass_started = time.time()
            hooked = names if first else [name for name in names if any(r[0] == name for r in passes[pass_index])]
            accumulators: Dict[FilterRange, FieldSumsAccumulator] = {}
            with BlockOutputs(network, hooked, {n: layouts[n] for n in hooked if n in layouts}) as blocks, \
                    torch.no_grad():
                for images, labels in test_loader:
                    images, labels = images.to(device), labels.to(device=device, dtype=torch.int64)
                    blocks.clear(int(labels.shape[0]))
                    outputs = network(images)
                    if first:
                        if isinstance(outputs, torch.Tensor) and outputs.dim() == 2 and outputs.shape[1] == label_count:
                            network_correct += (outputs.argmax(1) == labels).sum()
                            network_loss += F.cross_entropy(outputs.float(), labels, reduction="sum").double()
                        else:
                            network_scored = False
                    if first and not head_weights:
                        for name in names:
                            shapes[name] = blocks.shape(name)
                            layouts[name] = blocks.layout(name)
                            head_weights[name] = heads[name].weight.detach().to(device).float()
                            if heads[name].weight.shape[0] != label_count:
                                raise ValueError("head of %r has %d outputs for %d label names"
                                                 % (name, heads[name].weight.shape[0], label_count))
                            if head_weights[name].numel() != label_count * math.prod(shapes[name]):
                                raise ValueError("head of %r has %d inputs, but the block output is %s (%d features): "
                                                 "a head probed on another model or layer"
                                                 % (name, heads[name].weight.shape[1], "x".join(map(str, shapes[name])),
                                                    math.prod(shapes[name])))
                        passes = plan_passes([(name, shapes[name][0]) for name in names], label_count,
                                             int(labels.numel()), max_device_bytes)
                        if progress is not None:
                            progress("dissect: field sums of %d layers in %d pass%s%s" % (
                                len(names), len(passes), "" if len(passes) == 1 else "es",
                                "" if max_device_bytes is None else " (max_device_bytes=%d)" % max_device_bytes))
                        if write_activations:
                            writer = ActivationsWriter(os.path.join(out, ACTIVATIONS_FILE),
                                                       [(index + 1, name, shapes[name])
                                                        for index, name in enumerate(names)])
                            writer.open()
                    if not accumulators:
                        for entry in passes[pass_index]:
                            accumulators[entry] = FieldSumsAccumulator(head_weights[entry[0]], shapes[entry[0]],
                                                                       entry[1:])
                    for entry, accumulator in accumulators.items():
                        accumulator.add(blocks.features(entry[0]), labels)
                    if first:
                        entered = torch.zeros(int(labels.shape[0]), dtype=torch.bool, device=device)
                        for index, name in enumerate(names):
                            features = blocks.features(name)
                            scores = F.linear(features.flatten(1).float(), head_weights[name])
                            head_correct[index] += (scores.argmax(1) == labels).sum()
                            if name not in tops:
                                tops[name] = TopImagesAccumulator(shapes[name][0], top_count, device)
                            entered |= tops[name].add(features, labels, seen).to(device)
                        copies.add(images, entered, seen)
                        seen += int(labels.shape[0])
                        if writer is not None:
                            writer.add(labels.cpu().numpy(), {
                                index + 1: blocks.features(name).float().reshape(-1, *shapes[name]).cpu().numpy()
                                for index, name in enumerate(names)})
            if not accumulators:
                raise ValueError("test_loader yielded no batch" if first else
                                 "test_loader yielded no batch in pass %d: a loader split over passes must be "
                                 "iterable again" % (pass_index + 1))
            pass_counts: Optional[np.ndarray] = None
            for (name, start, stop), accumulator in accumulators.items():
                sum_across_processes(accumulator.sums)
                sum_across_processes(accumulator.images_per_label)
                if name not in sums:
                    sums[name] = np.zeros((label_count, shapes[name][0], label_count), np.float64)
                sums[name][:, start:stop] = accumulator.sums.cpu().numpy()
                pass_counts = accumulator.images_per_label.cpu().numpy()
            assert pass_counts is not None
            if counts is None:
                counts = pass_counts
            elif not np.array_equal(counts, pass_counts):
                raise RuntimeError("test_loader yielded other images in pass %d than in pass 1 (images per label %s, "
                                   "then %s): dissect's passes under max_device_bytes need a loader that gives the "
                                   "same images each time (no random augmentation or sampling), or a larger "
                                   "max_device_bytes" % (pass_index + 1, counts.tolist(), pass_counts.tolist()))
            del accumulators
            if progress is not None:
                progress("dissect pass %d/%d: %s in %.1f s" % (pass_index + 1, len(passes), ", ".join(
                    "%s filters %d..%d" % (name, start, stop - 1) for name, start, stop in passes[pass_index]),
                    time.time() - pass_started))
            pass_index += 1
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    finally:
        network.train(was_training)
    assert counts is not None
    for tensor in (head_correct, network_correct, network_loss):
        sum_across_processes(tensor)
    for name in names:
        tops[name].merge_across_processes()
    top_arrays = {name: tops[name].arrays() for name in names}
    every_top = np.concatenate([top_arrays[name][0].flatten() for name in names])
    stored = copies.final(every_top, rank, world_size)
    if is_distributed():
        import torch.distributed as dist
        pieces: List = [None] * world_size
        dist.all_gather_object(pieces, stored)
        pieces = [piece for piece in pieces if piece is not None]
        if pieces and len({piece[1].shape[1:] for piece in pieces}) == 1:
            index = np.concatenate([piece[0] for piece in pieces])
            order = np.argsort(index)
            stored = (index[order], np.concatenate([piece[1] for piece in pieces])[order])
        else:
            stored = None
    image_count = int(counts.sum())
    network_sr = int(network_correct.item()) / image_count if network_scored else math.nan
    network_mean_loss = float(network_loss.item()) / image_count if network_scored else math.nan
    result = Dissection(
        directory=out, sums={name: sums[name] for name in names},
        images_per_label=counts, head_test_sr={name: int(head_correct[index].item()) / image_count
                                               for index, name in enumerate(names)},
        network_test_sr=network_sr, network_test_loss=network_mean_loss, seconds=time.time() - started,
        passes=passes, top_images=top_arrays, image_copies=stored)
    if rank == 0:
        _write_run(result, names, heads, shapes, layouts, label_names, dataset, world_size, device)
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


def _write_run(result: Dissection, names: List[str], heads: Mapping[str, nn.Linear], shapes: Mapping[str, BlockShape],
               layouts: Mapping[str, str], label_names: Sequence[str], dataset: str, world_size: int,
               device: torch.device) -> None:
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
                                  shape=shapes[name], train_loss=train_loss, test_sr=test_sr,
                                  layout=layouts[name]))
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
                      [LayerFieldSums(index + 1, name, shapes[name], result.sums[name], layouts[name],
                                      top_images=result.top_images.get(name))
                       for index, name in enumerate(names)], image_copies=result.image_copies)
