"""The forward-derivative path (engine.compile.forward) against nested autograd, in float64."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.compile import BatchFields, NetworkBinding, as_columns, compile_problem
from engine.compile.forward import ForwardFields, ForwardPlan, unsupported_layer
from engine.compile.forward.activations import RULES as ACTIVATION_RULES
from engine.compile.hard_outputs import HardOutputs
from engine.nets import ARCHITECTURES, CorrectedNetwork, build_network, load_into
from engine.problem import load_problem
from engine.project import create_project

INPUTS = ("x", "y", "t")
EXAMPLES = sorted(p.name for p in (Path(__file__).parents[1] / "projects").iterdir() if (p / "problem.py").exists())
ARCH_SETTINGS = {"fully_connected": {}, "fourier": {"frequencies": 3}, "modified_fourier": {"frequencies": 3}, "siren": {}}
ACTIVATIONS = ("tanh", "sin", "silu", "gelu", "relu")


def all_requests(output: str, inputs: tuple[str, ...], order: int) -> list[tuple[str, tuple[str, ...]]]:
    """Every derivative of ``output`` up to ``order``, mixed ones included."""
    found = [(output, ())]
    for k in range(1, order + 1):
        found += [(output, wrt) for wrt in itertools.combinations_with_replacement(inputs, k)]
    return found


def assert_same(bindings: dict, columns: dict, requests: list, dtype=torch.float64, device="cpu", tolerance=1e-12) -> None:
    """Every requested derivative of the forward path equals nested autograd's to ``tolerance`` (relative to its scale)."""
    reference = BatchFields(bindings, as_columns(columns, dtype, device, requires_grad=set(columns)))
    forward = ForwardFields(bindings, as_columns(columns, dtype, device), ForwardPlan.build(bindings, requests))
    for output, wrt in requests:
        expected, got = reference.derivative(output, wrt).detach(), forward.derivative(output, wrt)
        assert got.device == expected.device and got.dtype == dtype
        scale = max(1.0, float(expected.abs().max()))
        assert torch.allclose(got, expected, rtol=0, atol=tolerance * scale), (output, wrt, float((got - expected).abs().max()))


def random_columns(names, n: int = 40, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(-1, 1, n) for name in names}


def network(arch: str, activation: str, n_inputs: int = 3, n_outputs: int = 2, seed: int = 0, **extra):
    config = {"arch": arch, "layer_size": 6, "nr_layers": 3, "skip_connections": True, **ARCH_SETTINGS[arch], **extra}
    if arch != "siren":
        config["activation"] = activation
    return build_network(config, n_inputs, n_outputs, seed=seed, dtype=torch.float64)


def single(module, inputs=INPUTS, outputs=("u", "v")) -> dict[str, NetworkBinding]:
    return {"net": NetworkBinding(inputs, outputs, module)}


COVERED = [(arch, act) for arch in sorted(ARCH_SETTINGS) if arch != "siren" for act in ACTIVATIONS] + [("siren", "sine")]


def test_every_architecture_is_covered():
    """A new architecture must get jet rules and a test here (KAN's are below)."""
    assert set(ARCHITECTURES) == {*ARCH_SETTINGS, "kan"}
    assert unsupported_layer(build_network({"arch": "kan", "width": [3]}, 2, 1, seed=0, dtype=torch.float64)) is None


@pytest.mark.parametrize("activation,order,grid", [("silu", 3, 5), ("tanh", 2, 4), ("gelu", 1, 3)])
def test_a_kan_to_order_four_with_pruned_edges_and_covered_inputs(activation, order, grid):
    """B-spline edges of every order (derivatives above the spline order are zero), tanh-warped hidden layers,
    a pruned edge and inputs mapped from their own ranges."""
    config = {"arch": "kan", "width": [5, 4], "grid": grid, "spline_order": order, "activation": activation}
    kan = build_network(config, 2, 2, seed=0, dtype=torch.float64)
    kan.cover_inputs([(-1.0, 2.0), (0.0, 0.5)])
    with torch.no_grad():
        kan.layers[1].mask[2, 1] = 0.0
        for layer in kan.layers:  # spline terms as large as the base ones
            layer.coef.mul_(10.0)
    rng = np.random.default_rng(1)
    columns = {"x": rng.uniform(-1.0, 2.0, 50), "y": rng.uniform(0.0, 0.5, 50)}
    bindings = single(kan, inputs=("x", "y"))
    assert_same(bindings, columns, all_requests("u", ("x", "y"), 4) + all_requests("v", ("x", "y"), 2), tolerance=1e-10)


@pytest.mark.parametrize("arch,activation", COVERED)
def test_every_architecture_and_activation_to_order_two_with_mixed_derivatives(arch, activation):
    bindings = single(network(arch, activation))
    requests = all_requests("u", INPUTS, 2) + all_requests("v", INPUTS, 2)
    assert_same(bindings, random_columns(INPUTS), requests)


