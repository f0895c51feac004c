"""Shared fixtures: one trained tiny CNN, its probed heads and one dissected run, made once per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import synthetic
from filterlens_torch import dissect, probe

TRAIN_IMAGES, TEST_IMAGES = 512, 256
PROBE_EPOCHS = 3


@pytest.fixture(scope="session", autouse=True)
def few_threads():
    """The test machines have 2 cores; torch's default thread count would oversubscribe them."""
    torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def model() -> torch.nn.Module:
    return synthetic.trained_tiny_cnn()


@pytest.fixture(scope="session")
def train_data():
    return synthetic.images(TRAIN_IMAGES, seed=1)


@pytest.fixture(scope="session")
def test_data():
    return synthetic.images(TEST_IMAGES, seed=2)


@pytest.fixture(scope="session")
def heads(model, train_data, test_data):
    return probe(model, synthetic.BLOCKS, synthetic.loader(train_data, 32), synthetic.LABELS,
                 test_loader=synthetic.loader(test_data, 64), epochs=PROBE_EPOCHS, seed=3, augment=False)


@pytest.fixture(scope="session")
def run_directory(model, heads, test_data, tmp_path_factory) -> Path:
    """A run dissected with write_activations=True: run.h5, fields.h5 and activations.h5."""
    out = tmp_path_factory.mktemp("run") / "tiny"
    dissect(model, synthetic.BLOCKS, heads, synthetic.loader(test_data, 50), str(out), synthetic.LABEL_NAMES,
            write_activations=True, dataset="synthetic quadrants")
    return out
