"""filterlens-torch: FilterLens's phases 2 and 3 for any trained PyTorch vision model (CNNs, residual networks,
transformers' token outputs), on its device and under torch.distributed, written into FilterLens's HDF5 layout
(docs/hdf5-layout.md) for ``filterlens analyze`` and ``filterlens report``.

    print(block_names(model, images[:2]))      # {module name: output shape} of the modules that can be probed
    heads = probe(model, layers, train_loader, num_labels, test_loader=test_loader, epochs=4)
    dissect(model, layers, heads, test_loader, "outputs/my-run", label_names)
"""
from __future__ import annotations

__version__ = "0.1.0"

from .dissect import Dissection, bytes_per_filter, dissect, plan_passes
from .fields import FieldSumsAccumulator
from .hooks import LAYOUTS, BlockOutputs, block_names
from .lock import RunFolderInUse
from .probe import ProbedHeads, ProbeEpoch, ProbeRecipe, probe

__all__ = ["probe", "dissect", "block_names", "ProbedHeads", "ProbeEpoch", "ProbeRecipe", "Dissection",
           "FieldSumsAccumulator", "BlockOutputs", "LAYOUTS", "bytes_per_filter", "plan_passes", "RunFolderInUse",
           "__version__"]
