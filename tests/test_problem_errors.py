"""Bad problem.py files: `mtc show problem` exits non-zero with one located message, no traceback."""

from __future__ import annotations

import pytest

from conftest import run_mtc

HEADER = """from cfg import *
[x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])
geom = p.Line1D("geom", 0, 1)
interior = p.add_interior_subdomain("interior", geom=geom)
"""

CASES = {
    "python error": (HEADER + "k = undefined_name + 1\n", 5, "NameError: name 'undefined_name' is not defined"),
    "syntax error": (HEADER + "p.add_constraint(\n", 5, "syntax error"),
    "unknown subdomain": (
        HEADER + 'p.add_constraint("c", enforce(equation=Eq(u, 0), on_domain="nowhere"))\n',
        5,
        "unknown subdomain 'nowhere'",
    ),
    "unknown network function": (
        HEADER + 'v = Function("v")(x)\np.add_constraint("c", enforce(equation=Eq(v, 0), on_domain=interior))\n',
        6,
        "uses 'v', which is neither a network output nor a submodel",
    ),
    "unknown network in data constraint": (
        HEADER + 'p.add_data_constraint("d", model=Function("w")(x), data_fname="d.csv")\n',
        5,
        "unknown model 'w'",
    ),
    "undefined variable": (
        HEADER + 'y = Symbol("y")\np.add_constraint("c", enforce(equation=Eq(u.diff(x) + y, 0), on_domain=interior))\n',
        6,
        "undefined variable 'y'",
    ),
    "variable the subdomain does not sample": (
        'from cfg import *\n[x, t], [u] = p.add_neural_network(name="NN", inputs=["x", "t"], outputs=["u"])\n'
        'g = p.Line1D("g", 0, 1)\ni = p.add_interior_subdomain("i", geom=g)\n'
        'p.add_constraint("c", enforce(equation=Eq(u.diff(t), 0), on_domain=i))\n',
        5,
        "add params={t: (lo, hi)}",
    ),
    "normals on an interior": (
        HEADER + 'p.add_constraint("c", enforce(equation=Eq(normal_x * u, 0), on_domain=interior))\n',
        5,
        "'normal_x', which only boundary subdomains provide",
    ),
    "duplicate constraint": (
        HEADER
        + 'p.add_constraint("c", enforce(equation=Eq(u, 0), on_domain=interior))\n'
        + 'p.add_constraint("c", enforce(equation=Eq(u, 1), on_domain=interior))\n',
        6,
        "constraint 'c' is defined twice",
    ),
    "duplicate network": (
        HEADER + 'p.add_neural_network(name="NN", inputs=["x"], outputs=["w"])\n',
        5,
        "network 'NN' is defined twice",
    ),
    "duplicate output": (
        HEADER + 'p.add_neural_network(name="NN2", inputs=["x"], outputs=["u"])\n',
        5,
        "already used by a network output",
    ),
    "empty after criteria": (
        HEADER + 'far = p.add_interior_subdomain("far", geom=geom, criteria=x > 2)\n',
        5,
        "subdomain 'far' is empty",
    ),
    "unsafe name": (
        HEADER + 'p.add_constraint("../evil", enforce(equation=Eq(u, 0), on_domain=interior))\n',
        5,
        "constraint name '../evil' is not a safe identifier",
    ),
    "reserved name": (
        HEADER + 'p.add_constraint("total", enforce(equation=Eq(u, 0), on_domain=interior))\n',
        5,
        "reserved",
    ),
    "missing data file": (
        HEADER + 'p.add_data_constraint("d", model=u, data_fname="missing.csv")\n',
        5,
        "does not exist",
    ),
    "point has no interior": (
        HEADER + 'q = p.add_interior_subdomain("q", geom=p.Point1D("pt", 0.5))\n',
        5,
        "has no interior",
    ),
    "bad params range": (
        HEADER + 'q = p.add_interior_subdomain("q", geom=geom, params={Symbol("t"): ("low", 1)})\n',
        5,
        "subdomain 'q': parameter t: 'low' is not a number",
    ),
    "no problem object": ("x = 1\n", None, "defines no problem `p`"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_problem_gives_one_located_message(project_with, case):
    source, line, message = CASES[case]
    folder = project_with(source)
    result = run_mtc("show", "problem", cwd=folder)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
    where = f"problem.py:{line}:" if line else "problem.py:"
    assert where in result.stderr
    assert result.stdout == ""


def test_debug_shows_the_traceback(project_with):
    folder = project_with(CASES["python error"][0])
    result = run_mtc("--debug", "show", "problem", cwd=folder)
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_folder_without_problem(tmp_path):
    result = run_mtc("show", "problem", cwd=tmp_path)
    assert result.returncode == 1 and "no problem.py" in result.stderr
