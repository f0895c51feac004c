"""Forward hooks that keep the latest output of named modules: the block outputs phases 2 and 3 read."""
from __future__ import annotations

import difflib
from typing import Dict, Sequence

import torch
from torch import nn


def unwrapped(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel or DataParallel wrapper, else ``model`` itself.

    Phases 2 and 3 only run the frozen network forward, so the wrapper (and its buffer broadcasts) is not needed,
    and module names are those of the bare model.
    """
    wrappers = (nn.parallel.DistributedDataParallel, nn.DataParallel)
    return model.module if isinstance(model, wrappers) else model


class BlockOutputs:
    """Forward hooks on the modules of ``model`` named ``names`` (names of ``model.named_modules()``).

    After each forward pass, ``output(name)`` is that module's output, detached: for a convolutional block the
    batch x C x H x W tensor after batch norm, ReLU and the pool that follows it. The tensor is kept, not copied, so
    ``output`` refuses one that a later in-place operation of the forward pass changed (name a module whose output
    nothing modifies in place afterwards). Use as a context manager so the hooks are removed afterwards.
    """

    def __init__(self, model: nn.Module, names: Sequence[str]) -> None:
        modules = dict(model.named_modules())
        missing = [name for name in names if name not in modules]
        if missing:
            hints = ["%r (closest: %s)" % (name, ", ".join(difflib.get_close_matches(name, list(modules), n=3)) or "none")
                     for name in missing]
            raise KeyError("no module named " + "; ".join(hints) + " in the model: `layers` takes names of "
                           "model.named_modules()")
        if len(set(names)) != len(names):
            raise ValueError("`layers` names a module twice: %s" % list(names))
        self.names = list(names)
        self.outputs: Dict[str, torch.Tensor] = {}
        self._versions: Dict[str, int] = {}
        self._handles = [modules[name].register_forward_hook(self._keeper(name)) for name in self.names]

    def _keeper(self, name: str):
        def keep(_module: nn.Module, _inputs, output) -> None:
            if not isinstance(output, torch.Tensor) or output.dim() != 4:
                raise ValueError("module %r returned %s; a block output must be a batch x C x H x W tensor"
                                 % (name, tuple(output.shape) if isinstance(output, torch.Tensor) else type(output)))
            self.outputs[name] = output.detach()
            self._versions[name] = output._version
        return keep

    def output(self, name: str) -> torch.Tensor:
        """The latest output of module ``name`` (batch x C x H x W), checked to be unchanged since the module made it."""
        output = self.outputs[name]
        if output._version != self._versions[name]:
            raise RuntimeError("the output of module %r was changed in place later in the forward pass (e.g. by a "
                               "ReLU(inplace=True) after it): name the module after that operation" % name)
        return output

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> "BlockOutputs":
        return self

    def __exit__(self, *_exception) -> None:
        self.remove()
