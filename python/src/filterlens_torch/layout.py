"""FilterLens's public HDF5 layout (docs/hdf5-layout.md, version 2), written with h5py.

Four files of a run directory are written here:

- ``run.h5`` (``@format="filterlens-run"``): label names, the network's own test SR under ``/training``, and the
  ``@run_id`` that names it to probe.h5.
- ``probe.h5`` (``@format="filterlens-probe"``): phase 2's recipe under ``/recipe`` and its probes (heads) under
  ``/layerNN``, with run.h5's ``@run_id``. (Version 1 kept them in run.h5 as ``/probe`` and ``/probe/layerNN``.)
- ``fields.h5`` (``@format="filterlens-fields"``): per layer, the sums of the output fields over the test images of
  each true label, ``float64 [input_label, filter, output_label]``, and the image count per label. It is what
  ``filterlens analyze`` needs instead of ``activations.h5``.
- ``activations.h5`` (``@format="filterlens-activations"``): every test-set block output, for runs small enough.

Every file is written under a temporary name (``.<name>.tmp-<pid>``) and renamed into place, as FilterLens does.
"""
from __future__ import annotations

import datetime
import math
import os
import uuid
from dataclasses import dataclass, field
from typing import Dict, Iterator, Mapping, Optional, Sequence, Tuple

import h5py
import numpy as np

FORMAT_VERSION = 2
"""Root ``@format_version`` of run.h5, probe.h5 and activations.h5 (docs/hdf5-layout.md)."""
FIELDS_FORMAT_VERSION = 1
"""Root ``@format_version`` of fields.h5 (its own section of docs/hdf5-layout.md)."""
RUN_FILE = "run.h5"
PROBE_FILE = "probe.h5"
FIELDS_FILE = "fields.h5"
ACTIVATIONS_FILE = "activations.h5"

BlockShape = Tuple[int, int, int]
"""C, H, W of one layer's block output for one image."""


def layer_name(layer: int) -> str:
    """Group and dataset name of 1-based layer ``layer``: ``layer01``, ``layer02``, ... ``layer13``."""
    return "layer%02d" % layer


