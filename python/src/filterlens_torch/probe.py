"""Phase 2: a new bias-free FC head on the frozen block output of each layer, all trained in one pass.

Method (FilterLens's docs/method.md, after [L], the lab's PyTorch code): the network is frozen in inference mode
(batch norm uses its running statistics); layer l's block output is flattened to C*H*W features and a bias-free
``nn.Linear(C*H*W, labels)`` W_l is trained on it with cross-entropy, SGD with Nesterov momentum 0.975, learning
rate 0.01 multiplied by 0.975 after each epoch, weight decay 1e-3, initial weights uniform in +-1/sqrt(C*H*W).
[L] trains 200 epochs; pass ``epochs=`` for shorter runs (the number is recorded).

Under torch.distributed each process iterates its own shard of the loaders (e.g. a ``DistributedSampler``; every
process must yield the same number of batches). Each step's loss is the cross-entropy summed over the local batch
divided by the global batch size, and the heads' gradients are summed across processes, so a step equals the
single-process step on the union of the shards, up to float summation order.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .distributed import rank_and_world_size, same_as_rank_zero, sum_across_processes
from .hooks import BlockOutputs, unwrapped
from .layout import BlockShape

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


class ProbedHeads(Dict[str, nn.Linear]):
    """The trained heads by module name ({layer: nn.Linear(C*H*W, labels, bias=False)}), with what phase 2 records:
    the recipe, each head's per-epoch history, each layer's block shape (C, H, W), and the batch size seen."""

    def __init__(self, recipe: ProbeRecipe) -> None:
        super().__init__()
        self.recipe = recipe
        self.history: Dict[str, List[ProbeEpoch]] = {}
        self.shapes: Dict[str, BlockShape] = {}
        self.batch_size = 0
        self.seconds = 0.0


def new_head(features: int, num_labels: int, seed: int) -> nn.Linear:
    """A bias-free ``nn.Linear(features, num_labels)`` with weights uniform in +-1/sqrt(features) [L], drawn from
    ``seed`` (so every process draws the same head)."""
    head = nn.Linear(features, num_labels, bias=False)
    generator = torch.Generator().manual_seed(seed)
    bound = 1.0 / math.sqrt(features)
    with torch.no_grad():
        head.weight.copy_(torch.rand(num_labels, features, generator=generator) * (2 * bound) - bound)
    return head


def block_shape(output: torch.Tensor) -> BlockShape:
    """(C, H, W) of a batch x C x H x W block output."""
    _, channels, height, width = output.shape
    return int(channels), int(height), int(width)


def heads_success_rates(model: nn.Module, layers: Sequence[str], heads: Dict[str, nn.Linear], loader: Batches,
                        device: torch.device) -> Dict[str, float]:
    """Test SR of each head: the fraction of the loader's images whose highest head output is their label (summed
    across processes under torch.distributed). The model runs frozen, in inference mode."""
    model = unwrapped(model)
    correct = torch.zeros(len(layers), dtype=torch.int64, device=device)
    seen = torch.zeros(1, dtype=torch.int64, device=device)
    was_training = model.training
    model.eval()
    try:
        with BlockOutputs(model, layers) as blocks, torch.no_grad():
            for images, labels in loader:
                images, labels = images.to(device), labels.to(device)
                model(images)
                for index, name in enumerate(layers):
                    scores = heads[name](blocks.output(name).flatten(1).float())
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
          progress: Optional[Callable[[str], None]] = None) -> ProbedHeads:
    """Phase 2 on the frozen ``model``: one bias-free head per module of ``layers`` (names of
    ``model.named_modules()`` whose outputs are the block outputs, batch x C x H x W), all trained in one pass per
    batch, on the model's device. Returns {layer: nn.Linear(C*H*W, num_labels, bias=False)} with the per-epoch
    training loss and, when ``test_loader`` is given, test SR of each head (``ProbedHeads.history``).

    The model is left in the training mode it had; its parameters are never updated.
    """
    recipe = ProbeRecipe(epochs=epochs, learning_rate=learning_rate, lr_decay=lr_decay, momentum=momentum,
                         weight_decay=weight_decay, seed=seed, augment=augment)
    if epochs < 1:
        raise ValueError("epochs must be at least 1, got %d" % epochs)
    network = unwrapped(model)
    device = next(network.parameters()).device
    rank, _ = rank_and_world_size()
    result = ProbedHeads(recipe)
    names = list(layers)
    optimizer: Optional[torch.optim.SGD] = None
    started = time.time()
    was_training = network.training
    network.eval()
    try:
        with BlockOutputs(network, names) as blocks:
            for epoch in range(epochs):
                loss_sums = torch.zeros(len(names), dtype=torch.float64, device=device)
                images_seen = torch.zeros(1, dtype=torch.int64, device=device)
                for images, labels in train_loader:
                    images, labels = images.to(device), labels.to(device)
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
                        features = blocks.output(name).flatten(1).float()
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
                rates = (heads_success_rates(network, names, result, test_loader, device) if test_loader is not None
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
        shape = block_shape(blocks.output(name))
        head = new_head(shape[0] * shape[1] * shape[2], num_labels, recipe.seed + index + 1).to(device)
        same_as_rank_zero(head.weight.data)
        result[name] = head
        result.shapes[name] = shape
        result.history[name] = []
    parameters = [result[name].weight for name in names]
    return torch.optim.SGD(parameters, lr=recipe.learning_rate, momentum=recipe.momentum,
                           weight_decay=recipe.weight_decay, nesterov=True)
