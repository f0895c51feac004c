"""The run directory dissect writes follows docs/hdf5-layout.md (run.h5, probe.h5, fields.h5, activations.h5)."""
from __future__ import annotations

import h5py
import numpy as np
import torch

import synthetic
from conftest import PROBE_EPOCHS, TEST_IMAGES
from filterlens_torch import BlockOutputs
from filterlens_torch.lock import LOCK_FILE


def test_run_and_probe_files_hold_label_names_heads_and_network_sr(run_directory, heads):
    with h5py.File(run_directory / "run.h5", "r") as run, h5py.File(run_directory / "probe.h5", "r") as probes:
        assert run.attrs["format"] == "filterlens-run"
        assert run.attrs["format_version"] == 2
        assert list(run.attrs["label_names"]) == synthetic.LABEL_NAMES
        assert run.attrs["dataset"] == "synthetic quadrants"
        assert "probe" not in run, "version 2 keeps the heads in probe.h5"
        assert probes.attrs["format"] == "filterlens-probe" and probes.attrs["format_version"] == 2
        assert probes.attrs["run_id"] == run.attrs["run_id"] and len(run.attrs["run_id"]) == 36
        probe = probes["recipe"]
        assert probe.attrs["epochs"] == PROBE_EPOCHS
        assert probe.attrs["learning_rate"] == 0.01 and probe.attrs["momentum"] == 0.975
        assert probe.attrs["lr_decay"] == 0.975 and probe.attrs["weight_decay"] == 1e-3
        assert probe.attrs["batch_size"] == 32 and probe.attrs["augment"] == 0
        for layer, (name, (c, h, w)) in enumerate(zip(synthetic.BLOCKS, synthetic.block_output_shapes()), start=1):
            group = probes["layer%02d" % layer]
            assert (group.attrs["channels"], group.attrs["height"], group.attrs["width"]) == (c, h, w)
            assert group.attrs["module"] == name
            weight = group["weight"]
            assert weight.dtype == np.float32 and weight.shape == (synthetic.LABELS, c * h * w)
            assert [d.label for d in weight.dims] == ["output_label", "feature"]
            np.testing.assert_array_equal(weight[:], heads[name].weight.detach().numpy())
            assert list(group["epoch"][:]) == list(range(1, PROBE_EPOCHS + 1))
            np.testing.assert_allclose(group["train_loss"][:], [e.train_loss for e in heads.history[name]])
            assert group.attrs["final_test_sr"] == group["test_sr"][-1] == heads.history[name][-1].test_sr
            assert group.attrs["loss_flag"] in ("ok", "loss rising", "loss high")
        assert run["training/test_sr"].shape == (1,)
        assert 0.5 < run["training/test_sr"][0] <= 1.0


def test_fields_file_holds_sums_and_counts_per_label(run_directory, test_data):
    with h5py.File(run_directory / "fields.h5", "r") as fields:
        assert fields.attrs["format"] == "filterlens-fields"
        assert fields.attrs["format_version"] == 1, "fields.h5 is versioned on its own"
        assert fields.attrs["images"] == TEST_IMAGES
        counts = fields["images_per_label"]
        assert counts.dtype == np.int64
        np.testing.assert_array_equal(counts[:], np.bincount(test_data.tensors[1].numpy(), minlength=synthetic.LABELS))
        for layer, (c, h, w) in enumerate(synthetic.block_output_shapes(), start=1):
            sums = fields["layer%02d" % layer]
            assert sums.dtype == np.float64 and sums.shape == (synthetic.LABELS, c, synthetic.LABELS)
            assert [d.label for d in sums.dims] == ["input_label", "filter", "output_label"]
            assert (sums.attrs["channels"], sums.attrs["height"], sums.attrs["width"]) == (c, h, w)


def test_activations_file_holds_every_block_output_in_data_set_order(run_directory, model, test_data):
    images, labels = test_data.tensors
    with BlockOutputs(model, synthetic.BLOCKS) as blocks, torch.no_grad():
        model(images)
        expected = {layer: blocks.outputs[name].numpy() for layer, name in enumerate(synthetic.BLOCKS, start=1)}
    with h5py.File(run_directory / "activations.h5", "r") as acts:
        assert acts.attrs["format"] == "filterlens-activations" and acts.attrs["format_version"] == 2
        assert acts.attrs["split"] == "test" and acts.attrs["layer_count"] == 2
        np.testing.assert_array_equal(acts["labels"][:], labels.numpy())
        assert acts["labels"].dtype == np.int32
        for layer, values in expected.items():
            dataset = acts["layer%02d" % layer]
            assert dataset.dtype == np.float32 and dataset.shape == values.shape
            assert dataset.compression == "gzip" and dataset.shuffle and dataset.chunks[1:] == values.shape[1:]
            assert [d.label for d in dataset.dims] == ["image", "channel", "height", "width"]
            np.testing.assert_allclose(dataset[:], values, rtol=1e-5, atol=1e-6)


def test_no_temporary_file_is_left(run_directory):
    assert sorted(p.name for p in run_directory.iterdir()) == [LOCK_FILE, "activations.h5", "fields.h5", "probe.h5",
                                                               "run.h5"]


def test_derived_files_are_the_command_lines():
    """dissect removes what the command line's phase 1 removes (Sources/Pipeline/RunFolder/RunDirectory.swift,
    derived(after: .train)), less the probe.h5 it writes itself: the two lists may not drift apart."""
    import os
    import re
    from filterlens_torch.dissect import DERIVED_FILES
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    swift = os.path.join(root, "Sources", "Pipeline", "RunFolder", "RunDirectory.swift")
    store = os.path.join(root, "Sources", "RunStore")
    if not os.path.exists(swift):
        import pytest
        pytest.skip("not in a FilterLens checkout")
    names = {}
    for file in os.listdir(store):   # RunLayout's file names, some declared beside their files' code
        names.update(re.findall(r'static let (\w+File) = "([^"]+)"', open(os.path.join(store, file)).read()))
    body = open(swift).read().split("func derived(after phase: Phase)")[1].split("\n    }\n")[0]
    swift_names = {names[name] for name in re.findall(r"RunLayout\.(\w+File)", body)}
    swift_names |= set(re.findall(r'"([\w.-]+\.(?:h5|csv))"', body))
    assert swift_names - {"probe.h5"} == set(DERIVED_FILES)
