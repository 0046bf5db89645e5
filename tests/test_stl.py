"""STL meshes (written in the test with trimesh), custom geometry classes, rotate and sdf derivatives."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from conftest import run_mtc
from engine.config import default_config, set_values
from engine.errors import ProblemError
from engine.problem import load_problem
from engine.problem.sampling import sample_subdomain
from engine.train import StageHooks, StagePlan, train_stage

STL_PROBLEM = """\
from cfg import *
[x, y, z], [u] = p.add_neural_network(name="NN", inputs=["x", "y", "z"], outputs=["u"])
solid = p.GeometryFromSTL("solid", "{file}", airtight={airtight})
inside = p.add_interior_subdomain("inside", geom=solid)
skin = p.add_boundary_subdomain("skin", geom=solid)
p.add_constraint("pde", enforce(equation=Eq(u.diff(x, 2) + u.diff(y, 2) + u.diff(z, 2), 1), on_domain=inside))
p.add_constraint("wall", enforce(equation=Eq(u, 0), on_domain=skin))
"""


def points(problem, name, n, seed=0):
    sd = problem.subdomains[name]
    return sample_subdomain(sd.geometry, sd.kind, n, sd.params, sd.criteria, np.random.default_rng(seed), name=name)


def stl_project(project_with, mesh, airtight=True, file="solid.stl"):
    folder = project_with(STL_PROBLEM.format(file=file, airtight=airtight))
    if mesh is not None:
        mesh.export(folder / file)
    return folder


def test_a_box_mesh_samples_volume_surface_normals_and_sdf(project_with):
    box = trimesh.creation.box(extents=(2.0, 1.0, 1.0))  # centred at the origin
    problem = load_problem(stl_project(project_with, box))
    inside = points(problem, "inside", 2000)
    xyz = np.stack([inside["x"], inside["y"], inside["z"]], axis=1)
    assert (np.abs(xyz) <= [1, 0.5, 0.5]).all()
    assert inside["area"].sum() == pytest.approx(2.0)  # the volume
    exact = np.min(np.stack([1 - np.abs(xyz[:, 0]), 0.5 - np.abs(xyz[:, 1]), 0.5 - np.abs(xyz[:, 2])]), axis=0)
    np.testing.assert_allclose(inside["sdf"], exact, atol=1e-9)
    skin = points(problem, "skin", 2000)
    assert skin["area"].sum() == pytest.approx(10.0)  # the surface area
    normals = np.stack([skin["normal_x"], skin["normal_y"], skin["normal_z"]], axis=1)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0)
    outward = np.einsum("ij,ij->i", normals, np.stack([skin["x"], skin["y"], skin["z"]], axis=1))
    assert (outward > 0).all()


def test_a_torus_mesh_has_its_volume_and_signed_distance(project_with):
    major, minor = 1.0, 0.3
    torus = trimesh.creation.torus(major_radius=major, minor_radius=minor, major_sections=96, minor_sections=48)
    problem = load_problem(stl_project(project_with, torus))
    inside = points(problem, "inside", 4000)
    tube = np.hypot(np.hypot(inside["x"], inside["y"]) - major, inside["z"])
    assert (tube < minor + 1e-3).all()  # the faceted mesh bulges past the exact torus on its inner side
    volume = 2 * np.pi**2 * major * minor**2
    assert inside["area"].sum() == pytest.approx(volume, rel=0.01)  # the mesh's volume (faceted)
    np.testing.assert_allclose(inside["sdf"], minor - tube, atol=2e-3)  # faceting error ~ r (1 - cos(pi/48))


def test_an_stl_problem_trains(project_with):
    folder = stl_project(project_with, trimesh.creation.box(extents=(1.0, 1.0, 1.0)))
    outline = load_problem(folder).outline()
    config = set_values(default_config(outline), ["training.max_steps=3", "training.log_every=1",
                        "constraints.pde.batch_size=32", "constraints.wall.batch_size=32", "nets.NN.layer_size=8"], outline)  # fmt: skip
    rows = []
    assert train_stage(StagePlan(folder, "s1", config), StageHooks(log=rows.extend)) == "done"
    assert {key for _, _, key, _ in rows} >= {"pde", "wall"}


def open_box() -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    return trimesh.Trimesh(box.vertices, box.faces[:-2])  # one side missing


@pytest.mark.parametrize(
    "case, mesh, airtight, message",
    [
        ("missing", None, True, "STL file .*solid.stl' does not exist"),
        ("not a mesh", "text", True, "is not a mesh"),
        ("not watertight", "open", True, "is not watertight"),
        ("open mesh interior", "open", False, "has no interior"),
    ],
)
def test_bad_stl_files_are_refused_at_their_line(project_with, case, mesh, airtight, message):
    folder = stl_project(project_with, open_box() if mesh == "open" else None, airtight)
    if mesh == "text":
        (folder / "solid.stl").write_text("this is not a mesh\n")
    with pytest.raises(ProblemError, match=message) as info:
        load_problem(folder)
    assert info.value.lineno == (4 if case == "open mesh interior" else 3)


DISK_MODULE = '''\
import numpy as np


class Disk:
    """A unit disk, sampled by the class itself (MTC's custom geometry protocol)."""

    def __init__(self, radius, seed=0):
        self.radius, self.rng = radius, np.random.default_rng(seed)

    def dims(self):
        return ["x", "y"]

    def sample_interior(self, n):
        r, t = self.radius * np.sqrt(self.rng.random(n)), 2 * np.pi * self.rng.random(n)
        return {"x": r * np.cos(t), "y": r * np.sin(t), "sdf": self.radius - r, "area": np.full(n, np.pi * self.radius**2 / n)}

    def sample_boundary(self, n):
        t = 2 * np.pi * self.rng.random(n)
        return {"x": self.radius * np.cos(t), "y": self.radius * np.sin(t), "normal_x": np.cos(t), "normal_y": np.sin(t),
                "area": np.full(n, 2 * np.pi * self.radius / n)}
'''

CUSTOM_PROBLEM = """\
from cfg import *
[x, y], [u] = p.add_neural_network(name="NN", inputs=["x", "y"], outputs=["u"])
disk = p.CustomGeometry("disk", "{module}", "{cls}", 0.5, seed=3)
inside = p.add_interior_subdomain("inside", geom=disk, criteria=x > 0)
rim = p.add_boundary_subdomain("rim", geom=disk)
p.add_constraint("pde", enforce(equation=Eq(u.diff(x, 2) + u.diff(y, 2), 1), on_domain=inside))
p.add_constraint("rim", enforce(equation=Eq(normal_x * u.diff(x) + normal_y * u.diff(y), 0), on_domain=rim))
"""


def test_a_custom_geometry_class_beside_problem_py_samples_and_trains(project_with):
    folder = project_with(CUSTOM_PROBLEM.format(module="disk_geometry.py", cls="Disk"))
    (folder / "disk_geometry.py").write_text(DISK_MODULE)
    problem = load_problem(folder)
    half = points(problem, "inside", 500)
    assert (half["x"] > 0).all() and half["area"].sum() == pytest.approx(np.pi * 0.25 / 2, rel=0.1)
    rim = points(problem, "rim", 100)
    np.testing.assert_allclose(np.hypot(rim["x"], rim["y"]), 0.5)
    assert (rim["normal_z"] == 0).all()
    outline = problem.outline()
    config = set_values(default_config(outline), ["training.max_steps=2", "constraints.pde.batch_size=16",
                        "constraints.rim.batch_size=16", "nets.NN.layer_size=8"], outline)  # fmt: skip
    assert train_stage(StagePlan(folder, "s1", config)) == "done"


@pytest.mark.parametrize(
    "module, cls, source, message",
    [
        ("missing.py", "Disk", None, "module file .*missing.py' does not exist"),
        ("disk_geometry.py", "Disk", "import not_a_module\n", "does not load \\(ModuleNotFoundError"),
        ("disk_geometry.py", "Ring", DISK_MODULE, "has no class 'Ring'"),
        ("disk_geometry.py", "Disk", DISK_MODULE.replace("def sample_boundary", "def boundary"), "lacks sample_boundary"),
    ],
)
def test_bad_custom_geometries_are_refused_at_their_line(project_with, module, cls, source, message):
    folder = project_with(CUSTOM_PROBLEM.format(module=module, cls=cls))
    if source is not None:
        (folder / "disk_geometry.py").write_text(source)
    with pytest.raises(ProblemError, match=message) as info:
        load_problem(folder)
    assert info.value.lineno == 3


def test_rotate_high_to_low_params_and_sdf_derivatives(project_with):
    folder = project_with(
        "from cfg import *\n"
        '[x, y], [u] = p.add_neural_network(name="NN", inputs=["x", "y"], outputs=["u"])\n'
        'rot = Symbol("rot")\n'
        'wing = p.Polygon("wing", [(0, 0), (1, 0), (1, 0.1)], params={rot: (0, -pi / 6)}, rotate=(rot, "z"))\n'
        'plate = p.Rectangle("plate", (0, 0), (2, 1), rotate=(pi / 2, "z"))\n'
        'disk = p.Circle("disk", (0, 0), 1)\n'
        "skin = p.add_boundary_subdomain(\"skin\", geom=wing)\n"
        'inside = p.add_interior_subdomain("inside", geom=disk, compute_sdf_derivatives=True)\n'
        'p.add_constraint("eikonal", enforce(equation=Eq(Symbol("sdf__x")**2 + Symbol("sdf__y")**2, 1), on_domain=inside))\n'
    )
    problem = load_problem(folder)
    skin = points(problem, "skin", 500)
    assert skin["rot"].min() >= -np.pi / 6 and skin["rot"].max() <= 0
    inside = points(problem, "inside", 500)
    r = np.hypot(inside["x"], inside["y"])
    np.testing.assert_allclose(inside["sdf__x"], -inside["x"] / r, atol=1e-6)
    np.testing.assert_allclose(inside["sdf__y"], -inside["y"] / r, atol=1e-6)
    shown = run_mtc("show", "problem", cwd=folder)
    assert "plate: Rectangle(a=(0, 0), b=(2, 1)) rotate=(pi/2, 'z') about (0, 0)" in shown.stdout, shown.stdout
    assert "wing: Polygon(" in shown.stdout and "rotate=(rot, 'z')" in shown.stdout
