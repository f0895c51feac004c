"""dissect's top images: each filter's k test images with the largest spatially averaged block output, kept on the
device in one pass, equal to a ranking of the stored block outputs; their small copies are the images as the model
received them."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

import synthetic
from filterlens_torch import dissect
from filterlens_torch.top_images import COPY_SIDE, TopImagesAccumulator, image_copy


def test_top_images_are_the_largest_spatial_means_of_the_block_outputs(run_directory, test_data):
    """run_directory was dissected with write_activations=True: its activations.h5 holds every block output, so the
    top k of fields.h5 can be checked against a ranking of them."""
    with h5py.File(run_directory / "fields.h5", "r") as fields, \
            h5py.File(run_directory / "activations.h5", "r") as activations:
        labels = activations["labels"][:]
        for layer in range(1, len(synthetic.BLOCKS) + 1):
            name = "layer%02d" % layer
            group = fields["top_images/" + name]
            indices, values, top_labels = group["top_images"][:], group["top_activations"][:], group["top_labels"][:]
            assert [d.label for d in group["top_images"].dims] == ["filter", "rank"]
            means = activations[name][:].astype(np.float64).mean(axis=(2, 3))      # [image, filter]
            assert indices.shape == (means.shape[1], 16)
            for f in range(means.shape[1]):
                expected = np.argsort(-means[:, f], kind="stable")[:16]
                np.testing.assert_allclose(values[f], means[expected, f], rtol=1e-5, atol=1e-6)
                # the same images, up to ties in float32 rounding
                assert set(indices[f]) == set(expected) or np.allclose(np.sort(means[indices[f], f]),
                                                                       np.sort(means[expected, f]), rtol=1e-5)
                assert np.all(np.diff(values[f]) <= 0), "ranked largest first"
                np.testing.assert_array_equal(top_labels[f], labels[indices[f]])
        copies = fields["image_copies"]
        index = copies["index"][:]
        every_top = set(np.concatenate([fields["top_images/layer%02d/top_images" % l][:].ravel()
                                        for l in range(1, len(synthetic.BLOCKS) + 1)]).tolist())
        assert set(index.tolist()) == every_top, "one copy of every top image, no other"
        pixels = copies["pixels"][:]
        assert pixels.shape == (len(index), 8, 8, 3) and pixels.dtype == np.uint8
        images = test_data.tensors[0]
        np.testing.assert_array_equal(pixels, image_copy(images[torch.as_tensor(index)]))


def test_the_top_images_are_found_in_one_pass_whatever_the_batches(model, heads, test_data, tmp_path):
    """Batches of 7 and of 128 images give the same top k (the ranking is over all images, not per batch)."""
    first = dissect(model, synthetic.BLOCKS, heads, synthetic.loader(test_data, 7), str(tmp_path / "a"),
                    synthetic.LABEL_NAMES, top_images=5)
    second = dissect(model, synthetic.BLOCKS, heads, synthetic.loader(test_data, 128), str(tmp_path / "b"),
                     synthetic.LABEL_NAMES, top_images=5)
    for name in synthetic.BLOCKS:
        assert first.top_images[name][0].shape[1] == 5
        np.testing.assert_array_equal(first.top_images[name][0], second.top_images[name][0])
    with pytest.raises(ValueError, match="top_images must be positive"):
        dissect(model, synthetic.BLOCKS, heads, synthetic.loader(test_data, 64), str(tmp_path / "c"),
                synthetic.LABEL_NAMES, top_images=0)


def test_accumulator_ranks_ties_by_the_earlier_image_and_pads_short_runs():
    top = TopImagesAccumulator(channels=2, count=4, device=torch.device("cpu"))
    features = torch.tensor([[[1.0, 1.0], [0.0, 2.0]], [[1.0, 1.0], [5.0, 5.0]], [[3.0, 3.0], [0.0, 0.0]]])
    entered = top.add(features, torch.tensor([0, 1, 2]), first_image=10)
    assert entered.tolist() == [True, True, True]
    indices, values, labels = top.arrays()
    assert indices.tolist() == [[12, 10, 11, -1], [11, 10, 12, -1]]
    assert values[0, :3].tolist() == [3.0, 1.0, 1.0] and np.isnan(values[0, 3])
    assert labels.tolist() == [[2, 0, 1, -1], [1, 0, 2, -1]]


def test_copies_of_large_images_shrink_to_the_copy_side():
    copy = image_copy(torch.randn(2, 3, 200, 100))
    assert copy.shape == (2, COPY_SIDE, COPY_SIDE // 2, 3)
    assert image_copy(torch.randn(2, 16)) is None, "no copies of inputs that are not images"
