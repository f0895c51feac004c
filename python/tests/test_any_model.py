"""Any PyTorch vision model: a transformer's token outputs (batch x tokens x channels) and 1-D convolutions' batch x
channels x length read as filters x positions, residual networks, block_names, the heads as an nn.Module whose
state_dict round-trips, and dissect's device-memory budget (the same sums split over passes)."""
from __future__ import annotations

import io
from typing import Dict, List

import h5py
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import synthetic
from filterlens_torch import (BlockOutputs, ProbedHeads, block_names, bytes_per_filter, dissect, plan_passes,
                              probe)
from filterlens_torch.layout import read_activation_batches

TOKENS, WIDTH = 17, 16   # 4 x 4 patches of 2 x 2 pixels, and a class token


class ClassToken(nn.Module):
    """Keeps the class token: batch x tokens x channels -> batch x channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0]


class Transpose(nn.Module):
    """batch x channels x pixels <-> pixels x batch x channels, as a sequence-first transformer wants them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(2, 0, 1) if x.shape[1] == 3 else x.permute(1, 2, 0)


class TinyViT(nn.Module):
    """A ViT as a user writes it with PyTorch's own encoder: 2x2 patches of the 3 x 8 x 8 images (16 tokens) and a
    class token, width 16, 2 encoder layers (batch_first), the class token after the final norm to the labels."""

    def __init__(self) -> None:
        super().__init__()
        self.patches = nn.Conv2d(3, WIDTH, 2, 2)
        self.class_token = nn.Parameter(torch.zeros(1, 1, WIDTH))
        self.positions = nn.Parameter(torch.randn(1, TOKENS, WIDTH) * 0.02)
        layer = nn.TransformerEncoderLayer(WIDTH, 2, 32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(WIDTH)
        self.pool = ClassToken()
        self.head = nn.Linear(WIDTH, synthetic.LABELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patches(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(len(x), -1, -1), x], 1) + self.positions
        return self.head(self.pool(self.norm(self.encoder(x))))


class Residual(nn.Module):
    """conv-BN-ReLU-conv-BN plus the input, then ReLU (one ReLU module used twice, as torchvision's)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)
        self.conv2, self.bn2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(x + self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))


class TinyResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU())
        self.blocks = nn.Sequential(Residual(6), nn.MaxPool2d(2), Residual(6))
        self.fc = nn.Linear(6, synthetic.LABELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(self.stem(x)).mean((2, 3)))


class TinyConv1d(nn.Module):
    """Each image's rows as a sequence: batch x 24 channels x 8 positions, a 1-D convolution of 5 filters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(24, 5, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(5 * 8, synthetic.LABELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x.permute(0, 1, 3, 2).reshape(len(x), 24, 8)).flatten(1))


def trained(model: nn.Module, steps: int = 40) -> nn.Module:
    """``model`` after ``steps`` Adam steps on the synthetic images, in inference mode."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    data = synthetic.images(256, seed=1)
    model.train()
    for step in range(steps):
        images, labels = data.tensors[0][step % 8 * 32:(step % 8 + 1) * 32], data.tensors[1][step % 8 * 32:(step % 8 + 1) * 32]
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def vit() -> nn.Module:
    torch.manual_seed(5)
    return trained(TinyViT())


VIT_LAYERS = ["encoder.layers.0", "encoder.layers.1", "norm"]


@pytest.fixture(scope="module")
def vit_heads(vit, train_data, test_data) -> ProbedHeads:
    return probe(vit, VIT_LAYERS, synthetic.loader(train_data, 32), synthetic.LABELS,
                 test_loader=synthetic.loader(test_data, 64), epochs=2, seed=4)


@pytest.fixture(scope="module")
def vit_run(vit, vit_heads, test_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("vit") / "run"
    result = dissect(vit, VIT_LAYERS, vit_heads, synthetic.loader(test_data, 50), str(out), synthetic.LABEL_NAMES,
                     write_activations=True, dataset="synthetic quadrants")
    return out, result


def hooked_outputs(model: nn.Module, names: List[str], images: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Each named module's output on ``images``, caught by a plain forward hook of this test."""
    caught: Dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())
    handles = [modules[name].register_forward_hook(
        lambda _m, _i, output, name=name: caught.__setitem__(name, output.detach().clone())) for name in names]
    with torch.no_grad():
        model(images)
    for handle in handles:
        handle.remove()
    return caught


