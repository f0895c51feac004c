"""Forward hooks that keep the latest output of named modules: the block outputs phases 2 and 3 read.

A block output is read as filters x positions (docs/method.md, "Filters of other networks"):

- ``"bchw"``: batch x C x H x W (a convolutional block): C filters at H*W positions;
- ``"btc"``: batch x tokens x channels (PyTorch's ``batch_first`` convention: a transformer block): the channels are
  the filters and the tokens the positions;
- ``"bcl"``: batch x channels x length (a 1-D convolution): C filters at L positions; declare it per layer
  (``layouts={name: "bcl"}``), since a 3-D output is read as ``"btc"`` otherwise;
- ``"bc"``: batch x channels (a class token, a pooled output): C filters at one position.

Each is stored in FilterLens's layout as C x H x W with (H, W) = (H, W), (tokens, 1), (length, 1) or (1, 1), so a
head's feature index is (c * H + h) * W + w, that is c * positions + position, and ``filterlens analyze`` reads it
like any convolutional layer.
"""
from __future__ import annotations

import difflib
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import nn

BlockShape = Tuple[int, int, int]
"""C, H, W of one layer's block output for one image (tokens: C = channels, H = tokens, W = 1)."""

LAYOUTS: Dict[str, str] = {
    "bchw": "batch x C x H x W",
    "btc": "batch x tokens x channels",
    "bcl": "batch x channels x length",
    "bc": "batch x channels",
}
"""The block layouts read, by name, with the dimensions they stand for."""

_DIMENSIONS = {"bchw": 4, "btc": 3, "bcl": 3, "bc": 2}
_DEFAULT_LAYOUT = {4: "bchw", 3: "btc", 2: "bc"}


