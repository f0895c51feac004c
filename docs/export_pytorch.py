#!/usr/bin/env python3
"""Export a network trained elsewhere (e.g. PyTorch) into FilterLens's HDF5 layout, so that
`filterlens analyze RUN` and `filterlens report RUN` dissect it (layout: docs/hdf5-layout.md, version 1).

What FilterLens needs: for every convolutional layer l, the phase 2 head W_l (labels x C*H*W, bias-free, trained on
the frozen block output of layer l) in run.h5, and the test-set block outputs (N x C x H x W) in activations.h5.

    write_filterlens_run(directory, label_names, heads, test_labels, activation_batches)  # numpy + h5py only
    export_from_pytorch(directory, model, blocks, heads, test_loader, label_names)        # with torch

`python3 docs/export_pytorch.py --demo DIR` writes a small random run (numpy + h5py only) to try the commands on.
"""
import argparse
import os

import h5py
import numpy as np

FORMAT_VERSION = 1


def _label(dataset, names):
    for index, name in enumerate(names):
        dataset.dims[index].label = name


def write_filterlens_run(directory, label_names, heads, test_labels, activation_batches, dataset="unknown",
                         head_sr=None, full_sr=None):
    """Writes run.h5 and activations.h5 into `directory`.

    heads: {layer (1-based int): (weight ndarray labels x (C*H*W), (C, H, W))}
    test_labels: int array (N)
    activation_batches: iterable of {layer: ndarray batch x C x H x W}, in test-set order
    head_sr: optional {layer: final test SR of the head}; full_sr: optional SR of the whole network
    """
    os.makedirs(directory, exist_ok=True)
    string = h5py.string_dtype("utf-8")
    with h5py.File(os.path.join(directory, "run.h5"), "w") as run:
        run.attrs["format"] = "filterlens-run"
        run.attrs["format_version"] = np.int64(FORMAT_VERSION)
        run.attrs["dataset"] = dataset
        run.attrs.create("label_names", np.array(label_names, dtype=object), dtype=string)
        if full_sr is not None:
            training = run.create_group("training")
            for name, value in [("epoch", np.array([1], np.int32))] + [
                    (n, np.array([v], np.float64)) for n, v in [("learning_rate", np.nan), ("train_loss", np.nan),
                                                                ("train_sr", np.nan), ("test_loss", np.nan),
                                                                ("test_sr", full_sr), ("seconds", np.nan),
                                                                ("images_per_second", np.nan)]]:
                training.create_dataset(name, data=value)
        for layer, (weight, (c, h, w)) in sorted(heads.items()):
            group = run.create_group("probe/layer%02d" % layer)
            group.attrs["layer"] = np.int64(layer)
            group.attrs["channels"], group.attrs["height"], group.attrs["width"] = np.int64(c), np.int64(h), np.int64(w)
            group.attrs["loss_flag"] = "unknown"
            _label(group.create_dataset("weight", data=np.asarray(weight, np.float32).reshape(len(label_names), c * h * w)),
                   ["output_label", "feature"])
            if head_sr is not None and layer in head_sr:
                group.create_dataset("test_sr", data=np.array([head_sr[layer]], np.float64))
                group.create_dataset("train_loss", data=np.array([np.nan], np.float64))
    labels = np.asarray(test_labels, np.int32)
    with h5py.File(os.path.join(directory, "activations.h5"), "w") as acts:
        acts.attrs["format"] = "filterlens-activations"
        acts.attrs["format_version"] = np.int64(FORMAT_VERSION)
        acts.attrs["split"] = "test"
        acts.attrs["layer_count"] = np.int64(len(heads))
        _label(acts.create_dataset("labels", data=labels), ["image"])
        sets = {}
        for layer, (_, (c, h, w)) in heads.items():
            per_chunk = max(1, min(len(labels), (1 << 20) // (4 * c * h * w)))
            sets[layer] = acts.create_dataset("layer%02d" % layer, shape=(len(labels), c, h, w), dtype=np.float32,
                                              chunks=(per_chunk, c, h, w), shuffle=True, compression="gzip",
                                              compression_opts=1)
            _label(sets[layer], ["image", "channel", "height", "width"])
        start = 0
        for batch in activation_batches:
            count = len(next(iter(batch.values())))
            for layer, values in batch.items():
                sets[layer][start:start + count] = np.asarray(values, np.float32)
            start += count
        if start != len(labels):
            raise ValueError("activation batches hold %d images, labels %d" % (start, len(labels)))


def export_from_pytorch(directory, model, blocks, heads, test_loader, label_names, dataset="unknown"):
    """Exports a PyTorch network. `blocks[l-1]` is the module whose output is layer l's block output (e.g. the ReLU,
    or the max-pool that follows it); `heads[l-1]` the trained bias-free nn.Linear on its flattened output."""
    import torch
    outputs = {}
    hooks = [block.register_forward_hook(lambda _m, _i, out, l=l: outputs.__setitem__(l, out.detach()))
             for l, block in enumerate(blocks, start=1)]
    model.eval()
    shapes, labels = {}, []

    def batches():
        with torch.no_grad():
            for x, y in test_loader:
                model(x)
                labels.extend(y.tolist())
                yield {l: outputs[l].cpu().numpy() for l in outputs}

    first = next(iter(test_loader))
    with torch.no_grad():
        model(first[0][:1])
    for l in outputs:
        shapes[l] = tuple(outputs[l].shape[1:])
    all_labels = [int(y) for _, ys in test_loader for y in ys]
    weights = {l: (heads[l - 1].weight.detach().cpu().numpy(), shapes[l]) for l in shapes}
    write_filterlens_run(directory, label_names, weights, all_labels, batches(), dataset=dataset)
    for hook in hooks:
        hook.remove()


def demo(directory, images=300, labels=10, seed=0):
    """A random two-layer 'network' whose filters prefer labels: enough to try analyze and report."""
    rng = np.random.default_rng(seed)
    names = ["label%d" % i for i in range(labels)]
    shapes = {1: (8, 8, 8), 2: (16, 4, 4)}
    y = rng.integers(0, labels, images)
    heads = {l: (rng.normal(size=(labels, int(np.prod(s)))).astype(np.float32), s) for l, s in shapes.items()}

    def batches():
        for start in range(0, images, 100):
            part = y[start:start + 100]
            batch = {}
            for l, (c, h, w) in shapes.items():
                a = np.maximum(rng.normal(size=(len(part), c, h, w)), 0)
                a[np.arange(len(part)), part % c] += 2.0     # filter (label mod C) fires for its label
                batch[l] = a
            yield batch

    write_filterlens_run(directory, names, heads, y, batches(), dataset="random demo",
                         head_sr={1: 0.5, 2: 0.6}, full_sr=0.7)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demo", metavar="DIR", required=True, help="write a small random run into DIR")
    demo(parser.parse_args().demo)
