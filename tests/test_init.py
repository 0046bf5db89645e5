"""``nets.<NET>.init``: the registry matches the schema, each scheme draws the distribution it names
(bounds, spread, biases), SIREN's own scheme layer by layer, and a child may change it."""

from __future__ import annotations

import math
from typing import get_args

import pytest
import torch

from engine.config.errors import ConfigError
from engine.config.schema import Initialisation, Siren
from engine.nets import build_network, check_compatible
from engine.nets.init import INITIALISATIONS

WIDE = {"layer_size": 256, "nr_layers": 3}


def layers(net: torch.nn.Module) -> list[torch.nn.Module]:
    return [*net.trunk.layers, net.head]


def uniform_fits(values: torch.Tensor, bound: float) -> None:
    """``values`` look like U(-bound, bound): within it, spanning it, variance bound^2/3, flat quarters
    (tolerances: 5 standard deviations of the statistic for this many draws)."""
    values = values.flatten()
    n = values.numel()
    assert values.abs().max() <= bound and values.abs().max() > 0.95 * bound
    assert values.var().item() == pytest.approx(bound**2 / 3, rel=5 * math.sqrt(0.8 / n))
    quarters = torch.histc(values, bins=4, min=-bound, max=bound) / n
    assert torch.allclose(quarters, torch.full((4,), 0.25, dtype=quarters.dtype), atol=5 * math.sqrt(3 / 16 / n))


def test_registry_names_are_the_schema_choices():
    assert set(INITIALISATIONS) == set(get_args(Initialisation)) | {"siren"}
    siren_choices = set(get_args(Siren.model_fields["init"].annotation))
    assert siren_choices == set(INITIALISATIONS)


@pytest.mark.parametrize("scheme", ["glorot_uniform", "default"])
def test_glorot_uniform_is_the_default_of_the_fully_connected_net(scheme):
    net = build_network({"init": scheme, **WIDE}, 3, 2, seed=0, dtype=torch.float64)
    for layer in layers(net):
        fan_out, fan_in = layer.weight.shape
        uniform_fits(layer.weight, math.sqrt(6 / (fan_in + fan_out)))
        assert not layer.bias.any()


def test_glorot_normal_has_the_glorot_spread_and_zero_biases():
    net = build_network({"init": "glorot_normal", **WIDE}, 3, 2, seed=0, dtype=torch.float64)
    hidden = net.trunk.layers[1].weight  # 256 x 256: enough draws for a tight spread
    assert hidden.std().item() == pytest.approx(math.sqrt(2 / 512), rel=0.02)
    assert hidden.abs().max() > math.sqrt(6 / 512)  # normal tails pass the uniform bound
    assert abs(hidden.mean().item()) < 0.05 * math.sqrt(2 / 512)
    assert all(not layer.bias.any() for layer in layers(net))


def test_kaiming_uniform_bound_depends_on_fan_in_only():
    net = build_network({"init": "kaiming_uniform", **WIDE}, 3, 2, seed=0, dtype=torch.float64)
    for layer in layers(net):
        uniform_fits(layer.weight, math.sqrt(6 / layer.weight.shape[1]))
        assert not layer.bias.any()


def test_torch_init_draws_weights_and_biases_like_nn_linear():
    net = build_network({"init": "torch", **WIDE}, 3, 2, seed=0, dtype=torch.float64)
    hidden = net.trunk.layers[1]
    uniform_fits(hidden.weight, 1 / math.sqrt(256))
    assert hidden.bias.abs().max() <= 1 / math.sqrt(256) and hidden.bias.std() > 0.5 / math.sqrt(3 * 256)
    reference = torch.nn.Linear(256, 256, dtype=torch.float64)  # the same family as torch's own layer
    assert hidden.weight.var().item() == pytest.approx(reference.weight.var().item(), rel=0.1)


@pytest.mark.parametrize("scheme", ["default", "siren"])
@pytest.mark.parametrize("omega0", [30.0, 5.0])
def test_siren_scheme_first_layer_hidden_layers_and_zero_biases(scheme, omega0):
    """Seed 004: first layer U(-1/n, 1/n), others U(-sqrt(6/n)/omega0, +sqrt(6/n)/omega0), n = fan-in; biases 0."""
    settings = {"arch": "siren", "init": scheme, "omega0": omega0, **WIDE}
    net = build_network(settings, 3, 2, seed=1, dtype=torch.float64)
    first, *rest = layers(net)
    uniform_fits(first.weight, 1 / 3)
    for layer in rest:
        uniform_fits(layer.weight, math.sqrt(6 / layer.weight.shape[1]) / omega0)
    assert all(not layer.bias.any() for layer in layers(net))


def test_siren_can_use_another_scheme_but_other_architectures_cannot_use_sirens():
    net = build_network({"arch": "siren", "init": "glorot_normal", **WIDE}, 3, 1, seed=0, dtype=torch.float64)
    assert net.trunk.layers[1].weight.std().item() == pytest.approx(math.sqrt(2 / 512), rel=0.02)
    with pytest.raises(ConfigError, match="init"):
        build_network({"arch": "fully_connected", "init": "siren"}, 2, 1)
    with pytest.raises(ConfigError, match="init"):
        build_network({"init": "he"}, 2, 1)


def test_a_child_may_change_the_init_and_widen():
    check_compatible({"layer_size": 8, "init": "default"}, {"layer_size": 16, "init": "glorot_normal"})