def unwrapped(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel or DataParallel wrapper, else ``model`` itself.

    Phases 2 and 3 only run the frozen network forward, so the wrapper (and its buffer broadcasts) is not needed,
    and module names are those of the bare model.
    """
    wrappers = (nn.parallel.DistributedDataParallel, nn.DataParallel)
    return model.module if isinstance(model, wrappers) else model


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (or buffer); the CPU for a model with neither."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")


def layout_of(output: torch.Tensor, declared: Optional[str] = None) -> str:
    """The layout of a block output: ``declared`` when given, else by its dimensions (4: "bchw", 3: "btc", 2: "bc")."""
    if declared is not None:
        return declared
    return _DEFAULT_LAYOUT[output.dim()]


def filters_by_positions(output: torch.Tensor, layout: str) -> torch.Tensor:
    """``output`` read as batch x filters x positions: "bchw" as batch x C x (H*W), "btc" transposed to
    batch x channels x tokens, "bcl" as it is, "bc" as batch x C x 1. A view where the layout allows one."""
    if layout == "bchw":
        return output.flatten(2)
    if layout == "btc":
        return output.transpose(1, 2)
    if layout == "bcl":
        return output
    if layout == "bc":
        return output.unsqueeze(2)
    raise ValueError("unknown block layout %r: one of %s" % (layout, ", ".join(LAYOUTS)))


def block_shape(output: torch.Tensor, layout: Optional[str] = None) -> BlockShape:
    """(C, H, W) of a block output as FilterLens stores it: batch x C x H x W gives (C, H, W); batch x tokens x
    channels (C, tokens, 1); batch x channels x length (C, length, 1); batch x channels (C, 1, 1)."""
    layout = layout_of(output, layout)
    if layout == "bchw":
        _, channels, height, width = output.shape
        return int(channels), int(height), int(width)
    features = filters_by_positions(output, layout)
    return int(features.shape[1]), int(features.shape[2]), 1


def check_layouts(names: Sequence[str], layouts: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """The declared layouts as a dict, refusing an unknown layout or a name that is not among ``names``."""
    declared = dict(layouts or {})
    for name, layout in declared.items():
        if layout not in LAYOUTS:
            raise ValueError("layouts[%r] = %r is not a block layout: use one of %s" % (
                name, layout, ", ".join("%r (%s)" % item for item in LAYOUTS.items())))
        if name not in names:
            raise KeyError("layouts names %r, which is not among the layers %s" % (name, list(names)))
    return declared


def _describe(output: object) -> str:
    if isinstance(output, torch.Tensor):
        return str(tuple(output.shape))
    if isinstance(output, (tuple, list)):
        return "a %s of %d (%s)" % (type(output).__name__, len(output), ", ".join(
            str(tuple(item.shape)) if isinstance(item, torch.Tensor) else type(item).__name__ for item in output))
    return type(output).__name__


def unsupported_output(name: str, output: object, declared: Optional[str]) -> str:
    """The error message for a module output that is no block output of the declared (or any) layout."""
    if declared is not None:
        return ("module %r returned %s; layouts[%r] = %r needs a %s tensor: declare the layout its output has, or "
                "name another module" % (name, _describe(output), name, declared, LAYOUTS[declared]))
    return ("module %r returned %s; a block output must be one tensor of batch x C x H x W, batch x tokens x channels "
            "(batch_first), batch x channels x length (declare layouts={%r: 'bcl'}) or batch x channels: name a "
            "module that returns one (block_names(model, example_input) lists them)" % (name, _describe(output), name))


class BlockOutputs:
    """Forward hooks on the modules of ``model`` named ``names`` (names of ``model.named_modules()``).

    After each forward pass, ``output(name)`` is that module's output, detached, as the module returned it (for a
    convolutional block the batch x C x H x W tensor after batch norm, ReLU and the pool that follows it; for a
    transformer block batch x tokens x channels), and ``features(name)`` the same read as batch x filters x
    positions. ``layouts`` declares a layer's layout where its dimensions do not say it (``{"conv1d": "bcl"}``).
    The tensor is kept, not copied, so ``output`` refuses one that a later in-place operation of the forward pass
    changed (name a module whose output nothing modifies in place afterwards). Call ``clear()`` before each forward
    pass to have a module that runs twice in one pass (a shared module) refused. Use as a context manager so the
    hooks are removed afterwards.
    """

    def __init__(self, model: nn.Module, names: Sequence[str], layouts: Optional[Mapping[str, str]] = None) -> None:
        modules = dict(model.named_modules())
        missing = [name for name in names if name not in modules]
        if missing:
            hints = ["%r (closest: %s)" % (name, ", ".join(difflib.get_close_matches(name, list(modules), n=3)) or "none")
                     for name in missing]
            raise KeyError("no module named " + "; ".join(hints) + " in the model: `layers` takes names of "
                           "model.named_modules() (block_names(model, example_input) lists those that can be probed)")
        if len(set(names)) != len(names):
            raise ValueError("`layers` names a module twice: %s" % list(names))
        self.names = list(names)
        self.layouts = check_layouts(self.names, layouts)
        self.outputs: Dict[str, torch.Tensor] = {}
        self._versions: Dict[str, int] = {}
        self._calls: Dict[str, int] = {}
        self._counting = False
        self._batch: Optional[int] = None
        self._handles = [modules[name].register_forward_hook(self._keeper(name)) for name in self.names]

    def _keeper(self, name: str):
        declared = self.layouts.get(name)

        def keep(_module: nn.Module, _inputs, output) -> None:
            wanted = {_DIMENSIONS[declared]} if declared is not None else set(_DEFAULT_LAYOUT)
            if not isinstance(output, torch.Tensor) or output.dim() not in wanted:
                raise ValueError(unsupported_output(name, output, declared))
            if self._batch is not None and output.shape[0] != self._batch:
                raise ValueError("module %r returned %s for a batch of %d images: the batch must come first "
                                 "(batch x tokens x channels; e.g. batch_first=True for nn.TransformerEncoderLayer "
                                 "and nn.MultiheadAttention), or name another module"
                                 % (name, tuple(output.shape), self._batch))
            self.outputs[name] = output.detach()
            self._versions[name] = output._version
            self._calls[name] = self._calls.get(name, 0) + 1
        return keep

    def clear(self, batch: Optional[int] = None) -> None:
        """Forgets the outputs kept; from now on, ``output`` refuses a module that ran more than once since the last
        ``clear()``, and, given the ``batch`` size of the next forward pass, an output whose first dimension is not
        the batch (a transformer that is not ``batch_first``)."""
        self._batch = batch
        self.outputs.clear()
        self._versions.clear()
        self._calls.clear()
        self._counting = True

    def output(self, name: str) -> torch.Tensor:
        """The latest output of module ``name`` as the module returned it, checked to be unchanged since the module
        made it."""
        if name not in self.outputs:
            raise RuntimeError("module %r did not run in the forward pass: name a module the model calls (a fused "
                               "fast path may skip a module's submodules; block_names(model, example_input) lists "
                               "the modules that run)" % name)
        if self._counting and self._calls.get(name, 0) > 1:
            raise RuntimeError("module %r ran %d times in one forward pass (a shared module): its block output is "
                               "ambiguous; name a module that runs once" % (name, self._calls[name]))
        output = self.outputs[name]
        if output._version != self._versions[name]:
            raise RuntimeError("the output of module %r was changed in place later in the forward pass (e.g. by a "
                               "ReLU(inplace=True) after it): name the module after that operation" % name)
        return output

    def layout(self, name: str) -> str:
        """The layout of module ``name``'s output: declared, or read from its dimensions after a forward pass."""
        return layout_of(self.output(name), self.layouts.get(name))

    def features(self, name: str) -> torch.Tensor:
        """The latest output of module ``name`` as batch x filters x positions (see ``filters_by_positions``)."""
        return filters_by_positions(self.output(name), self.layout(name))

    def shape(self, name: str) -> BlockShape:
        """(C, H, W) of module ``name``'s latest output as FilterLens stores it."""
        return block_shape(self.output(name), self.layout(name))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> "BlockOutputs":
        return self

    def __exit__(self, *_exception) -> None:
        self.remove()


