"""A weight expression that can be negative on its constraint's subdomain is refused when set."""

from __future__ import annotations

import pytest

from conftest import run_mtc
from engine.config import ConfigError, default_config, set_values
from engine.problem import load_problem
from engine.stages import StageBook

SQUARE = """\
from cfg import *
[x, y], [u] = p.add_neural_network(name="NN", inputs=["x", "y"], outputs=["u"])
k = p.add_unknown("k", initial=2.0)
rect = p.Rectangle("rect", (0, 0), (1, 1))
inside = p.add_interior_subdomain("inside", geom=rect)
walls = p.add_boundary_subdomain("walls", geom=rect)
right = p.add_boundary_subdomain("right", geom=rect, criteria=Eq(x, 1))
p.add_constraint("pde", enforce(equation=Eq(u.diff(x, 2) + u.diff(y, 2), 0), on_domain=inside))
p.add_constraint("walls", enforce(equation=Eq(u, 0), on_domain=walls))
p.add_constraint("right", enforce(equation=Eq(u, 1), on_domain=right))
"""


@pytest.fixture
def outline(project_with):
    return load_problem(project_with(SQUARE)).outline()


@pytest.mark.parametrize(
    "key, weight, found",
    [
        ("walls", "normal_x", "[-1, 1]"),
        ("pde", "x - 0.5", "[-0.49"),
        ("pde", "sqrt(x - 0.5)", "not finite"),
        ("pde", "1 - k", "[-1, -1]"),  # unknowns count at their initial value
    ],
)
def test_a_weight_negative_somewhere_is_refused_with_the_range_found(outline, key, weight, found):
    with pytest.raises(ConfigError, match=f"constraints.{key}.weight") as info:
        set_values(default_config(outline), [f"constraints.{key}.weight={weight}"], outline)
    assert found in str(info.value) and "a weight must be >= 0 everywhere" in str(info.value)


@pytest.mark.parametrize("key, weight", [("right", "normal_x"), ("walls", "normal_x**2"), ("pde", "sdf"), ("pde", "k*x")])
def test_a_weight_non_negative_on_its_subdomain_is_accepted(outline, key, weight):
    config = set_values(default_config(outline), [f"constraints.{key}.weight={weight}"], outline)
    assert config["constraints"][key]["weight"] == weight


def test_the_cli_refuses_it_and_writes_nothing(project_with):
    folder = project_with(SQUARE)
    with StageBook(folder) as book:
        book.init_conf()
    result = run_mtc("stage", "set", "stage1", "constraints.walls.weight=normal_x", cwd=folder)
    assert result.returncode != 0 and "takes values in [-1, 1]" in result.stderr and "walls" in result.stderr
    with StageBook(folder) as book:
        assert book.stage("stage1").config["constraints"]["walls"]["weight"] == 1.0
