"""dissect's field sums are phase 3's definition: they equal the sums recomputed from the stored activations, and
the head's output with every weight but one filter's silenced."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

import synthetic
from filterlens_torch import BlockOutputs, FieldSumsAccumulator
from filterlens_torch.layout import read_activation_batches


def test_sums_equal_those_computed_from_stored_activations(run_directory):
    with h5py.File(run_directory / "probe.h5", "r") as probes, h5py.File(run_directory / "fields.h5", "r") as fields:
        for layer, (c, h, w) in enumerate(synthetic.block_output_shapes(), start=1):
            weight = probes["layer%02d/weight" % layer][:].astype(np.float64).reshape(synthetic.LABELS, c, h * w)
            expected = np.zeros((synthetic.LABELS, c, synthetic.LABELS))
            counts = np.zeros(synthetic.LABELS, np.int64)
            for labels, outputs in read_activation_batches(str(run_directory / "activations.h5"), layer, batch=37):
                field = np.einsum("bcp,jcp->bcj", outputs.astype(np.float64).reshape(len(labels), c, h * w), weight)
                np.add.at(expected, labels, field)
                counts += np.bincount(labels, minlength=synthetic.LABELS)
            stored = fields["layer%02d" % layer][:]
            assert np.abs(expected).max() > 1.0, "the sums must not be trivially small"
            np.testing.assert_allclose(stored, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
            np.testing.assert_array_equal(fields["images_per_label"][:], counts)


def test_a_field_is_the_head_output_with_all_other_filters_silenced(model, heads, test_data):
    images, labels = test_data.tensors
    name = synthetic.BLOCKS[1]
    weight = heads[name].weight.detach()
    shape = synthetic.block_output_shapes()[1]
    with BlockOutputs(model, [name]) as blocks, torch.no_grad():
        model(images)
        outputs = blocks.outputs[name]
    accumulator = FieldSumsAccumulator(weight, shape)
    accumulator.add(outputs, labels)
    c, h, w = shape
    for f in range(c):
        silenced = torch.zeros_like(weight).reshape(synthetic.LABELS, c, h * w)
        silenced[:, f] = weight.reshape(synthetic.LABELS, c, h * w)[:, f]
        fields = outputs.flatten(1).double() @ silenced.reshape(synthetic.LABELS, -1).double().T   # [images, labels]
        for i in range(synthetic.LABELS):
            np.testing.assert_allclose(accumulator.sums[i, f].numpy(), fields[labels == i].sum(0).numpy(),
                                       rtol=1e-5, atol=1e-4)
    assert accumulator.images_per_label.tolist() == torch.bincount(labels, minlength=synthetic.LABELS).tolist()


def test_accumulator_refuses_labels_out_of_range_and_misshaped_outputs():
    accumulator = FieldSumsAccumulator(torch.ones(3, 2 * 2 * 2), (2, 2, 2))
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        accumulator.add(torch.ones(1, 2, 2, 2), torch.tensor([3]))
    with pytest.raises(ValueError, match="expected batch x 2x2x2"):
        accumulator.add(torch.ones(1, 2, 2, 3), torch.tensor([0]))
    with pytest.raises(ValueError, match="does not fit"):
        FieldSumsAccumulator(torch.ones(3, 7), (2, 2, 2))