ExampleInput = Union[torch.Tensor, Tuple[torch.Tensor, ...]]


def block_names(model: nn.Module, example_input: ExampleInput) -> Dict[str, Tuple[int, ...]]:
    """The modules of ``model`` whose outputs can be probed, in the order the forward pass runs them, with their
    output shapes (batch first): ``{name: shape}``.

    Runs ``model`` once on ``example_input`` (a batch, or a tuple of the forward's arguments; 2 images suffice) in
    inference mode under ``torch.no_grad()`` and keeps each module (the model itself excepted) whose output is one
    tensor of 2, 3 or 4 dimensions with the batch first (batch x C x H x W, batch x tokens x channels, batch x
    channels x length, batch x channels), that runs once per pass, and whose output no later in-place operation
    changes. Like torchvision's ``get_graph_node_names``, it gives the names ``probe``'s ``layers`` takes; which of
    them are the blocks of your analysis is your choice. A 3-D output is read as batch x tokens x channels unless
    ``layouts`` declares it batch x channels x length.
    """
    network = unwrapped(model)
    arguments = example_input if isinstance(example_input, tuple) else (example_input,)
    batch = int(arguments[0].shape[0])
    seen: Dict[str, Tuple[torch.Tensor, int]] = {}
    calls: Dict[str, int] = {}
    order = []

    def keeper(name: str):
        def keep(_module: nn.Module, _inputs, output) -> None:
            calls[name] = calls.get(name, 0) + 1
            if isinstance(output, torch.Tensor) and output.dim() in _DEFAULT_LAYOUT and output.shape[0] == batch:
                if name not in seen:
                    order.append(name)
                seen[name] = (output, output._version)
        return keep

    handles = [module.register_forward_hook(keeper(name)) for name, module in network.named_modules() if name]
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            network(*arguments)
    finally:
        network.train(was_training)
        for handle in handles:
            handle.remove()
    return {name: tuple(int(size) for size in seen[name][0].shape) for name in order
            if calls[name] == 1 and seen[name][0]._version == seen[name][1]}
