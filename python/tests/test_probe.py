"""Phase 2: heads learn on a frozen network with [L]'s recipe, and the network is left untouched."""
from __future__ import annotations

import copy
import math

import pytest
import torch

import synthetic
from filterlens_torch import ProbeRecipe, probe
from filterlens_torch.probe import new_head


def test_heads_learn_above_chance(heads):
    chance = 1.0 / synthetic.LABELS
    for name in synthetic.BLOCKS:
        history = heads.history[name]
        assert len(history) == 3
        assert history[-1].test_sr > chance + 0.3, (name, history)
        assert history[-1].train_loss < history[0].train_loss < math.log(synthetic.LABELS)
        assert heads[name].bias is None
        c, h, w = heads.shapes[name]
        assert heads[name].weight.shape == (synthetic.LABELS, c * h * w)


def test_probe_freezes_the_network_and_restores_its_mode(train_data):
    model = synthetic.trained_tiny_cnn(steps=5)
    model.train()
    before = copy.deepcopy(model.state_dict())
    probe(model, synthetic.BLOCKS, synthetic.loader(train_data, 64), synthetic.LABELS, epochs=1)
    assert model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key   # batch-norm statistics included: inference mode


def test_defaults_are_the_recipe_of_method_md():
    recipe = ProbeRecipe()
    assert (recipe.epochs, recipe.learning_rate, recipe.lr_decay, recipe.momentum, recipe.weight_decay) == \
        (200, 0.01, 0.975, 0.975, 1e-3)
    assert recipe.learning_rate_of(2) == pytest.approx(0.01 * 0.975 ** 2)


def test_new_heads_are_uniform_within_one_over_root_features_and_seeded():
    head = new_head(400, 10, seed=5)
    bound = 1 / math.sqrt(400)
    assert head.weight.abs().max() <= bound and head.weight.abs().max() > 0.9 * bound
    assert torch.equal(head.weight, new_head(400, 10, seed=5).weight)
    assert not torch.equal(head.weight, new_head(400, 10, seed=6).weight)


def test_an_unknown_module_name_is_refused_with_the_closest_names(model, train_data):
    with pytest.raises(KeyError, match="features.3"):
        probe(model, ["features.33"], synthetic.loader(train_data, 64), synthetic.LABELS, epochs=1)


def test_an_output_changed_in_place_afterwards_is_refused(train_data):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                                torch.nn.ReLU(inplace=True), torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 4))
    with pytest.raises(RuntimeError, match="changed in place"):
        probe(model, ["1"], synthetic.loader(train_data, 64), synthetic.LABELS, epochs=1)
    heads = probe(model, ["2"], synthetic.loader(train_data, 64), synthetic.LABELS, epochs=1)
    assert heads["2"].weight.shape == (synthetic.LABELS, 4 * 8 * 8)


def test_a_diverging_head_raises_naming_it(model, train_data):
    with pytest.raises(FloatingPointError, match="probe diverged: the head of '%s'" % synthetic.BLOCKS[0]):
        probe(model, synthetic.BLOCKS, synthetic.loader(train_data, 64), synthetic.LABELS, epochs=1,
              learning_rate=1e38)


def test_a_loss_that_is_not_finite_is_flagged_like_filterlens_does():
    from filterlens_torch.layout import HeadRecord
    import numpy as np

    def flag(losses):
        return HeadRecord(layer=1, module="m", weight=np.zeros((2, 1), np.float32), shape=(1, 1, 1),
                          train_loss=losses, test_sr=[0.5] * len(losses)).loss_flag(10)
    assert flag([0.8, math.nan]) == "loss not finite"
    assert flag([0.8, math.inf]) == "loss not finite"
    assert flag([math.nan]) == "unknown", "no loss recorded: heads trained elsewhere"
    assert flag([0.9, 0.8]) == "ok" and flag([0.8, 0.9]) == "loss rising" and flag([3.0, 2.5]) == "loss high"
