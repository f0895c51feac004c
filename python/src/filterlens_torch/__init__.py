"""filterlens-torch: FilterLens's phases 2 and 3 for any trained PyTorch CNN, on its device and under
torch.distributed, written into FilterLens's HDF5 layout (docs/hdf5-layout.md) for ``filterlens analyze`` and
``filterlens report``.

    heads = probe(model, layers, train_loader, num_labels, test_loader=test_loader, epochs=4)
    dissect(model, layers, heads, test_loader, "outputs/my-run", label_names)
"""
from __future__ import annotations

__version__ = "0.1.0"

from .dissect import Dissection, dissect
from .fields import FieldSumsAccumulator
from .hooks import BlockOutputs
from .lock import RunFolderInUse
from .probe import ProbedHeads, ProbeEpoch, ProbeRecipe, probe

__all__ = ["probe", "dissect", "ProbedHeads", "ProbeEpoch", "ProbeRecipe", "Dissection", "FieldSumsAccumulator",
           "BlockOutputs", "RunFolderInUse", "__version__"]
