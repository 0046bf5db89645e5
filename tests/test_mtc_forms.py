"""Problem files written as MTC's examples write them (our own fixtures in those forms) load and train."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from engine.errors import ProblemError
from engine.problem import load_problem

# An inverse problem in MTC's wave-inversion style: the unknown wave speed is a network of x,
# fitted to an HDF5 file of observations given by an absolute path (as MTC's notebooks write them).
WAVE_INVERSION = """\
from cfg import *
[x, t], [u] = p.add_neural_network(name="wave", inputs=["x", "t"], outputs=["u"])
[x], [c] = p.add_neural_network(name="velocity", inputs=["x"], outputs=["c"])
geom = p.Line1D("geom", 0, 1)
interior = p.add_interior_subdomain("interior", geom=geom, params={{t: (0, 1)}})
p.add_constraint("wave", enforce(equation=Eq(u.diff(t, 2), c**2 * u.diff(x, 2)), on_domain=interior))
p.add_data_constraint("observed", model=u, data_fname="{path}")
"""

# A channel whose angle of attack is written high-to-low (MTC samples between the two values),
# with the inlet/outlet mass balance of MTC's flow examples.
ROTATED_CHANNEL = """\
from cfg import *
import numpy as np
[x, y, rot], [u, v, pr] = p.add_neural_network(name="flow", inputs=["x", "y", "rot"], outputs=["u", "v", "pr"])
w, h = 3.0, 1.0
rot = Symbol("rot")
wing = p.Polygon("wing", [(1.0, 0.4), (2.0, 0.5), (1.0, 0.6)], params={rot: (0, -np.pi / 6)}, rotate=(rot, "z"))
box = p.Rectangle("box", (0, 0), (w, h))
fluid = p.GeometryDifference("fluid", box, wing)
interior = p.add_interior_subdomain("interior", geom=fluid, params={rot: (0, -np.pi / 6)})
inlet_outlet = p.add_boundary_subdomain("inlet_outlet", geom=box, criteria=Eq(x, 0) | Eq(x, w), params={rot: (0, -np.pi / 6)})
p.add_constraint("continuity", enforce(equation=Eq(u.diff(x) + v.diff(y), 0), on_domain=interior))
p.add_constraint("mass_balance", enforce(equation=Eq(Integral(normal_x*u + normal_y*v, x, y), 0), on_domain=inlet_outlet))
"""


def test_a_missing_absolute_data_file_is_named_and_loads_once_it_exists(project_with, tmp_path):
    data = tmp_path / "elsewhere" / "observed.hdf5"
    folder = project_with(WAVE_INVERSION.format(path=data))
    with pytest.raises(ProblemError, match=f"data file '{data}' does not exist") as info:
        load_problem(folder)
    assert info.value.lineno == 7
    data.parent.mkdir()
    x, t = np.meshgrid(np.linspace(0, 1, 11), np.linspace(0, 1, 5))
    with h5py.File(data, "w") as h5:
        for key, values in {"x": x, "t": t, "u": np.sin(np.pi * x) * np.cos(np.pi * t)}.items():
            h5.create_dataset(key, data=values.reshape(-1))
    problem = load_problem(folder)
    assert problem.data_constraints["observed"].rows == 55 and set(problem.networks) == {"wave", "velocity"}


def test_a_rotated_wing_with_a_high_to_low_range_and_a_mass_balance_loads(project_with):
    problem = load_problem(project_with(ROTATED_CHANNEL))
    assert problem.constraints["mass_balance"].integrands
    assert problem.subdomains["interior"].params[problem.variables["rot"]] == (-np.pi / 6, 0.0)
