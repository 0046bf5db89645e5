"""Network architectures: shapes, precision, seeding, second derivatives, SIREN init, widening, compatibility."""

from __future__ import annotations

import math
from typing import get_args

import pytest
import torch

from engine.config.errors import ConfigError
from engine.config.schema import NetConfig
from engine.errors import MtcError
from engine.nets.layers import Dense
from engine.nets import (
    ARCHITECTURES,
    architecture_signature,
    build_network,
    check_compatible,
    load_into,
    pad_state,
)

ARCHS = list(ARCHITECTURES)
SMALL = {"layer_size": 16, "nr_layers": 3}


def config(arch: str, **settings) -> dict:
    return {"arch": arch, **SMALL, **settings}


def derivatives(net: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """u, du/dx (all inputs) and d2u/dx0^2 of the first output, via nested autograd."""
    x = x.clone().requires_grad_(True)
    u = net(x)
    (du,) = torch.autograd.grad(u[:, 0].sum(), x, create_graph=True)
    (d2u,) = torch.autograd.grad(du[:, 0].sum(), x, create_graph=True)
    return u, du, d2u[:, 0]


def trained_looking(net: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Perturb every layer (biases included) on the scale of its initial weights, so nothing is at its init."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in net.modules():
            if isinstance(layer, Dense):
                scale = 0.3 * layer.weight.abs().max()
                for p in (layer.weight, layer.bias):
                    p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return net


def test_registry_covers_the_schema_variants():
    assert set(ARCHITECTURES) == {"fully_connected", "fourier", "modified_fourier", "siren", "kan"}
    union = get_args(get_args(NetConfig)[0])  # Annotated[Union[...], ...]
    assert {model.model_fields["arch"].default for model in union} == set(ARCHITECTURES)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("arch", ARCHS)
def test_shape_dtype_and_finite_second_derivatives(arch, dtype):
    net = build_network(config(arch), 3, 2, seed=0, dtype=dtype)
    assert all(p.dtype == dtype for p in net.state_dict().values())
    x = torch.rand(50, 3, dtype=dtype)
    u, du, d2u = derivatives(net, x)
    assert u.shape == (50, 2) and u.dtype == dtype
    assert du.shape == (50, 3)
    assert torch.isfinite(d2u).all() and d2u.abs().max() > 0


@pytest.mark.parametrize("act", ["tanh", "silu", "gelu", "sin", "relu"])
def test_every_activation_with_skip_connections(act):
    net = build_network(config("fully_connected", activation=act, skip_connections=True, nr_layers=4), 2, 1, seed=1)
    _, _, d2u = derivatives(net, torch.rand(20, 2))
    assert torch.isfinite(d2u).all()


def test_defaults_and_precision_names():
    net = build_network({}, 2, 1, seed=0, dtype="float64")
    assert len(net.trunk.layers) == 6 and net.trunk.layers[0].weight.shape == (512, 2)
    assert net.head.weight.dtype == torch.float64
    assert all(torch.all(layer.bias == 0) for layer in net.trunk.layers)


@pytest.mark.parametrize("arch", ARCHS)
def test_seeding_is_local_and_deterministic(arch):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = build_network(config(arch), 2, 1, seed=7).state_dict()
    assert torch.equal(torch.get_rng_state(), before)
    b = build_network(config(arch), 2, 1, seed=7).state_dict()
    c = build_network(config(arch), 2, 1, seed=8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_trainable_false_freezes_the_weights():
    net = build_network(config("fully_connected", trainable=False), 2, 1, seed=0)
    assert not any(p.requires_grad for p in net.parameters())


def test_bad_configs_are_config_errors():
    with pytest.raises(ConfigError, match="layer_size"):
        build_network({"arch": "fourier", "layer_size": 0}, 2, 1)
    with pytest.raises(ConfigError, match="frequencies"):
        build_network({"arch": "siren", "frequencies": 4}, 2, 1)
    with pytest.raises(ConfigError, match="modified_fourier"):
        build_network({"arch": "resnet"}, 2, 1)
    with pytest.raises(MtcError, match="float32 or float64"):
        build_network({}, 2, 1, dtype=torch.float16)


def test_siren_initialisation():
    omega0 = 30.0
    net = build_network(config("siren", layer_size=64, nr_layers=4, omega0=omega0), 3, 2, seed=0, dtype=torch.float64)
    first, *hidden = net.trunk.layers
    assert first.weight.abs().max() <= 1 / 3
    assert first.weight.abs().max() > 0.9 / 3  # actually spans the range
    for layer in [*hidden, net.head]:
        bound = math.sqrt(6 / layer.weight.shape[1]) / omega0
        assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.9 * bound
    for layer in [*net.trunk.layers, net.head]:
        assert torch.all(layer.bias == 0)
    x = torch.full((1, 3), 0.5, dtype=torch.float64)
    expected = torch.sin(omega0 * (x @ first.weight.T))
    assert torch.allclose(net.trunk.act(first(x)), expected)


@pytest.mark.parametrize("arch", ["fourier", "modified_fourier"])
def test_fourier_features_are_a_buffer(arch):
    net = build_network(config(arch, frequencies=8, sigma=2.0), 3, 1, seed=0)
    state = net.state_dict()
    assert state["encoder.frequency_matrix"].shape == (8, 3)
    assert all(p is not net.encoder.frequency_matrix for p in net.parameters())
    assert "encoder.frequency_matrix" not in dict(net.named_parameters())


WIDENINGS = [
    ("fully_connected", {}),
    ("fully_connected", {"skip_connections": True}),
    ("fourier", {"frequencies": 8}),
    ("modified_fourier", {"frequencies": 8}),
    ("modified_fourier", {"frequencies": 8, "skip_connections": True, "activation": "tanh"}),
    ("siren", {}),
]


def widened_pair(arch: str, settings: dict) -> tuple[torch.nn.Module, torch.nn.Module, dict, dict]:
    parent_config = {"arch": arch, "layer_size": 16, "nr_layers": 5, **settings}
    child_config = {**parent_config, "layer_size": 32}
    parent = trained_looking(build_network(parent_config, 3, 2, seed=1, dtype=torch.float64), seed=2)
    child = build_network(child_config, 3, 2, seed=3, dtype=torch.float64)
    load_into(child, parent.state_dict(), parent_config, child_config)
    return parent, child, parent_config, child_config


@pytest.mark.parametrize("arch,settings", WIDENINGS)
def test_widening_preserves_the_function_and_its_derivatives(arch, settings):
    parent, child, _, _ = widened_pair(arch, settings)
    x = torch.rand(200, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    for p, c in zip(derivatives(parent, x), derivatives(child, x)):
        assert torch.allclose(p, c, rtol=0, atol=1e-12), (p - c).abs().max()
    assert child.trunk.layers[0].weight.shape[0] == 32


@pytest.mark.parametrize("arch,settings", WIDENINGS)
def test_new_units_can_learn(arch, settings):
    _, child, _, _ = widened_pair(arch, settings)
    new_rows = child.trunk.layers[0].weight[16:]
    assert new_rows.abs().max() > 0  # random incoming weights
    assert torch.all(child.head.weight[:, 16:] == 0)  # zero outgoing weights
    x = torch.rand(64, 3, dtype=torch.float64)
    optimizer = torch.optim.SGD(child.parameters(), lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        child(x).pow(2).mean().backward()
        if _ == 0:
            assert child.head.weight.grad[:, 16:].abs().max() > 0
        optimizer.step()
    assert child.trunk.layers[0].weight.grad[16:].abs().max() > 0


def test_load_into_same_architecture_copies_exactly():
    cfg = config("fourier", frequencies=4)
    parent = trained_looking(build_network(cfg, 2, 1, seed=0), seed=1)
    child = build_network(cfg, 2, 1, seed=5)
    load_into(child, parent.state_dict(), cfg, cfg)
    assert all(torch.equal(v, child.state_dict()[k]) for k, v in parent.state_dict().items())


def test_load_into_refuses_changed_inputs_and_incompatible_configs():
    cfg = config("fully_connected")
    parent = build_network(cfg, 2, 1, seed=0)
    with pytest.raises(MtcError, match="inputs or outputs"):
        load_into(build_network(cfg, 3, 1, seed=0), parent.state_dict(), cfg, cfg, name="NN")
    narrow = {**cfg, "layer_size": 8}
    with pytest.raises(MtcError, match=r"nets\.NN: layer_size 16 -> 8"):
        load_into(build_network(narrow, 2, 1), parent.state_dict(), cfg, narrow, name="NN")


def test_check_compatible():
    parent = config("fully_connected")
    check_compatible(parent, dict(parent))
    check_compatible(parent, {**parent, "trainable": False})
    check_compatible(parent, {**parent, "layer_size": 64})
    check_compatible({"layer_size": 512}, {"arch": "fully_connected", "activation": "silu"})  # defaults
    refused = {
        "layer_size": {**parent, "layer_size": 8},
        "nr_layers": {**parent, "nr_layers": 4},
        "arch": {**parent, "arch": "siren", "activation": "sin"},
        "activation": {**parent, "activation": "tanh"},
        "skip_connections": {**parent, "skip_connections": True},
    }
    for key, child in refused.items():
        with pytest.raises(MtcError, match=key) as info:
            check_compatible(parent, child, name="NN")
        assert str(info.value).startswith("nets.NN: ") and "start a new training branch" in str(info.value)
    fourier = config("fourier", frequencies=8)
    for key, value in [("frequencies", 16), ("sigma", 2.0)]:
        with pytest.raises(MtcError, match=key):
            check_compatible(fourier, {**fourier, key: value})
    with pytest.raises(MtcError, match="omega0"):
        check_compatible(config("siren"), config("siren", omega0=10.0))


def test_check_compatible_message():
    parent = {"arch": "fully_connected", "layer_size": 512, "nr_layers": 6}
    with pytest.raises(MtcError) as info:
        check_compatible(parent, {**parent, "nr_layers": 4}, name="NN")
    assert str(info.value) == (
        "nets.NN: nr_layers 6 -> 4 changes the depth; a child can only keep the architecture or widen it "
        "(layer_size 512 -> 1024); start a new training branch instead"
    )


def test_architecture_signature():
    sig = architecture_signature({"arch": "fourier", "layer_size": 8, "trainable": False})
    assert sig == {
        "arch": "fourier",
        "layer_size": 8,
        "nr_layers": 6,
        "activation": "silu",
        "skip_connections": False,
        "frequencies": 32,
        "sigma": 1.0,
    }


def test_pad_state_keeps_the_old_block_and_zeroes_new_entries():
    parent_config = config("modified_fourier", frequencies=4)
    child_config = {**parent_config, "layer_size": 32}
    parent = build_network(parent_config, 2, 1, seed=0)
    optimizer = torch.optim.Adam(parent.parameters(), lr=1e-3)
    for _ in range(3):
        optimizer.zero_grad()
        parent(torch.rand(16, 2)).pow(2).mean().backward()
        optimizer.step()
    child = build_network(child_config, 2, 1, seed=1)
    load_into(child, parent.state_dict(), parent_config, child_config)
    for old_p, new_p in zip(parent.parameters(), child.parameters()):
        old = optimizer.state[old_p]
        assert int(pad_state(old["step"], new_p)) == 3
        for key in ("exp_avg", "exp_avg_sq"):
            new = pad_state(old[key], new_p)
            assert new.shape == new_p.shape
            corner = tuple(slice(0, n) for n in old[key].shape)
            assert torch.equal(new[corner], old[key])
            assert torch.count_nonzero(new) == torch.count_nonzero(old[key])  # new entries are zero
    with pytest.raises(MtcError, match="cannot be carried"):
        pad_state(torch.zeros(64, 64), torch.zeros(8, 8))
