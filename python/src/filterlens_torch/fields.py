"""Phase 3's sufficient statistics, accumulated on the device: per layer, the sums of each filter's output fields
over the test images of each true label.

For a head W (labels x C x H x W once its labels x C*H*W weight is reshaped) and image k with block output a_k
(C x H x W), the output field of filter f on output label j is
field_f(k, j) = sum over h, w of W[j, f, h, w] * a_k[f, h, w]
(for a transformer block, batch x tokens x channels, the filters are the channels and the positions the tokens:
field_f(k, j) = sum over tokens t of W[j, f, t] * a_k[f, t], with a_k[f, t] = output[k, t, f])
(the head's output when every weight except those leaving filter f is silenced). FilterLens's filter-label matrix is
M_f[i, j] = (sum over the images k of true label i of field_f(k, j)) / (images of label i), so the sums
[input_label i, filter f, output_label j] and the image count per label are all ``filterlens analyze`` needs.
This mirrors Sources/Analysis/FieldAccumulator.swift: fields in float32, sums in float64.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch

from .layout import BlockShape


class FieldSumsAccumulator:
    """Sums of output fields of one layer (or of a range of its filters), on the head's device.

    ``sums``: float64 [input_label, filter, output_label] (labels x F x labels, F = the filters of ``filters``, all C
    by default); ``images_per_label``: int64 [label]. Device memory: 8 L^2 F bytes for the sums, and while ``add``
    runs 12 B F L bytes for one batch's fields (float32, then float64).
    """

    def __init__(self, head_weight: torch.Tensor, shape: BlockShape,
                 filters: Optional[Tuple[int, int]] = None) -> None:
        channels, height, width = shape
        labels = head_weight.shape[0]
        if head_weight.numel() != labels * channels * height * width:
            raise ValueError("head weight of shape %s does not fit a block output of %dx%dx%d"
                             % (tuple(head_weight.shape), channels, height, width))
        start, stop = filters if filters is not None else (0, channels)
        if not 0 <= start < stop <= channels:
            raise ValueError("filters %d..%d are not a range of the layer's %d filters" % (start, stop, channels))
        self.shape = shape
        self.filters = (start, stop)
        """The filters summed, as a range start..stop-1 of the layer's C."""
        self.label_count = labels
        self.head_weight = head_weight.detach().float()
        """The head, labels x C*H*W float32, on the device of the sums."""
        self.weight = self.head_weight.reshape(labels, channels, height * width)[:, start:stop]
        device = head_weight.device
        self.sums = torch.zeros(labels, stop - start, labels, dtype=torch.float64, device=device)
        self.images_per_label = torch.zeros(labels, dtype=torch.int64, device=device)

    def add(self, block_output: torch.Tensor, labels: torch.Tensor) -> None:
        """Adds one batch: ``block_output`` [batch, C, H, W] or [batch, C, H*W] (batch x filters x positions, e.g.
        ``BlockOutputs.features``), ``labels`` int [batch] in 0..labels-1."""
        batch = block_output.shape[0]
        channels, height, width = self.shape
        if block_output.dim() < 3 or block_output.shape[1] != channels or \
                math.prod(block_output.shape[2:]) != height * width:
            raise ValueError("block output of shape %s, expected batch x %dx%dx%d"
                             % (tuple(block_output.shape), channels, height, width))
        labels = labels.to(device=self.sums.device, dtype=torch.int64)
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.label_count):
            raise ValueError("labels must lie in 0..%d, got %d..%d" % (self.label_count - 1, int(labels.min()),
                                                                      int(labels.max())))
        start, stop = self.filters
        activations = block_output.detach()[:, start:stop].float().reshape(batch, stop - start, height * width)
        fields = torch.einsum("bcp,jcp->bcj", activations, self.weight)   # [batch, F, labels]
        self.sums.index_add_(0, labels, fields.double())
        self.images_per_label += torch.bincount(labels, minlength=self.label_count)