def timestamp() -> str:
    """Now, ISO 8601 UTC, for ``@created``."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _label_dimensions(dataset: h5py.Dataset, names: Sequence[str]) -> None:
    for index, name in enumerate(names):
        dataset.dims[index].label = name


def _set_string(attributes: h5py.AttributeManager, name: str, value: str) -> None:
    attributes.create(name, value, dtype=h5py.string_dtype("utf-8"))


class StagedFile:
    """An HDF5 file written under ``.<name>.tmp-<pid>`` beside ``path`` and renamed onto it by ``commit()``.

    Use as a context manager: leaving the block normally commits; an exception removes the temporary file.
    """

    def __init__(self, path: str, format_name: str, format_version: int) -> None:
        self.path = path
        directory, name = os.path.split(os.path.abspath(path))
        self.temporary = os.path.join(directory, ".%s.tmp-%d" % (name, os.getpid()))
        self.file = h5py.File(self.temporary, "w")
        _set_string(self.file.attrs, "format", format_name)
        self.file.attrs["format_version"] = np.int64(format_version)
        _set_string(self.file.attrs, "created", timestamp())

    def __enter__(self) -> h5py.File:
        return self.file

    def __exit__(self, kind, value, traceback) -> None:
        self.file.close()
        if kind is None:
            os.replace(self.temporary, self.path)
        else:
            os.remove(self.temporary)


@dataclass
class HeadRecord:
    """One phase 2 probe (head) as stored under ``/layerNN`` of probe.h5.

    weight: float32 ``[output_label, feature]``, labels x (C*H*W), feature index ``(c * H + h) * W + w``.
    train_loss, test_sr: per epoch (equal lengths); test_sr's last entry is the headline SR(l).
    """

    layer: int
    module: str
    weight: np.ndarray
    shape: BlockShape
    train_loss: Sequence[float]
    test_sr: Sequence[float]
    layout: str = "bchw"
    """How the block output was read (``@block_layout``): "bchw", "btc" (batch x tokens x channels: C = channels,
    H = tokens, W = 1), "bcl" (batch x channels x length: H = length, W = 1) or "bc" (H = W = 1)."""

    def loss_flag(self, label_count: int) -> str:
        """FilterLens's flag (``Prober.lossFlag``): "loss not finite" when the last epoch's loss is NaN or infinite,
        "loss rising" when the last epoch's loss exceeds the one before, "loss high" when it is above ln(labels),
        "not trained" without epochs, "unknown" when no loss was recorded (heads trained elsewhere), else "ok"."""
        losses = list(self.train_loss)
        if not losses:
            return "not trained"
        if all(math.isnan(loss) for loss in losses):
            return "unknown"
        if not math.isfinite(losses[-1]):
            return "loss not finite"
        if len(losses) >= 2 and losses[-1] > losses[-2]:
            return "loss rising"
        if losses[-1] > math.log(label_count):
            return "loss high"
        return "ok"


@dataclass
class ProbeRecipeRecord:
    """Phase 2's recipe, the attributes of probe.h5's ``/recipe``."""

    epochs: int
    learning_rate: float
    lr_decay: float
    momentum: float
    weight_decay: float
    batch_size: int
    augment: Optional[bool]
    """Whether the training loader augmented; None = not stated (then no @augment is written)."""
    seed: int


@dataclass
class NetworkEvaluation:
    """The whole network on the test set: its success rate and mean cross-entropy (NaN when not measured)."""

    test_sr: float
    test_loss: float = float("nan")


def write_run_file(path: str, label_names: Sequence[str], dataset: str, network: Optional[NetworkEvaluation],
                   provenance: Mapping[str, str]) -> str:
    """Writes run.h5: root attributes (a new ``@run_id``), ``/provenance`` and ``/training`` (one entry: the given
    network's test SR and loss; the training quantities, unknown here, are NaN). Returns the ``@run_id``."""
    run_id = str(uuid.uuid4())
    with StagedFile(path, "filterlens-run", FORMAT_VERSION) as run:
        _set_string(run.attrs, "run_id", run_id)
        _set_string(run.attrs, "dataset", dataset)
        _set_string(run.attrs, "filterlens_version", "filterlens-torch " + _package_version())
        run.attrs.create("label_names", np.array(list(label_names), dtype=object), dtype=h5py.string_dtype("utf-8"))
        information = run.create_group("provenance")
        for key, value in sorted(provenance.items()):
            _set_string(information.attrs, key, str(value))
        if network is not None:
            training = run.create_group("training")
            training.create_dataset("epoch", data=np.array([1], np.int32))
            values: Dict[str, float] = {"learning_rate": math.nan, "train_loss": math.nan, "train_sr": math.nan,
                      "test_loss": network.test_loss, "test_sr": network.test_sr, "seconds": math.nan,
                      "images_per_second": math.nan}
            for name, number in values.items():
                _label_dimensions(training.create_dataset(name, data=np.array([number], np.float64)), ["epoch"])
            training.attrs["final_test_sr"] = np.float64(network.test_sr)
    return run_id


def write_probe_file(path: str, run_id: str, label_count: int, heads: Sequence[HeadRecord],
                     recipe: Optional[ProbeRecipeRecord]) -> None:
    """Writes probe.h5 for the run.h5 whose ``@run_id`` is ``run_id``: root attributes, the ``/recipe`` (an empty
    group when not known) and one ``/layerNN`` per head."""
    with StagedFile(path, "filterlens-probe", FORMAT_VERSION) as probes:
        _set_string(probes.attrs, "run_id", run_id)
        _set_string(probes.attrs, "filterlens_version", "filterlens-torch " + _package_version())
        recipe_group = probes.create_group("recipe")
        if recipe is not None:
            recipe_group.attrs["epochs"] = np.int64(recipe.epochs)
            recipe_group.attrs["learning_rate"] = np.float64(recipe.learning_rate)
            recipe_group.attrs["lr_decay"] = np.float64(recipe.lr_decay)
            recipe_group.attrs["momentum"] = np.float64(recipe.momentum)
            recipe_group.attrs["weight_decay"] = np.float64(recipe.weight_decay)
            recipe_group.attrs["batch_size"] = np.int64(recipe.batch_size)
            if recipe.augment is not None:
                recipe_group.attrs["augment"] = np.int64(1 if recipe.augment else 0)
            recipe_group.attrs["seed"] = np.int64(recipe.seed)
        for head in heads:
            channels, height, width = head.shape
            group = probes.create_group(layer_name(head.layer))
            group.attrs["layer"] = np.int64(head.layer)
            group.attrs["channels"] = np.int64(channels)
            group.attrs["height"] = np.int64(height)
            group.attrs["width"] = np.int64(width)
            _set_string(group.attrs, "module", head.module)
            _set_string(group.attrs, "block_layout", head.layout)
            _set_string(group.attrs, "loss_flag", head.loss_flag(label_count))
            weight = np.asarray(head.weight, np.float32).reshape(label_count, channels * height * width)
            _label_dimensions(group.create_dataset("weight", data=weight), ["output_label", "feature"])
            epochs = len(head.test_sr)
            if len(head.train_loss) != epochs:
                raise ValueError("layer %d: %d training losses but %d test SRs" % (head.layer, len(head.train_loss), epochs))
            _label_dimensions(group.create_dataset("epoch", data=np.arange(1, epochs + 1, dtype=np.int32)), ["epoch"])
            _label_dimensions(group.create_dataset("train_loss", data=np.asarray(head.train_loss, np.float64)), ["epoch"])
            _label_dimensions(group.create_dataset("test_sr", data=np.asarray(head.test_sr, np.float64)), ["epoch"])
            if epochs:
                rates = np.asarray(head.test_sr, np.float64)
                group.attrs["final_test_sr"] = np.float64(rates[-1])
                if not np.all(np.isnan(rates)):
                    best = int(np.nanargmax(rates))
                    group.attrs["best_test_sr"] = np.float64(rates[best])
                    group.attrs["best_epoch"] = np.int64(best + 1)


@dataclass
class LayerFieldSums:
    """One layer's field sums: ``sums[i, f, j]`` = sum over the test images k of true label i of
    field_f(k, j) = sum over h, w of W[j, f, h, w] * a_k[f, h, w] (tokens: sum over t of W[j, f, t] * a_k[f, t]);
    float64 ``[input_label, filter, output_label]``."""

    layer: int
    module: str
    shape: BlockShape
    sums: np.ndarray
    layout: str = "bchw"
    """``@block_layout``, as ``HeadRecord.layout``."""
    top_images: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None
    """(indices int64, values float64, labels int32), each [filter, rank]: ``/top_images/layerNN``; None: not stored."""


def write_fields_file(path: str, images_per_label: np.ndarray, layers: Sequence[LayerFieldSums],
                      split: str = "test", image_copies: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> None:
    """Writes fields.h5: ``/images_per_label`` int64 [label] and one ``/layerNN`` float64
    [input_label, filter, output_label] per layer, with ``@layer @channels @height @width @module``; the layers'
    top images under ``/top_images/layerNN`` (``top_images`` int64, ``top_activations`` float64, ``top_labels``
    int32, each [filter, rank]) and ``image_copies`` (index int64 [image], pixels uint8 [image, height, width, 3])
    under ``/image_copies``, when given."""
    counts = np.asarray(images_per_label, np.int64)
    with StagedFile(path, "filterlens-fields", FIELDS_FORMAT_VERSION) as fields:
        _set_string(fields.attrs, "split", split)
        fields.attrs["layer_count"] = np.int64(len(layers))
        fields.attrs["images"] = np.int64(counts.sum())
        _set_string(fields.attrs, "producer", "filterlens-torch " + _package_version())
        _label_dimensions(fields.create_dataset("images_per_label", data=counts), ["label"])
        for entry in layers:
            channels, height, width = entry.shape
            sums = np.asarray(entry.sums, np.float64)
            if sums.shape != (len(counts), channels, len(counts)):
                raise ValueError("layer %d: sums of shape %s, expected %s" % (
                    entry.layer, sums.shape, (len(counts), channels, len(counts))))
            dataset = fields.create_dataset(layer_name(entry.layer), data=sums)
            _label_dimensions(dataset, ["input_label", "filter", "output_label"])
            dataset.attrs["layer"] = np.int64(entry.layer)
            dataset.attrs["channels"] = np.int64(channels)
            dataset.attrs["height"] = np.int64(height)
            dataset.attrs["width"] = np.int64(width)
            _set_string(dataset.attrs, "module", entry.module)
            _set_string(dataset.attrs, "block_layout", entry.layout)
            if entry.top_images is not None:
                indices, values, labels = entry.top_images
                group = fields.require_group("top_images").create_group(layer_name(entry.layer))
                for name, data, dtype in (("top_images", indices, np.int64), ("top_activations", values, np.float64),
                                          ("top_labels", labels, np.int32)):
                    if np.shape(data)[0] != channels:
                        raise ValueError("layer %d: %s for %d filters, expected %d"
                                         % (entry.layer, name, np.shape(data)[0], channels))
                    _label_dimensions(group.create_dataset(name, data=np.asarray(data, dtype)), ["filter", "rank"])
        if image_copies is not None:
            from .top_images import COPY_DEFINITION
            index, pixels = image_copies
            group = fields.create_group("image_copies")
            _set_string(group.attrs, "definition", COPY_DEFINITION)
            _label_dimensions(group.create_dataset("index", data=np.asarray(index, np.int64)), ["image"])
            _label_dimensions(group.create_dataset("pixels", data=np.asarray(pixels, np.uint8), compression="gzip"),
                              ["image", "height", "width", "channel"])


@dataclass
class ActivationsWriter:
    """Streams test-set block outputs into activations.h5, batch by batch, in data-set order.

    ``/labels`` int32 [image]; ``/layerNN`` float32 [image, channel, height, width], chunked by whole images (about
    1 MiB a chunk), shuffle + gzip level 1. Open with ``open()``, add batches, then ``commit()`` (or ``discard()``).
    """

    path: str
    layers: Sequence[Tuple[int, str, BlockShape]]
    images: int = 0
    _staged: Optional[StagedFile] = None
    _sets: dict = field(default_factory=dict)

    def open(self) -> None:
        self._staged = StagedFile(self.path, "filterlens-activations", FORMAT_VERSION)
        acts = self._staged.file
        _set_string(acts.attrs, "split", "test")
        acts.attrs["layer_count"] = np.int64(len(self.layers))
        labels = acts.create_dataset("labels", shape=(0,), maxshape=(None,), dtype=np.int32, chunks=(4096,))
        _label_dimensions(labels, ["image"])
        self._sets["labels"] = labels
        for layer, module, (c, h, w) in self.layers:
            per_chunk = max(1, (1 << 20) // (4 * c * h * w))
            dataset = acts.create_dataset(layer_name(layer), shape=(0, c, h, w), maxshape=(None, c, h, w),
                                          dtype=np.float32, chunks=(per_chunk, c, h, w), shuffle=True,
                                          compression="gzip", compression_opts=1)
            _label_dimensions(dataset, ["image", "channel", "height", "width"])
            dataset.attrs["layer"] = np.int64(layer)
            _set_string(dataset.attrs, "description", "block output of module %r (layer %d)" % (module, layer))
            self._sets[layer] = dataset

    def add(self, labels: np.ndarray, outputs: Mapping[int, np.ndarray]) -> None:
        """Appends one batch: ``labels`` [batch], ``outputs[layer]`` float32 [batch, C, H, W]."""
        count = len(labels)
        end = self.images + count
        for key, values in [("labels", np.asarray(labels, np.int32))] + [(l, outputs[l]) for l, _, _ in self.layers]:
            dataset = self._sets[key]
            dataset.resize(end, axis=0)
            dataset[self.images:end] = values
        self.images = end

    def commit(self) -> None:
        assert self._staged is not None, "open() first"
        self._staged.__exit__(None, None, None)

    def discard(self) -> None:
        if self._staged is not None:
            self._staged.__exit__(RuntimeError, None, None)


def read_activation_batches(path: str, layer: int, batch: int = 256) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Yields (labels [b], block outputs float32 [b, C, H, W]) of ``layer`` from an activations.h5, in order."""
    with h5py.File(path, "r") as acts:
        labels = acts["labels"][:]
        data = acts[layer_name(layer)]
        for start in range(0, len(labels), batch):
            yield labels[start:start + batch], data[start:start + batch]


def _package_version() -> str:
    from . import __version__
    return __version__