def test_token_outputs_are_channels_by_tokens_and_their_sums_are_the_fields(vit, vit_heads, vit_run, test_data):
    out, result = vit_run
    assert vit_heads.layouts == {"encoder.layers.0": "btc", "encoder.layers.1": "btc", "norm": "btc"}
    assert vit_heads.shapes["encoder.layers.0"] == (WIDTH, TOKENS, 1)
    images, labels = test_data.tensors
    outputs = hooked_outputs(vit, VIT_LAYERS, images)
    with h5py.File(out / "fields.h5", "r") as fields, h5py.File(out / "probe.h5", "r") as probes:
        for layer, name in enumerate(VIT_LAYERS, start=1):
            tokens = outputs[name].double()                                      # images x tokens x channels
            assert tokens.shape == (len(images), TOKENS, WIDTH)
            weight = vit_heads[name].weight.detach().double().reshape(synthetic.LABELS, WIDTH, TOKENS)  # W[j, f, t]
            field = torch.einsum("ktf,jft->kfj", tokens, weight)              # field_f(k, j) = sum_t W[j,f,t] a_k[f,t]
            expected = torch.zeros(synthetic.LABELS, WIDTH, synthetic.LABELS, dtype=torch.float64)
            expected.index_add_(0, labels, field)
            stored = fields["layer%02d" % layer]
            assert np.abs(expected.numpy()).max() > 0.1
            np.testing.assert_allclose(stored[:], expected.numpy(), rtol=1e-5, atol=1e-5 * np.abs(expected.numpy()).max())
            np.testing.assert_allclose(result.sums[name], stored[:])
            assert (stored.attrs["channels"], stored.attrs["height"], stored.attrs["width"]) == (WIDTH, TOKENS, 1)
            assert stored.attrs["block_layout"] == probes["layer%02d" % layer].attrs["block_layout"] == "btc"
            # the head's feature c * tokens + t reads channel c of token t: its scores are the network's head SR
            scores = tokens.transpose(1, 2).flatten(1) @ weight.reshape(synthetic.LABELS, -1).T
            assert result.head_test_sr[name] == pytest.approx((scores.argmax(1) == labels).double().mean().item())
        _, stored_outputs = next(read_activation_batches(str(out / "activations.h5"), 2, batch=len(images)))
        np.testing.assert_allclose(stored_outputs[..., 0], outputs["encoder.layers.1"].transpose(1, 2).numpy(),
                                   rtol=1e-5, atol=1e-6)
    assert max(result.head_test_sr.values()) > 1.0 / synthetic.LABELS + 0.2, result.head_test_sr


