"""Phase 2: a new bias-free FC head on the frozen block output of each layer, all trained in one pass.

Method (FilterLens's docs/method.md, after [L], the lab's PyTorch code): the network is frozen in inference mode
(batch norm uses its running statistics); layer l's block output, read as filters x positions (C x H*W, or a
transformer's channels x tokens), is flattened to C*H*W features and a bias-free
``nn.Linear(C*H*W, labels)`` W_l is trained on it with cross-entropy, SGD with Nesterov momentum 0.975, learning
rate 0.01 multiplied by 0.975 after each epoch, weight decay 1e-3, initial weights uniform in +-1/sqrt(C*H*W).
[L] trains 200 epochs; pass ``epochs=`` for shorter runs (the number is recorded).

Under torch.distributed each process iterates its own shard of the loaders (e.g. a ``DistributedSampler``; every
process must yield the same number of batches). Each step's loss is the cross-entropy summed over the local batch
divided by the global batch size, and the heads' gradients are summed across processes, so a step equals the
single-process step on the union of the shards, up to float summation order.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .distributed import rank_and_world_size, same_as_rank_zero, sum_across_processes
from .hooks import BlockOutputs, BlockShape, block_shape, check_layouts, model_device, unwrapped  # noqa: F401 (block_shape: re-exported)

Batches = Iterable[Tuple[torch.Tensor, torch.Tensor]]
"""A loader: an iterable of (images [batch, ...], labels int [batch]) pairs, e.g. a ``torch.utils.data.DataLoader``."""


@dataclass
class ProbeRecipe:
    """Phase 2's recipe; the defaults are [L]'s (docs/method.md, phase 2)."""

    epochs: int = 200
    learning_rate: float = 0.01
    lr_decay: float = 0.975
    momentum: float = 0.975
    weight_decay: float = 1e-3
    seed: int = 0
    augment: Optional[bool] = None
    """Recorded only: whether ``train_loader`` applies the training augmentation ([L] does); None = not stated."""

    def learning_rate_of(self, epoch: int) -> float:
        """The rate of 0-based epoch ``epoch``: learning_rate * lr_decay**epoch."""
        return self.learning_rate * self.lr_decay ** epoch


@dataclass
class ProbeEpoch:
    """One epoch of one head: mean training cross-entropy over the epoch's images, and test SR after the epoch
    (NaN when ``probe`` was given no test loader)."""

    epoch: int
    train_loss: float
    test_sr: float


HEADS_FORMAT = "filterlens-torch-heads"
"""``ProbedHeads.state_dict()["_extra_state"]["format"]``: what phase 2 recorded beside the heads' weights."""
HEADS_FORMAT_VERSION = 1


def _module_key(name: str) -> str:
    """The key of layer ``name`` among the heads' submodules: nn.Module names may not hold ".", so "%" becomes
    "%25", "/" becomes "%2F" and "." becomes "/" (reversible: "features.3" is stored as "features/3")."""
    return name.replace("%", "%25").replace("/", "%2F").replace(".", "/")


def _layer_name(key: str) -> str:
    """The inverse of ``_module_key``."""
    return key.replace("/", ".").replace("%2F", "/").replace("%25", "%")


