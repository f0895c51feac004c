"""FilterLens's own `filterlens analyze` gives the same analysis.h5 from fields.h5 as from activations.h5, and
`filterlens report` works on a run that holds only the sums. Needs the release binary (scripts/test.sh builds it)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict

import h5py
import numpy as np
import pytest

import synthetic
from filterlens_torch.lock import RunFolderLock

REPOSITORY = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("FILTERLENS_BINARY", REPOSITORY / ".build" / "release" / "filterlens"))

pytestmark = pytest.mark.skipif(
    not os.access(BINARY, os.X_OK),
    reason="needs the filterlens binary at %s: run `swift build -c release --product filterlens` "
           "(scripts/test.sh does) or set FILTERLENS_BINARY" % BINARY)


def filterlens(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BINARY), *arguments], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def analysed(run_directory, tmp_path_factory):
    """Two copies of the dissected run, one without fields.h5 and one without activations.h5, both analysed."""
    root = tmp_path_factory.mktemp("analysed")
    from_activations, from_fields = root / "from-activations", root / "from-fields"
    shutil.copytree(run_directory, from_activations)
    shutil.copytree(run_directory, from_fields)
    (from_activations / "fields.h5").unlink()
    (from_fields / "activations.h5").unlink()
    for directory in (from_activations, from_fields):
        result = filterlens("analyze", str(directory))
        assert result.returncode == 0, result.stderr
        assert "phase 3" in result.stdout
    return from_activations, from_fields


def datasets(path: Path) -> Dict[str, np.ndarray]:
    """Every dataset of an HDF5 file by its path."""
    values: Dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as file:
        file.visititems(lambda name, item: values.__setitem__(name, item[:]) if isinstance(item, h5py.Dataset) else None)
    return values


def test_both_sources_give_the_same_analysis(analysed):
    from_activations, from_fields = (datasets(directory / "analysis.h5") for directory in analysed)
    assert sorted(from_activations) == sorted(from_fields)
    assert "layers/layer02/raw" in from_fields and "summary/snr" in from_fields
    for name, expected in from_activations.items():
        actual = from_fields[name]
        if name.endswith(("/raw", "/normalized", "/scale")):   # float32 fields summed in another order (sgemm vs einsum)
            np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max(), err_msg=name)
        elif name.endswith("/top_activations"):   # float32 means summed in another order (Swift vs torch)
            np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6, err_msg=name)
        elif name.endswith(("/top_images", "/top_labels")):   # the same images, but where rounding swaps near-ties
            assert actual.shape == expected.shape, name
            assert np.mean(actual == expected) > 0.95, name
        elif expected.dtype.kind == "f":   # counts of the binary matrices and their ratios: identical
            np.testing.assert_array_equal(actual, expected, err_msg=name)
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=name)
    assert (analysed[0] / "layers.csv").read_text() == (analysed[1] / "layers.csv").read_text()


def test_raw_matrices_are_the_stored_sums_over_the_counts(analysed):
    with h5py.File(analysed[1] / "fields.h5", "r") as fields, h5py.File(analysed[1] / "analysis.h5", "r") as analysis:
        counts = fields["images_per_label"][:].astype(np.float64)
        for layer in ("layer01", "layer02"):
            expected = fields[layer][:].transpose(1, 0, 2) / counts[None, :, None]   # [filter, input, output]
            np.testing.assert_allclose(analysis["layers/" + layer + "/raw"][:], expected, rtol=1e-12)
        assert analysis.attrs["source_fields"] == "fields.h5"
        assert "source_activations" not in analysis.attrs
        assert analysis.attrs["images"] == counts.sum()
        assert analysis["summary"].attrs["sr_full_network"] > 0.5


def test_the_report_works_on_a_run_with_only_field_sums(analysed):
    result = filterlens("report", str(analysed[1]))
    assert result.returncode == 0, result.stderr
    html = (analysed[1] / "report.html").read_text()
    assert "fields.h5" in html and "activations.h5" not in html
    assert (analysed[1] / "figures" / "layer02_filters.png").stat().st_size > 1000


def test_the_report_shows_the_top_images_dissect_copied(analysed):
    """A run of filterlens-torch has no test set beside it: its panels show the copies in fields.h5."""
    result = filterlens("report", str(analysed[1]))
    assert result.returncode == 0, result.stderr
    with h5py.File(analysed[1] / "analysis.h5", "r") as analysis, h5py.File(analysed[1] / "fields.h5", "r") as fields:
        assert analysis.attrs["top_images"] == 16
        indices = set()
        for layer in ("layer01", "layer02"):
            top = analysis["layers/%s/top_images" % layer][:]
            np.testing.assert_array_equal(top, fields["top_images/%s/top_images" % layer][:])
            indices.update(int(i) for i in top.ravel() if i >= 0)
    written = {int(path.stem.split("-")[1]) for path in (analysed[1] / "figures" / "images").glob("test-*.png")}
    assert written == indices, "one PNG per top image, from fields.h5's copies"
    script = (analysed[1] / "figures" / "layer01_filters.js").read_text()
    assert script.startswith("FilterLensExplorer.layerLoaded(1, ")


def test_a_run_with_neither_source_is_one_clear_error(run_directory, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(run_directory / "run.h5", bare / "run.h5")
    result = filterlens("analyze", str(bare))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, result.stderr
    assert "neither activations.h5 nor fields.h5" in errors[0] and str(bare) in errors[0]


def test_sums_for_other_labels_are_refused_naming_the_dataset(run_directory, tmp_path):
    wrong = tmp_path / "wrong"
    shutil.copytree(run_directory, wrong)
    (wrong / "activations.h5").unlink()
    with h5py.File(wrong / "fields.h5", "a") as fields:
        del fields["images_per_label"]
        fields["images_per_label"] = np.array([10, 10, 10], np.int64)
    result = filterlens("analyze", str(wrong))
    assert result.returncode != 0
    assert "fields.h5 [/images_per_label]" in result.stderr and "3 labels" in result.stderr, result.stderr


def test_status_says_where_a_package_run_stands(run_directory, analysed):
    before = filterlens("status", str(run_directory))
    assert before.returncode == 0, before.stderr
    assert "run.h5 without a training configuration" in before.stdout
    assert "phase 2 probe   complete" in before.stdout and "phase 3 analyze not started" in before.stdout
    assert "next: filterlens analyze %s && filterlens report" % run_directory in before.stdout, before.stdout
    after = filterlens("status", str(analysed[1]))
    assert after.returncode == 0 and "phase 3 analyze complete" in after.stdout, after.stdout + after.stderr


def test_the_command_line_and_the_package_share_the_run_lock(run_directory, tmp_path):
    held = tmp_path / "held"
    shutil.copytree(run_directory, held)
    with RunFolderLock(str(held), "a notebook's dissect"):
        refused = filterlens("analyze", str(held))
        status = filterlens("status", str(held))
    assert refused.returncode != 0 and not (held / "analysis.h5").exists()
    assert "in use by a notebook's dissect (pid %d)" % os.getpid() in refused.stderr, refused.stderr
    assert "a notebook's dissect (pid %d)" % os.getpid() in status.stdout, status.stdout
    analysed_after = filterlens("analyze", str(held))
    assert analysed_after.returncode == 0, analysed_after.stderr


@pytest.mark.parametrize("file, dataset, problem, unused", [
    ("probe.h5", "layer02/weight", "NaN or infinite weights", "fields.h5"),   # the head multiplies activations.h5
    ("fields.h5", "layer02", "NaN or infinite sums", "activations.h5"),
])
def test_nan_in_a_head_or_the_sums_is_one_clear_error(run_directory, tmp_path, file, dataset, problem, unused):
    broken = tmp_path / "broken"
    shutil.copytree(run_directory, broken)
    (broken / unused).unlink()
    with h5py.File(broken / file, "a") as data:
        values = data[dataset][...]
        values.flat[3] = np.nan
        data[dataset][...] = values
    result = filterlens("analyze", str(broken))
    assert result.returncode != 0 and not (broken / "analysis.h5").exists()
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "%s [/%s]" % (file, dataset) in errors[0] and problem in errors[0], result.stderr