@pytest.mark.parametrize("arch,activation", [("fully_connected", "tanh"), ("fully_connected", "gelu"), ("fourier", "silu"),
                                             ("modified_fourier", "sin"), ("siren", "sine")])  # fmt: skip
def test_orders_three_and_four(arch, activation):
    bindings = single(network(arch, activation, n_inputs=2, n_outputs=1), inputs=("x", "y"), outputs=("u",))
    assert_same(bindings, random_columns(("x", "y")), all_requests("u", ("x", "y"), 4))


def test_sigmoid_and_every_activation_rule_to_order_four():
    for kind, rule in ACTIVATION_RULES.items():
        module = kind()
        z = torch.linspace(-2, 2, 9, dtype=torch.float64, requires_grad=True)
        expected = module(z)
        for k, derivative in enumerate(rule(module, z.detach(), 4)):
            if k:
                expected = torch.autograd.grad(expected.sum(), z, create_graph=True)[0]
            got = torch.zeros_like(z) if derivative is None else derivative
            assert torch.allclose(got, expected.detach(), rtol=0, atol=1e-12), (kind.__name__, k)


def test_only_the_requested_components_are_propagated():
    laplacian = [("u", ("x", "x")), ("u", ("y", "y"))]
    plan = ForwardPlan.build(single(network("fully_connected", "tanh"), outputs=("u", "v")), laplacian)
    assert plan.tables["net"].indices == ((0,), (1,), (0, 0), (1, 1))  # the diagonal, no (0, 1), nothing in t


def test_a_correction_network_and_a_widened_network():
    base = network("fully_connected", "tanh")
    corrections = [network("fourier", "tanh", n_outputs=1, seed=1 + i) for i in range(2)]
    corrected = CorrectedNetwork(base, corrections, [1e-2, 3e-3])
    assert_same(single(corrected), random_columns(INPUTS), all_requests("u", INPUTS, 2) + all_requests("v", INPUTS, 2))
    narrow = {"layer_size": 4, "nr_layers": 2, "activation": "silu"}
    wide = {**narrow, "layer_size": 7}
    parent = build_network(narrow, 3, 2, seed=0, dtype=torch.float64)
    child = build_network(wide, 3, 2, seed=1, dtype=torch.float64)
    load_into(child, parent.state_dict(), narrow, wide)
    assert_same(single(child), random_columns(INPUTS), all_requests("v", INPUTS, 2))


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_shipped_example(example, tmp_path):
    folder = create_project(tmp_path / example, example=example)
    problem = load_problem(folder)
    compiled = compile_problem(problem)
    bindings = {
        name: NetworkBinding(net.inputs, net.outputs, build_network({"activation": "tanh"}, len(net.inputs), len(net.outputs), seed=i, dtype=torch.float64))
        for i, (name, net) in enumerate(problem.networks.items())
    }  # fmt: skip
    for name, residual in compiled.residuals.items():
        requests = [r for r in residual.requests if r[1]]
        needed = set(residual.variables) | {v for out, _ in residual.requests for v in problem.network_of(out).inputs}
        if requests:
            assert_same(bindings, random_columns(needed, seed=len(name)), requests)


def test_hard_outputs_by_the_product_rule(tmp_path):
    from test_hard_bc import TWO_EDGES

    from engine.train.networks import bind

    folder = tmp_path / "hard"
    create_project(folder)
    (folder / "problem.py").write_text(TWO_EDGES.format(bottom="x * (1 + y ** 2)"))
    problem = load_problem(folder)
    net = build_network({"layer_size": 8, "nr_layers": 2}, 2, 1, seed=3, dtype=torch.float64)
    bindings = bind(problem, {"NN": net}, ["left", "right", "bottom"])
    assert isinstance(bindings["NN"].module, HardOutputs)
    rng = np.random.default_rng(0)
    columns = {"x": rng.uniform(0.05, 0.95, 30), "y": rng.uniform(0.05, 0.95, 30)}
    assert_same(bindings, columns, all_requests("u", ("x", "y"), 3))


def test_an_uncovered_layer_is_named():
    net = network("fully_connected", "tanh")
    assert unsupported_layer(net) is None
    net.trunk.act = torch.nn.Softplus()
    assert unsupported_layer(net) == "trunk.act (Softplus)"
    assert unsupported_layer(torch.nn.GELU(approximate="tanh")) == "<network> (GELU)"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype,tolerance", [(torch.float64, 1e-12), (torch.float32, 1e-4)])
@pytest.mark.parametrize("arch,activation", [("fully_connected", "tanh"), ("modified_fourier", "silu"), ("siren", "sine")])
def test_the_same_path_on_cuda(arch, activation, dtype, tolerance):
    module = network(arch, activation).to("cuda", dtype)
    assert_same(single(module), random_columns(INPUTS), all_requests("u", INPUTS, 3), dtype, "cuda", tolerance)