class ProbedHeads(nn.ModuleDict):
    """The trained heads by layer (module name of the model) as an ``nn.Module``: {layer: nn.Linear(C*H*W, labels,
    bias=False)}, with what phase 2 records: ``recipe``, each head's per-epoch ``history``, each layer's block shape
    ``shapes`` (C, H, W as FilterLens stores it), its block layout ``layouts`` ("bchw", "btc", "bcl" or "bc"), the
    batch size seen and the seconds taken.

    It is an ``nn.ModuleDict`` of the heads, so ``.to(device)`` moves them, ``parameters()`` yields their weights and
    ``state_dict()`` holds them, keyed by ``_module_key(layer) + ".weight"`` (``"features/3.weight"``: module names
    may not contain "."), with everything else above under ``"_extra_state"`` (plain numbers, strings, lists and
    dicts, so ``torch.load(path, weights_only=True)`` reads it). ``ProbedHeads().load_state_dict(state)`` rebuilds
    the heads from such a state. Indexing, ``in``, ``keys()``, ``items()`` and iteration use the layer names, as the
    dict ``probe`` returned before did.
    """

    def __init__(self, recipe: Optional[ProbeRecipe] = None) -> None:
        super().__init__()
        self.recipe = recipe if recipe is not None else ProbeRecipe()
        self.history: Dict[str, List[ProbeEpoch]] = {}
        self.shapes: Dict[str, BlockShape] = {}
        self.layouts: Dict[str, str] = {}
        self.batch_size = 0
        self.seconds = 0.0

    # The mapping of layer names to heads (nn.ModuleDict's own methods would show the escaped keys).
    def __getitem__(self, name: str) -> nn.Linear:   # type: ignore[override]
        try:
            return self._modules[_module_key(name)]   # type: ignore[return-value]
        except KeyError:
            raise KeyError("no head for layer %r; the heads are for %s" % (name, list(self.keys()))) from None

    def __setitem__(self, name: str, head: nn.Module) -> None:   # type: ignore[override]
        self.add_module(_module_key(name), head)

    def __delitem__(self, name: str) -> None:   # type: ignore[override]
        del self._modules[_module_key(name)]

    def __contains__(self, name: object) -> bool:   # type: ignore[override]
        return isinstance(name, str) and _module_key(name) in self._modules

    def __iter__(self) -> Iterator[str]:   # type: ignore[override]
        return iter(self.keys())

    def keys(self) -> List[str]:   # type: ignore[override]
        return [_layer_name(key) for key in self._modules]

    def items(self) -> List[Tuple[str, nn.Linear]]:   # type: ignore[override]
        return [(_layer_name(key), module) for key, module in self._modules.items()]   # type: ignore[misc]

    def values(self) -> List[nn.Linear]:   # type: ignore[override]
        return list(self._modules.values())   # type: ignore[arg-type]

    def get(self, name: str, default: Optional[nn.Linear] = None) -> Optional[nn.Linear]:
        return self[name] if name in self else default

    def pop(self, name: str) -> nn.Linear:   # type: ignore[override]
        head = self[name]
        del self[name]
        return head

    def get_extra_state(self) -> Dict[str, object]:
        """Phase 2's record beside the weights in ``state_dict()``: layers (in order), labels, shapes, layouts,
        recipe, history ([epoch, train_loss, test_sr] per epoch), batch size and seconds."""
        return {
            "format": HEADS_FORMAT, "format_version": HEADS_FORMAT_VERSION, "layers": self.keys(),
            "labels": {name: int(head.weight.shape[0]) for name, head in self.items()},
            "features": {name: int(head.weight.shape[1]) for name, head in self.items()},
            "shapes": {name: list(shape) for name, shape in self.shapes.items()},
            "layouts": dict(self.layouts), "recipe": dataclasses.asdict(self.recipe),
            "history": {name: [[epoch.epoch, epoch.train_loss, epoch.test_sr] for epoch in epochs]
                        for name, epochs in self.history.items()},
            "batch_size": int(self.batch_size), "seconds": float(self.seconds),
        }

    def set_extra_state(self, state: Dict[str, object]) -> None:
        if not isinstance(state, dict) or state.get("format") != HEADS_FORMAT:
            raise ValueError("not a state_dict of ProbedHeads (no %r record under '_extra_state')" % HEADS_FORMAT)
        if int(state["format_version"]) > HEADS_FORMAT_VERSION:   # type: ignore[call-overload]
            raise ValueError("heads saved by a newer filterlens-torch (record version %s): update filterlens-torch"
                             % state["format_version"])
        self.recipe = ProbeRecipe(**state["recipe"])   # type: ignore[arg-type]
        self.shapes = {name: (int(c), int(h), int(w)) for name, (c, h, w) in state["shapes"].items()}   # type: ignore
        self.layouts = dict(state["layouts"])   # type: ignore[call-overload]
        self.history = {name: [ProbeEpoch(int(e), float(loss), float(sr)) for e, loss, sr in epochs]
                        for name, epochs in state["history"].items()}   # type: ignore[union-attr]
        self.batch_size = int(state["batch_size"])   # type: ignore[call-overload]
        self.seconds = float(state["seconds"])   # type: ignore[arg-type]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Creates the heads the state holds (bias-free nn.Linear of its sizes, on the device of the heads already
        here, else the CPU) before loading them, so an empty ``ProbedHeads()`` loads any saved one."""
        record = state_dict.get(prefix + "_extra_state")
        if isinstance(record, dict) and record.get("format") == HEADS_FORMAT:
            device = next((p.device for p in self.parameters()), torch.device("cpu"))
            for name in record["layers"]:
                features, labels = int(record["features"][name]), int(record["labels"][name])
                if name not in self or tuple(self[name].weight.shape) != (labels, features):
                    self[name] = nn.Linear(features, labels, bias=False).to(device)
            for name in [name for name in self.keys() if name not in record["layers"]]:
                del self[name]
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


Mapping.register(ProbedHeads)


def new_head(features: int, num_labels: int, seed: int) -> nn.Linear:
    """A bias-free ``nn.Linear(features, num_labels)`` with weights uniform in +-1/sqrt(features) [L], drawn from
    ``seed`` (so every process draws the same head)."""
    head = nn.Linear(features, num_labels, bias=False)
    generator = torch.Generator().manual_seed(seed)
    bound = 1.0 / math.sqrt(features)
    with torch.no_grad():
        head.weight.copy_(torch.rand(num_labels, features, generator=generator) * (2 * bound) - bound)
    return head


def heads_success_rates(model: nn.Module, layers: Sequence[str], heads: Mapping, loader: Batches,
                        device: torch.device, layouts: Optional[Dict[str, str]] = None) -> Dict[str, float]:
    """Test SR of each head: the fraction of the loader's images whose highest head output is their label (summed
    across processes under torch.distributed). The model runs frozen, in inference mode; ``layouts`` as ``probe``'s."""
    model = unwrapped(model)
    correct = torch.zeros(len(layers), dtype=torch.int64, device=device)
    seen = torch.zeros(1, dtype=torch.int64, device=device)
    was_training = model.training
    model.eval()
    try:
        with BlockOutputs(model, layers, layouts) as blocks, torch.no_grad():
            for images, labels in loader:
                images, labels = images.to(device), labels.to(device)
                blocks.clear(int(labels.shape[0]))
                model(images)
                for index, name in enumerate(layers):
                    scores = heads[name](blocks.features(name).flatten(1).float())
                    correct[index] += (scores.argmax(1) == labels).sum()
                seen += labels.numel()
    finally:
        model.train(was_training)
    sum_across_processes(correct)
    sum_across_processes(seen)
    total = max(int(seen.item()), 1)
    return {name: int(correct[index].item()) / total for index, name in enumerate(layers)}


