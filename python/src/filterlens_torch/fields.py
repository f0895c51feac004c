"""Phase 3's sufficient statistics, accumulated on the device: per layer, the sums of each filter's output fields
over the test images of each true label.

For a head W (labels x C x H x W once its labels x C*H*W weight is reshaped) and image k with block output a_k
(C x H x W), the output field of filter f on output label j is
field_f(k, j) = sum over h, w of W[j, f, h, w] * a_k[f, h, w]
(the head's output when every weight except those leaving filter f is silenced). FilterLens's filter-label matrix is
M_f[i, j] = (sum over the images k of true label i of field_f(k, j)) / (images of label i), so the sums
[input_label i, filter f, output_label j] and the image count per label are all ``filterlens analyze`` needs.
This mirrors Sources/Analysis/FieldAccumulator.swift: fields in float32, sums in float64.
"""
from __future__ import annotations

import torch

from .layout import BlockShape


class FieldSumsAccumulator:
    """Sums of output fields of one layer, on the head's device.

    ``sums``: float64 [input_label, filter, output_label] (labels x C x labels);
    ``images_per_label``: int64 [label].
    """

    def __init__(self, head_weight: torch.Tensor, shape: BlockShape) -> None:
        channels, height, width = shape
        labels = head_weight.shape[0]
        if head_weight.numel() != labels * channels * height * width:
            raise ValueError("head weight of shape %s does not fit a block output of %dx%dx%d"
                             % (tuple(head_weight.shape), channels, height, width))
        self.shape = shape
        self.label_count = labels
        self.head_weight = head_weight.detach().float()
        """The head, labels x C*H*W float32, on the device of the sums."""
        self.weight = self.head_weight.reshape(labels, channels, height * width)
        device = head_weight.device
        self.sums = torch.zeros(labels, channels, labels, dtype=torch.float64, device=device)
        self.images_per_label = torch.zeros(labels, dtype=torch.int64, device=device)

    def add(self, block_output: torch.Tensor, labels: torch.Tensor) -> None:
        """Adds one batch: ``block_output`` [batch, C, H, W], ``labels`` int [batch] in 0..labels-1."""
        batch = block_output.shape[0]
        channels, height, width = self.shape
        if tuple(block_output.shape[1:]) != self.shape:
            raise ValueError("block output of shape %s, expected batch x %dx%dx%d"
                             % (tuple(block_output.shape), channels, height, width))
        labels = labels.to(device=self.sums.device, dtype=torch.int64)
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.label_count):
            raise ValueError("labels must lie in 0..%d, got %d..%d" % (self.label_count - 1, int(labels.min()),
                                                                      int(labels.max())))
        activations = block_output.detach().float().reshape(batch, channels, height * width)
        fields = torch.einsum("bcp,jcp->bcj", activations, self.weight)   # [batch, C, labels]
        self.sums.index_add_(0, labels, fields.double())
        self.images_per_label += torch.bincount(labels, minlength=self.label_count)
