"""analysis.h5 (layout version 3) opens in xarray's h5netcdf engine with named dimensions and coordinates in every
group, and the normalized and binary matrices follow from `raw` and `scale` by the one-liner of docs/hdf5-layout.md.
Needs the release binary (scripts/test.sh builds it) and xarray with h5netcdf."""
from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from test_filterlens_analyze import filterlens, pytestmark  # noqa: F401  (the same binary, skipped without it)

xarray = pytest.importorskip("xarray")
pytest.importorskip("h5netcdf")


@pytest.fixture(scope="module")
def analysed(run_directory, tmp_path_factory):
    out = tmp_path_factory.mktemp("netcdf") / "run"
    shutil.copytree(run_directory, out)
    (out / "activations.h5").unlink()
    result = filterlens("analyze", str(out), "--normalization", "column-centred")
    assert result.returncode == 0, result.stderr
    return out / "analysis.h5"


def groups(path):
    names = []
    with h5py.File(path, "r") as file:
        file.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Group) else None)
    return names


def test_every_group_has_named_dimensions_and_coordinates(analysed):
    with h5py.File(analysed, "r") as file:
        assert file.attrs["format_version"] == 3
        label_names = [name.decode() if isinstance(name, bytes) else name for name in file.attrs["label_names"]]
        layers = list(file["summary/layer"][:])
        filters = {name: file["layers/" + name + "/raw"].shape[0] for name in file["layers"]}
    assert sorted(groups(analysed)) == sorted(["layers", "summary", "sweep"] + ["layers/" + name for name in filters])
    for group in groups(analysed):
        with xarray.open_dataset(analysed, engine="h5netcdf", group=group) as data:
            assert not [dim for dim in data.sizes if str(dim).startswith("phony_dim")], (group, dict(data.sizes))
            for dim in data.sizes:
                assert dim in data.coords, (group, dim)
            if group.startswith("layers/layer"):
                f = filters[group.split("/")[1]]
                assert data["raw"].dims == ("filter", "input_label", "output_label")
                assert data["binary"].dims == data["raw"].dims and data["scale"].dims == ("filter",)
                assert data["cluster_of_label"].dims == ("filter", "label")
                assert list(data["filter"].values) == list(range(f))
                assert list(data["input_label"].values) == label_names == list(data["output_label"].values)
                assert data["noise"].dims == ("filter",)
                # xarray's labelled selection: one filter's row of true label names, by name
                row = data["raw"].sel(filter=1, input_label=label_names[2])
                assert row.dims == ("output_label",) and row.shape == (len(label_names),)
            elif group == "summary":
                assert list(data["layer"].values) == layers
                assert data["snr"].dims == ("layer",)
                assert data["cluster_size_histogram"].dims == ("layer", "cluster_size")
                assert list(data["cluster_size"].values) == list(range(1, len(label_names) + 1))
                assert data["dominant_label_share"].dims == ("layer", "label")
                assert list(data["label"].values) == label_names
            elif group == "sweep":
                assert data["snr"].dims == ("threshold", "layer") and list(data["layer"].values) == layers
                assert 0.3 in list(data["threshold"].values)


def test_the_documented_one_liner_gives_the_normalized_and_binary_matrices(analysed):
    with h5py.File(analysed, "r") as f:
        assert f.attrs["normalization"] == "column-centred"
        for name in f["layers"]:
            g = f["layers/" + name]
            assert "normalized" not in g
            # docs/hdf5-layout.md, "Normalized and binary matrices"
            raw, scale = g["raw"][:], g["scale"][:][:, None, None]
            centred = raw - raw.mean(axis=1, keepdims=True) if f.attrs["normalization"] == "column-centred" else raw
            normalized = np.divide(centred, scale, out=np.zeros_like(raw), where=scale > 0)
            binary = normalized > f.attrs["threshold"]
            np.testing.assert_array_equal(binary, g["binary"][:].astype(bool), err_msg=name)
            assert binary.any() and np.isclose(normalized.max(axis=(1, 2)), np.where(scale[:, 0, 0] > 0, 1.0, 0.0)).all()


def test_analyze_layers_analyses_only_those(run_directory, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(run_directory, out)
    result = filterlens("analyze", str(out), "--layers", "2")
    assert result.returncode == 0, result.stderr
    assert "filters/s" in result.stderr and "ETA" in result.stderr   # progress with rate and ETA
    with h5py.File(out / "analysis.h5", "r") as file:
        assert list(file["summary/layer"][:]) == [2] and list(file["layers"]) == ["layer02"]
    assert (out / "layers.csv").read_text().count("\n") == 2
    for bad, message in (("3", "layer 3 has no phase 2 probe"), ("0", "numbered from 1"), ("x", "--layers")):
        result = filterlens("analyze", str(out), "--layers", bad)
        assert result.returncode != 0 and message in result.stderr, (bad, result.stderr)