def probe(model: nn.Module, layers: Sequence[str], train_loader: Batches, num_labels: int, *,
          test_loader: Optional[Batches] = None, epochs: int = ProbeRecipe.epochs,
          learning_rate: float = ProbeRecipe.learning_rate, lr_decay: float = ProbeRecipe.lr_decay,
          momentum: float = ProbeRecipe.momentum, weight_decay: float = ProbeRecipe.weight_decay,
          seed: int = ProbeRecipe.seed, augment: Optional[bool] = None,
          progress: Optional[Callable[[str], None]] = None,
          layouts: Optional[Mapping] = None) -> ProbedHeads:
    """Phase 2 on the frozen ``model``: one bias-free head per module of ``layers`` (names of
    ``model.named_modules()`` whose outputs are the block outputs; ``block_names(model, example_input)`` lists
    them), all trained in one pass per batch, on the model's device. A block output is batch x C x H x W (C filters
    at H*W positions), batch x tokens x channels (a transformer's, ``batch_first``: the channels are the filters and
    the tokens the positions), batch x channels x length (declare ``layouts={name: "bcl"}``) or batch x channels;
    the head reads it as batch x filters x positions flattened (feature c * positions + position).
    Returns ``ProbedHeads``, an ``nn.Module`` mapping each layer to its nn.Linear(C*H*W, num_labels, bias=False),
    with the per-epoch training loss and, when ``test_loader`` is given, test SR of each head (``.history``), the
    block shapes (``.shapes``), layouts (``.layouts``) and the recipe (``.recipe``).

    The model is left in the training mode it had; its parameters are never updated.
    """
    recipe = ProbeRecipe(epochs=epochs, learning_rate=learning_rate, lr_decay=lr_decay, momentum=momentum,
                         weight_decay=weight_decay, seed=seed, augment=augment)
    if epochs < 1:
        raise ValueError("epochs must be at least 1, got %d" % epochs)
    network = unwrapped(model)
    device = model_device(network)
    rank, _ = rank_and_world_size()
    result = ProbedHeads(recipe)
    names = list(layers)
    declared = check_layouts(names, layouts)
    optimizer: Optional[torch.optim.SGD] = None
    started = time.time()
    was_training = network.training
    network.eval()
    try:
        with BlockOutputs(network, names, declared) as blocks:
            for epoch in range(epochs):
                loss_sums = torch.zeros(len(names), dtype=torch.float64, device=device)
                images_seen = torch.zeros(1, dtype=torch.int64, device=device)
                for images, labels in train_loader:
                    images, labels = images.to(device), labels.to(device)
                    blocks.clear(int(labels.shape[0]))
                    with torch.no_grad():
                        network(images)
                    if optimizer is None:
                        optimizer = _create_heads(result, names, blocks, num_labels, recipe, device)
                        result.batch_size = int(labels.numel())
                    for group in optimizer.param_groups:
                        group["lr"] = recipe.learning_rate_of(epoch)
                    global_batch = sum_across_processes(torch.tensor([labels.numel()], dtype=torch.int64,
                                                                     device=device))
                    optimizer.zero_grad(set_to_none=False)
                    for index, name in enumerate(names):
                        features = blocks.features(name).flatten(1).float()
                        loss_sum = F.cross_entropy(result[name](features), labels, reduction="sum")
                        (loss_sum / global_batch.to(loss_sum.dtype)).backward()
                        loss_sums[index] += loss_sum.detach().double()
                    for name in names:
                        gradient = result[name].weight.grad
                        assert gradient is not None, "every head took part in the loss"
                        sum_across_processes(gradient)
                    optimizer.step()
                    images_seen += labels.numel()
                sum_across_processes(loss_sums)
                sum_across_processes(images_seen)
                blocks.clear()   # these hooks also see the test pass below, whose batches may be of other sizes
                rates = (heads_success_rates(network, names, result, test_loader, device, declared)
                         if test_loader is not None
                         else {name: math.nan for name in names})
                for index, name in enumerate(names):
                    loss = float(loss_sums[index].item()) / max(int(images_seen.item()), 1)
                    if not math.isfinite(loss):
                        raise FloatingPointError("probe diverged: the head of %r reached mean loss %s in epoch %d "
                                                 "(learning rate %g); give it a lower learning_rate"
                                                 % (name, loss, epoch + 1, recipe.learning_rate_of(epoch)))
                    result.history[name].append(ProbeEpoch(epoch + 1, loss, rates[name]))
                if progress is not None and rank == 0:
                    progress("probe epoch %d/%d: " % (epoch + 1, epochs) + ", ".join(
                        "%s loss %.3f SR %.4f" % (name, result.history[name][-1].train_loss,
                                                   result.history[name][-1].test_sr) for name in names))
    finally:
        network.train(was_training)
    if optimizer is None:
        raise ValueError("train_loader yielded no batch")
    result.seconds = time.time() - started
    return result


def _create_heads(result: ProbedHeads, names: List[str], blocks: BlockOutputs, num_labels: int, recipe: ProbeRecipe,
                  device: torch.device) -> torch.optim.SGD:
    """Creates each layer's head from the first batch's block shapes (same weights on every process) and the one
    optimizer that steps them all."""
    for index, name in enumerate(names):
        shape = blocks.shape(name)
        head = new_head(shape[0] * shape[1] * shape[2], num_labels, recipe.seed + index + 1).to(device)
        same_as_rank_zero(head.weight.data)
        result[name] = head
        result.shapes[name] = shape
        result.layouts[name] = blocks.layout(name)
        result.history[name] = []
    parameters = [result[name].weight for name in names]
    return torch.optim.SGD(parameters, lr=recipe.learning_rate, momentum=recipe.momentum,
                           weight_decay=recipe.weight_decay, nesterov=True)
