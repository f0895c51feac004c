"""dissect's run directory: never overwritten by accident, stale files removed when it is, plain heads accepted, and
never written while another process holds its lock."""
from __future__ import annotations

import fcntl
import os

import h5py
import pytest

import synthetic
from filterlens_torch import dissect
from filterlens_torch.lock import LOCK_FILE, RunFolderInUse


def test_an_existing_run_is_kept_unless_overwrite(model, heads, test_data, tmp_path):
    out = tmp_path / "run"
    loader = synthetic.loader(test_data, 64)
    dissect(model, synthetic.BLOCKS, heads, loader, str(out), synthetic.LABEL_NAMES, write_activations=True)
    (out / "analysis.h5").write_bytes(b"stale")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        dissect(model, synthetic.BLOCKS, heads, loader, str(out), synthetic.LABEL_NAMES)
    assert (out / "activations.h5").exists()
    dissect(model, synthetic.BLOCKS, heads, loader, str(out), synthetic.LABEL_NAMES, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE, "fields.h5", "probe.h5", "run.h5"], \
        "an overwritten run keeps no activations.h5 or analysis.h5 of the old one"


def test_plain_heads_without_probe_history_get_the_measured_sr(model, heads, test_data, tmp_path):
    plain = {name: heads[name] for name in synthetic.BLOCKS}
    result = dissect(model, synthetic.BLOCKS, plain, synthetic.loader(test_data, 64), str(tmp_path / "plain"),
                     synthetic.LABEL_NAMES)
    with h5py.File(tmp_path / "plain" / "probe.h5", "r") as probes:
        assert "epochs" not in probes["recipe"].attrs
        for layer, name in enumerate(synthetic.BLOCKS, start=1):
            assert probes["layer%02d/test_sr" % layer][:].tolist() == [result.head_test_sr[name]]
            assert probes["layer%02d" % layer].attrs["loss_flag"] == "unknown"
    assert result.head_test_sr[synthetic.BLOCKS[1]] == pytest.approx(heads.history[synthetic.BLOCKS[1]][-1].test_sr)


def test_a_head_for_every_layer_is_required(model, heads, test_data, tmp_path):
    with pytest.raises(KeyError, match="no head for layer"):
        dissect(model, synthetic.BLOCKS, {synthetic.BLOCKS[0]: heads[synthetic.BLOCKS[0]]},
                synthetic.loader(test_data, 64), str(tmp_path / "x"), synthetic.LABEL_NAMES)


def test_a_folder_another_process_writes_is_refused_and_left_alone(model, heads, test_data, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    holder = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT)   # what a running `filterlens run` holds
    try:
        os.write(holder, b"4242\nfilterlens run\n2026-12-07T01:53:10Z\n")
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RunFolderInUse, match=r"in use by filterlens run \(pid 4242\) since 2026-12-07T01:53:10Z"):
            dissect(model, synthetic.BLOCKS, heads, synthetic.loader(test_data, 64), str(out), synthetic.LABEL_NAMES)
        assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE], "nothing written beside the holder"
    finally:
        os.close(holder)
    dissect(model, synthetic.BLOCKS, heads, synthetic.loader(test_data, 64), str(out), synthetic.LABEL_NAMES)
    lines = (out / LOCK_FILE).read_text().split("\n")
    assert lines[0] == str(os.getpid()) and lines[1] == "filterlens_torch.dissect", lines
    probe_lock = os.open(out / LOCK_FILE, os.O_RDWR)
    try:
        fcntl.flock(probe_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)   # raises if dissect had kept the lock
    finally:
        os.close(probe_lock)