def test_channels_by_length_is_declared_per_layer_and_a_class_token_is_one_position(train_data, test_data, tmp_path):
    model = trained(TinyConv1d())
    loader = synthetic.loader(train_data, 32)
    undeclared = probe(model, ["conv.1"], loader, synthetic.LABELS, epochs=1)
    assert undeclared.layouts["conv.1"] == "btc" and undeclared.shapes["conv.1"] == (8, 5, 1), \
        "a 3-D output is batch x tokens x channels unless declared"
    heads = probe(model, ["conv.1"], loader, synthetic.LABELS, epochs=1, layouts={"conv.1": "bcl"})
    assert heads.layouts["conv.1"] == "bcl" and heads.shapes["conv.1"] == (5, 8, 1)
    result = dissect(model, ["conv.1"], heads, synthetic.loader(test_data, 64), str(tmp_path / "c1"),
                     synthetic.LABEL_NAMES)
    images, labels = test_data.tensors
    output = hooked_outputs(model, ["conv.1"], images)["conv.1"].double()      # images x 5 filters x 8 positions
    weight = heads["conv.1"].weight.detach().double().reshape(synthetic.LABELS, 5, 8)
    expected = torch.zeros(synthetic.LABELS, 5, synthetic.LABELS, dtype=torch.float64)
    expected.index_add_(0, labels, torch.einsum("kfp,jfp->kfj", output, weight))
    np.testing.assert_allclose(result.sums["conv.1"], expected.numpy(), rtol=1e-5, atol=1e-6)
    with h5py.File(tmp_path / "c1" / "fields.h5", "r") as fields:
        assert fields["layer01"].attrs["block_layout"] == "bcl"


def test_a_batch_by_channels_output_is_filters_at_one_position(vit, train_data):
    heads = probe(vit, ["pool"], synthetic.loader(train_data, 64), synthetic.LABELS, epochs=1)
    assert heads.layouts["pool"] == "bc" and heads.shapes["pool"] == (WIDTH, 1, 1)
    assert heads["pool"].weight.shape == (synthetic.LABELS, WIDTH)


def test_a_residual_network_goes_through_probe_and_dissect(train_data, test_data, tmp_path):
    model = trained(TinyResNet())
    layers = ["blocks.0", "blocks.2"]
    heads = probe(model, layers, synthetic.loader(train_data, 32), synthetic.LABELS,
                  test_loader=synthetic.loader(test_data, 64), epochs=2)
    result = dissect(model, layers, heads, synthetic.loader(test_data, 64), str(tmp_path / "res"),
                     synthetic.LABEL_NAMES)
    assert heads.shapes == {"blocks.0": (6, 8, 8), "blocks.2": (6, 4, 4)}
    assert result.sums["blocks.2"].shape == (synthetic.LABELS, 6, synthetic.LABELS)
    assert result.head_test_sr["blocks.2"] > 1.0 / synthetic.LABELS + 0.2, result.head_test_sr


def test_block_names_lists_what_can_be_probed_in_forward_order(vit, test_data):
    images = test_data.tensors[0][:2]
    names = block_names(vit, images)
    assert names["encoder.layers.0"] == (2, TOKENS, WIDTH) and names["norm"] == (2, TOKENS, WIDTH)
    assert names["patches"] == (2, WIDTH, 4, 4) and names["head"] == (2, synthetic.LABELS)
    order = list(names)
    assert order.index("patches") < order.index("encoder.layers.0") < order.index("encoder.layers.1") \
        < order.index("norm") < order.index("head")
    assert "" not in names
    assert "encoder.layers.0.self_attn" not in names, "nn.MultiheadAttention returns a tuple"
    resnet = TinyResNet().eval()
    listed = block_names(resnet, images)
    assert listed["blocks.0"] == (2, 6, 8, 8) and listed["blocks.2"] == (2, 6, 4, 4)
    assert "blocks.0.relu" not in listed, "a module that runs twice in one pass is not a block output"
    inplace = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(inplace=True))
    assert list(block_names(inplace, images)) == ["0", "2"], "BN's output is changed in place by the ReLU"
    assert resnet.training is False and vit.training is False
    train_mode = TinyResNet().train()
    block_names(train_mode, images)
    assert train_mode.training, "block_names restores the training mode"


