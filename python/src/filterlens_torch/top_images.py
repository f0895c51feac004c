"""Per filter, the k test images with the largest spatially averaged block output, kept on the device during
``dissect``'s one pass, and small copies of those images for the report (docs/hdf5-layout.md, fields.h5
``/top_images`` and ``/image_copies``). This mirrors Sources/Analysis/TopImages.swift: the value of image k for
filter f is the mean over positions of its output a_k[f, ...]; images are ranked largest first.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .distributed import is_distributed, rank_and_world_size

DEFAULT_TOP_IMAGES = 16
"""Images kept per filter unless ``dissect(top_images=...)`` says otherwise (the command line's default too)."""

COPY_SIDE = 64
"""The largest side of a stored image copy, in pixels: larger images are shrunk by area averaging."""

COPY_DEFINITION = ("each test image as the model received it (after the loader's transforms), rescaled to 0..255 by "
                   "its own minimum and maximum over all channels, shrunk by area averaging to at most %d pixels a "
                   "side, RGB (a one-channel image repeated three times)" % COPY_SIDE)


class TopImagesAccumulator:
    """One layer's top-k images per filter, on the device: ``values`` float64 [filter, rank] (descending, -inf where
    fewer than k images were seen), ``indices`` int64 [filter, rank] (test-image index in the loader's order; -1
    pads), ``labels`` int64 [filter, rank]. Memory: 24 F k bytes."""

    def __init__(self, channels: int, count: int, device: torch.device) -> None:
        if count <= 0:
            raise ValueError("top_images must be positive, got %d" % count)
        self.count = count
        self.values = torch.full((channels, count), float("-inf"), dtype=torch.float64, device=device)
        self.indices = torch.full((channels, count), -1, dtype=torch.int64, device=device)
        self.labels = torch.full((channels, count), -1, dtype=torch.int64, device=device)

    def add(self, features: torch.Tensor, labels: torch.Tensor, first_image: int) -> torch.Tensor:
        """Adds one batch: ``features`` batch x filters x positions, ``labels`` [batch]; the batch's images are test
        images ``first_image`` ... Returns a bool [batch] of the images that entered some filter's top k."""
        batch = features.shape[0]
        means = features.detach().float().mean(dim=2).double().t()               # [filter, batch]
        means = torch.nan_to_num(means, nan=float("-inf"))
        index = torch.arange(first_image, first_image + batch, device=means.device, dtype=torch.int64)
        values = torch.cat([self.values, means], dim=1)
        indices = torch.cat([self.indices, index.expand(means.shape[0], batch)], dim=1)
        labels = labels.to(device=means.device, dtype=torch.int64)
        all_labels = torch.cat([self.labels, labels.expand(means.shape[0], batch)], dim=1)
        # A stable sort keeps the earlier image first at equal values, as the engine's analysis does.
        order = torch.sort(values, dim=1, descending=True, stable=True).indices[:, :self.count]
        self.values = torch.gather(values, 1, order)
        self.indices = torch.gather(indices, 1, order)
        self.labels = torch.gather(all_labels, 1, order)
        entered = (order >= self.count).flatten()
        kept = torch.zeros(batch, dtype=torch.bool, device=means.device)
        kept[(order.flatten()[entered] - self.count)] = True
        return kept

    def merge_across_processes(self, rank_offset: Optional[Tuple[int, int]] = None) -> None:
        """Under torch.distributed, every process ends with the top k over all of them; a process's local index i
        becomes the global ``rank + world_size * i`` (the order of a DistributedSampler without shuffling)."""
        if not is_distributed():
            return
        import torch.distributed as dist
        rank, world = rank_and_world_size()
        local = torch.where(self.indices >= 0, rank + world * self.indices, self.indices)
        gathered = {name: [torch.empty_like(tensor) for _ in range(world)]
                    for name, tensor in (("values", self.values), ("indices", local), ("labels", self.labels))}
        dist.all_gather(gathered["values"], self.values)
        dist.all_gather(gathered["indices"], local)
        dist.all_gather(gathered["labels"], self.labels)
        values = torch.cat(gathered["values"], dim=1)
        order = torch.sort(values, dim=1, descending=True, stable=True).indices[:, :self.count]
        self.values = torch.gather(values, 1, order)
        self.indices = torch.gather(torch.cat(gathered["indices"], dim=1), 1, order)
        self.labels = torch.gather(torch.cat(gathered["labels"], dim=1), 1, order)

    def arrays(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indices int64, values float64 with NaN for padding, labels int32), each [filter, rank], on the CPU."""
        values = self.values.cpu().numpy().copy()
        values[~np.isfinite(values)] = np.nan
        return self.indices.cpu().numpy(), values, self.labels.cpu().numpy().astype(np.int32)


def image_copy(images: torch.Tensor) -> Optional[np.ndarray]:
    """Small RGB copies of a batch of images (``COPY_DEFINITION``): uint8 [batch, height, width, 3], or None when
    the model's input is not a batch of images (batch x 1 or 3 x H x W)."""
    if images.dim() != 4 or images.shape[1] not in (1, 3) or not images.is_floating_point():
        return None
    x = images.detach().float()
    low = x.flatten(1).min(dim=1).values.view(-1, 1, 1, 1)
    high = x.flatten(1).max(dim=1).values.view(-1, 1, 1, 1)
    x = (x - low) / torch.clamp(high - low, min=1e-12)
    side = max(x.shape[2], x.shape[3])
    if side > COPY_SIDE:
        x = F.adaptive_avg_pool2d(x, (max(1, x.shape[2] * COPY_SIDE // side), max(1, x.shape[3] * COPY_SIDE // side)))
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return (x * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


class ImageCopies:
    """The copies of every image that entered some filter's top k, kept on the CPU (small: at most
    ``COPY_SIDE`` squared x 3 bytes each), pruned at the end to the final top images."""

    def __init__(self) -> None:
        self.copies: Dict[int, np.ndarray] = {}
        self.supported = True

    def add(self, images: torch.Tensor, kept: torch.Tensor, first_image: int) -> None:
        if not self.supported or not bool(kept.any()):
            return
        chosen = torch.nonzero(kept).flatten()
        copies = image_copy(images[chosen.to(images.device)])
        if copies is None:
            self.supported = False
            return
        for position, copy in zip(chosen.tolist(), copies):
            self.copies[first_image + position] = copy

    def final(self, indices: np.ndarray, rank: int = 0, world: int = 1) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """(index int64 [image], pixels uint8 [image, height, width, 3]) of the images ``indices`` names (global
        indices; this process holds those of its own rank), or None without copies."""
        if not self.supported or not self.copies:
            return None
        wanted = sorted({int(i) for i in np.asarray(indices).flatten() if i >= 0})
        local = {}
        for index in wanted:
            if world > 1 and index % world != rank:
                continue
            copy = self.copies.get((index - rank) // world if world > 1 else index)
            if copy is not None:
                local[index] = copy
        if not local:
            return None
        shapes = {copy.shape for copy in local.values()}
        if len(shapes) != 1:   # images of several sizes: none is stored rather than a ragged array
            return None
        order = sorted(local)
        return np.asarray(order, np.int64), np.stack([local[i] for i in order])
