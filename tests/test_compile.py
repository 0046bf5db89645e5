"""Compiled residuals and derivatives against sympy-evaluated exact values."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
from sympy import Function, Piecewise, exp, sin, symbols, tanh

from engine.compile import BatchFields, CompiledExpression, NetworkBinding, as_columns

x, y = symbols("x y")
u_fn, v_fn = Function("u")(x, y), Function("v")(x, y)


class Counting(torch.nn.Module):
    """Wraps a module and counts forward calls."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls = inner, 0

    def forward(self, batch):
        self.calls += 1
        return self.inner(batch)


class Analytic(torch.nn.Module):
    """u = sin(x) exp(y), v = x^2 y^3 + cos(x y)."""

    def forward(self, batch):
        xs, ys = batch[:, 0], batch[:, 1]
        return torch.stack([torch.sin(xs) * torch.exp(ys), xs**2 * ys**3 + torch.cos(xs * ys)], dim=1)


EXACT = {u_fn: sin(x) * exp(y), v_fn: x**2 * y**3 + sympy.cos(x * y)}


def random_mlp(seed: int, width: int = 5) -> tuple[torch.nn.Module, dict]:
    """A tanh MLP (2 -> width -> width -> 2) and the sympy formulas of its two outputs."""
    gen = torch.Generator().manual_seed(seed)
    layers = [torch.nn.Linear(2, width), torch.nn.Linear(width, width), torch.nn.Linear(width, 2)]
    for layer in layers:
        with torch.no_grad():
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) * 0.7)
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=gen) * 0.3)
    net = torch.nn.Sequential(layers[0], torch.nn.Tanh(), layers[1], torch.nn.Tanh(), layers[2]).double()
    h = sympy.Matrix([x, y])
    for i, layer in enumerate(layers):
        w = sympy.Matrix(layer.weight.detach().double().numpy())
        b = sympy.Matrix(layer.bias.detach().double().numpy())
        h = w * h + b
        if i < 2:
            h = h.applyfunc(tanh)
    return net, {u_fn: h[0], v_fn: h[1]}


def points(n: int = 64, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x": rng.uniform(-1, 1, n), "y": rng.uniform(-1, 1, n)}


def exact_values(expr, exact, pts):
    value = expr.xreplace(exact).doit()
    return np.broadcast_to(sympy.lambdify([x, y], value, "numpy")(pts["x"], pts["y"]), pts["x"].shape)


def evaluate(expr, module, pts, dtype=torch.float64, device="cpu"):
    compiled = CompiledExpression(expr)
    net = NetworkBinding(("x", "y"), ("u", "v"), module.to(device=device, dtype=dtype))
    columns = as_columns(pts, dtype, device, compiled.grad_variables)
    return compiled(BatchFields({"net": net}, columns)).detach().cpu().numpy()


EXPRESSIONS = [
    u_fn,
    u_fn.diff(x),
    u_fn.diff(y),
    u_fn.diff(x, 2),
    u_fn.diff(x, y),
    u_fn.diff(x, 2) + u_fn.diff(y, 2),  # 2D Laplacian
    v_fn.diff(x, 2) + v_fn.diff(y, 2) - sin(x) * y,
    u_fn * v_fn.diff(x) + 3 * x * u_fn.diff(y, 2),  # products
    (u_fn * v_fn).diff(x, y).doit(),
    exp(u_fn) - sympy.sqrt(2) * sympy.pi,
    u_fn.diff(x, 3) - v_fn.diff(y, 2, x, 1),
]


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=str)
def test_analytic_functions_match_sympy(expr):
    pts = points()
    np.testing.assert_allclose(evaluate(expr, Analytic(), pts), exact_values(expr, EXACT, pts), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("expr", EXPRESSIONS[:9], ids=str)
def test_random_mlp_matches_its_sympy_formula(expr):
    net, exact = random_mlp(seed=3)
    pts = points(seed=5)
    np.testing.assert_allclose(evaluate(expr, net, pts), exact_values(expr, exact, pts), rtol=1e-10, atol=1e-10)


def test_float32_agrees_to_single_precision():
    expr = u_fn.diff(x, 2) + u_fn.diff(y, 2)
    pts = points()
    np.testing.assert_allclose(
        evaluate(expr, Analytic(), pts, dtype=torch.float32), exact_values(expr, EXACT, pts), rtol=1e-4, atol=1e-4
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_matches_cpu():
    expr = u_fn.diff(x, 2) + v_fn.diff(x, y)
    pts = points()
    np.testing.assert_allclose(evaluate(expr, Analytic(), pts, device="cuda"), evaluate(expr, Analytic(), pts), rtol=1e-10)


def test_each_network_and_derivative_is_computed_once_per_batch():
    module = Counting(Analytic())
    exprs = [CompiledExpression(e) for e in (u_fn.diff(x, y), u_fn.diff(y, x) + u_fn, v_fn.diff(x) * u_fn.diff(x, y))]
    wanted = frozenset().union(*(e.grad_variables for e in exprs))
    fields = BatchFields({"net": NetworkBinding(("x", "y"), ("u", "v"), module)}, as_columns(points(), requires_grad=wanted))
    for e in exprs:
        e(fields)
    assert module.calls == 1
    assert fields.derivative("u", ("y", "x")) is fields.derivative("u", ("x", "y"))


def test_constant_residual_is_broadcast_to_the_batch():
    fields = BatchFields({}, as_columns(points(10)))
    value = CompiledExpression(sympy.Integer(0) - 1)(fields)
    assert value.shape == (10,) and torch.all(value == -1)


def test_piecewise_and_relations_evaluate_elementwise():
    pts = points()
    expr = Piecewise((x**2, x < sympy.Rational(1, 2)), (sin(y), True))
    got = CompiledExpression(expr)(BatchFields({}, as_columns(pts)))
    np.testing.assert_allclose(got.numpy(), np.where(pts["x"] < 0.5, pts["x"] ** 2, np.sin(pts["y"])), rtol=1e-14)
    mask = CompiledExpression(sympy.And(x > 0, ~(y < 0.25)))(BatchFields({}, as_columns(pts)))
    np.testing.assert_array_equal(mask.numpy().astype(bool), (pts["x"] > 0) & (pts["y"] >= 0.25))


def test_gradients_flow_to_network_parameters():
    net, _ = random_mlp(seed=2)
    compiled = CompiledExpression(u_fn.diff(x, 2) + u_fn.diff(y, 2))
    fields = BatchFields({"n": NetworkBinding(("x", "y"), ("u", "v"), net)}, as_columns(points(), requires_grad=compiled.grad_variables))
    compiled(fields).pow(2).mean().backward()
    first = net[0].weight.grad  # the last bias cannot affect a Laplacian, the first layer must
    assert first is not None and torch.isfinite(first).all() and first.abs().sum() > 0