def test_a_shared_module_and_an_unsupported_output_are_one_clear_error(train_data):
    resnet = TinyResNet()
    with pytest.raises(RuntimeError, match=r"module 'blocks.0.relu' ran 2 times in one forward pass"):
        probe(resnet, ["blocks.0.relu"], synthetic.loader(train_data, 64), synthetic.LABELS, epochs=1)

    class Volume(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.unsqueeze(2)

    class Pair(nn.Module):
        def forward(self, x: torch.Tensor):
            return x, x.mean()
    for module, pattern in [(Volume(), r"module '1' returned \(64, 3, 1, 8, 8\); a block output must be one tensor "
                                       r"of batch x C x H x W, batch x tokens x channels"),
                            (Pair(), r"module '1' returned a tuple of 2 \(\(64, 3, 8, 8\), \(\)\).*block_names")]:
        model = nn.Sequential(nn.Identity(), module, nn.Identity())
        model.add_module("scores", nn.Sequential())
        with pytest.raises(ValueError, match=pattern):
            probe(model, ["1"], synthetic.loader(train_data, 64), synthetic.LABELS, epochs=1)
    with pytest.raises(ValueError, match=r"layouts\['0'\] = 'tbc' is not a block layout: use one of 'bchw'"):
        probe(TinyConv1d(), ["0"], synthetic.loader(train_data, 64), synthetic.LABELS, epochs=1, layouts={"0": "tbc"})
    with pytest.raises(ValueError, match=r"module 'conv.1' returned \(64, 5, 8\); layouts\['conv.1'\] = 'bchw' needs "
                                         r"a batch x C x H x W tensor"):
        probe(TinyConv1d(), ["conv.1"], synthetic.loader(train_data, 64), synthetic.LABELS, epochs=1,
              layouts={"conv.1": "bchw"})
    sequence_first = nn.Sequential(nn.Flatten(2), Transpose(), nn.TransformerEncoderLayer(3, 1, 8, batch_first=False),
                                   Transpose(), nn.Flatten(), nn.Linear(3 * 64, synthetic.LABELS))
    with pytest.raises(ValueError, match=r"module '2' returned \(64, 32, 3\) for a batch of 32 images: the batch must "
                                         r"come first .*batch_first=True"):
        probe(sequence_first, ["2"], synthetic.loader(train_data, 32), synthetic.LABELS, epochs=1)
    with pytest.raises(KeyError, match=r"no module named 'encoder.layer.0' \(closest: encoder.layers.0"):
        probe(TinyViT(), ["encoder.layer.0"], synthetic.loader(train_data, 64), synthetic.LABELS, epochs=1)


def test_heads_are_a_module_whose_state_dict_round_trips(vit, vit_heads, vit_run, test_data, tmp_path):
    assert isinstance(vit_heads, nn.ModuleDict) and isinstance(vit_heads, nn.Module)
    assert list(vit_heads) == VIT_LAYERS and list(vit_heads.keys()) == VIT_LAYERS
    assert "encoder.layers.1" in vit_heads and "encoder.layers.9" not in vit_heads
    assert dict(vit_heads)["norm"] is vit_heads["norm"], "the existing call sites' dict(heads) still works"
    assert len(list(vit_heads.parameters())) == 3
    state = vit_heads.state_dict()
    assert sorted(key for key in state if key != "_extra_state") == \
        ["encoder/layers/0.weight", "encoder/layers/1.weight", "norm.weight"]
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = ProbedHeads()
    loaded.load_state_dict(torch.load(buffer, weights_only=True))
    assert list(loaded) == VIT_LAYERS
    for name in VIT_LAYERS:
        assert torch.equal(loaded[name].weight, vit_heads[name].weight) and loaded[name].bias is None
        assert [(e.epoch, e.train_loss, e.test_sr) for e in loaded.history[name]] == \
            [(e.epoch, e.train_loss, e.test_sr) for e in vit_heads.history[name]]
    assert loaded.shapes == vit_heads.shapes and loaded.layouts == vit_heads.layouts
    assert loaded.recipe == vit_heads.recipe and loaded.batch_size == vit_heads.batch_size == 32
    moved = loaded.to(torch.float64)
    assert moved is loaded and moved["norm"].weight.dtype == torch.float64 and moved.history == loaded.history
    loaded.to(torch.float32).to(torch.device("cpu"))
    # a loaded module dissects to the same sums, and writes the same probe history
    out = tmp_path / "loaded"
    result = dissect(vit, VIT_LAYERS, loaded, synthetic.loader(test_data, 50), str(out), synthetic.LABEL_NAMES)
    for name in VIT_LAYERS:
        np.testing.assert_array_equal(result.sums[name], vit_run[1].sums[name])
    with h5py.File(out / "probe.h5", "r") as probes, h5py.File(vit_run[0] / "probe.h5", "r") as original:
        assert probes["recipe"].attrs["epochs"] == 2
        np.testing.assert_array_equal(probes["layer02/train_loss"][:], original["layer02/train_loss"][:])
    with pytest.raises(RuntimeError, match="Unexpected key"):
        ProbedHeads().load_state_dict({"x.weight": torch.zeros(1, 1)})


def test_the_memory_budget_splits_filters_over_passes_with_the_same_sums(vit, vit_heads, vit_run, test_data,
                                                                          tmp_path):
    batch = 50
    per_filter = bytes_per_filter(synthetic.LABELS, batch)
    assert per_filter == 8 * 4 * 4 + 12 * 50 * 4
    budget = 8 * synthetic.LABELS + 10 * per_filter          # 10 filters a pass: each 16-filter layer is split
    lines: List[str] = []
    result = dissect(vit, VIT_LAYERS, vit_heads, synthetic.loader(test_data, batch), str(tmp_path / "split"),
                     synthetic.LABEL_NAMES, max_device_bytes=budget, progress=lines.append)
    assert len(result.passes) == 5 and result.passes[0] == [("encoder.layers.0", 0, 10)]
    assert result.passes[1] == [("encoder.layers.0", 10, 16), ("encoder.layers.1", 0, 4)]
    assert all(sum(stop - start for _, start, stop in entries) <= 10 for entries in result.passes)
    assert lines[0] == "dissect: field sums of 3 layers in 5 passes (max_device_bytes=%d)" % budget
    assert [line.split(":")[0] for line in lines[1:]] == ["dissect pass %d/5" % n for n in range(1, 6)]
    whole = vit_run[1]
    for name in VIT_LAYERS:
        np.testing.assert_allclose(result.sums[name], whole.sums[name], rtol=1e-12, atol=0)
        assert result.head_test_sr[name] == whole.head_test_sr[name]
    np.testing.assert_array_equal(result.images_per_label, whole.images_per_label)
    assert result.network_test_sr == whole.network_test_sr
    with h5py.File(tmp_path / "split" / "fields.h5", "r") as split, h5py.File(vit_run[0] / "fields.h5", "r") as one:
        for layer in ("layer01", "layer02", "layer03"):
            np.testing.assert_allclose(split[layer][:], one[layer][:], rtol=1e-12, atol=0)
    assert plan_passes([("a", 3), ("b", 2)], 4, 50, None) == [[("a", 0, 3), ("b", 0, 2)]]
    assert plan_passes([("a", 3), ("b", 2)], 4, 50, 8 * 4 + 5 * per_filter) == [[("a", 0, 3), ("b", 0, 2)]]
    assert plan_passes([("a", 3), ("b", 2)], 4, 50, 8 * 4 + 3 * per_filter) == [[("a", 0, 3)], [("b", 0, 2)]]


def test_a_budget_too_small_or_a_loader_that_changes_between_passes_is_one_clear_error(vit, vit_heads, test_data,
                                                                                        tmp_path):
    minimum = bytes_per_filter(synthetic.LABELS, 50) + 8 * synthetic.LABELS
    with pytest.raises(ValueError, match=r"max_device_bytes=100 is too small for even one filter: .*give "
                                         r"max_device_bytes >= %d, or a smaller test batch" % minimum):
        dissect(vit, VIT_LAYERS, vit_heads, synthetic.loader(test_data, 50), str(tmp_path / "small"),
                synthetic.LABEL_NAMES, max_device_bytes=100)
    assert not (tmp_path / "small" / "run.h5").exists()
    least = dissect(vit, ["norm"], vit_heads, synthetic.loader(test_data, 50), str(tmp_path / "least"),
                    synthetic.LABEL_NAMES, max_device_bytes=minimum)   # one filter a pass: 16 passes, and it works
    assert least.passes == [[("norm", f, f + 1)] for f in range(WIDTH)]
    images, labels = test_data.tensors
    shrinking = [DataLoader(TensorDataset(images[:n], labels[:n]), batch_size=50) for n in (256, 200)]

    class Changing:
        def __init__(self) -> None:
            self.passes = 0

        def __iter__(self):
            self.passes += 1
            return iter(shrinking[min(self.passes, 2) - 1])
    with pytest.raises(RuntimeError, match="test_loader yielded other images in pass 2 than in pass 1"):
        dissect(vit, VIT_LAYERS, vit_heads, Changing(), str(tmp_path / "changing"), synthetic.LABEL_NAMES,
                max_device_bytes=minimum + 20 * bytes_per_filter(synthetic.LABELS, 50))


def test_block_outputs_read_tokens_as_filters_by_positions(vit, test_data):
    images = test_data.tensors[0][:3]
    with BlockOutputs(vit, ["encoder.layers.1"]) as blocks, torch.no_grad():
        blocks.clear()
        vit(images)
        assert blocks.layout("encoder.layers.1") == "btc"
        assert torch.equal(blocks.features("encoder.layers.1"), blocks.output("encoder.layers.1").transpose(1, 2))
        assert blocks.shape("encoder.layers.1") == (WIDTH, TOKENS, 1)


def test_filterlens_analyze_and_report_read_a_transformers_run(vit_run):
    import shutil
    import subprocess
    from test_filterlens_analyze import BINARY
    if not BINARY.exists():
        pytest.skip("needs the filterlens binary at %s (or FILTERLENS_BINARY)" % BINARY)
    out, result = vit_run
    copy_of_run = out.parent / "analysed"
    shutil.copytree(out, copy_of_run)
    (copy_of_run / "activations.h5").unlink()
    for command in ("analyze", "report"):
        completed = subprocess.run([str(BINARY), command, str(copy_of_run)], capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stderr
    counts = result.images_per_label.astype(np.float64)
    with h5py.File(copy_of_run / "analysis.h5", "r") as analysis:
        group = analysis["layers/layer02"]
        assert (group.attrs["channels"], group.attrs["height"], group.attrs["width"]) == (WIDTH, TOKENS, 1)
        np.testing.assert_allclose(group["raw"][:], result.sums["encoder.layers.1"].transpose(1, 0, 2)
                                   / counts[None, :, None], rtol=1e-12)
    assert len((copy_of_run / "layers.csv").read_text().strip().split("\n")) == 1 + len(VIT_LAYERS)


def test_a_head_of_another_layer_or_a_contradicting_layout_is_refused(vit, vit_heads, test_data, tmp_path):
    with pytest.raises(ValueError, match=r"head of 'pool' has %d inputs, but the block output is 16x1x1 \(16 "
                                         r"features\)" % (WIDTH * TOKENS)):
        dissect(vit, ["pool"], {"pool": vit_heads["norm"]}, synthetic.loader(test_data, 64), str(tmp_path / "a"),
                synthetic.LABEL_NAMES)
    with pytest.raises(ValueError, match=r"layouts\['norm'\] = 'bcl', but the heads were probed with 'btc'"):
        dissect(vit, VIT_LAYERS, vit_heads, synthetic.loader(test_data, 64), str(tmp_path / "b"),
                synthetic.LABEL_NAMES, layouts={"norm": "bcl"})
