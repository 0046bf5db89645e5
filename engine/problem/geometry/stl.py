"""``GeometryFromSTL``: a triangle mesh read with trimesh; interior by containment, boundary on the faces.

Interior points are drawn in the mesh's bounding box and kept when inside (ray tests), with
trimesh's signed distance (positive inside, as mtc's convention) and ``area`` = volume / n.
Boundary points are drawn on the faces in proportion to their areas, with the face normals and
``area`` = surface area / n. Interior sampling needs a watertight mesh.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ProblemError
from engine.problem.geometry.base import Geometry, Values, columns, coords, normal_columns, unit_samples

XYZ = ("x", "y", "z")
_ROUNDS = 64


def load_mesh(path: Path, airtight: bool) -> Any:
    """The mesh of an STL file, refused when missing, not a triangle mesh, or (``airtight``) not watertight."""
    import trimesh

    if not path.is_file():
        raise ProblemError(f"STL file {str(path)!r} does not exist")
    try:
        mesh = trimesh.load(path, file_type="stl", force="mesh")
    except Exception as exc:  # trimesh raises many kinds of errors for files that are not meshes
        raise ProblemError(f"STL file {str(path)!r} is not a mesh ({type(exc).__name__}: {exc})") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ProblemError(f"STL file {str(path)!r} is not a mesh: it holds no triangles")
    if airtight and not mesh.is_watertight:
        raise ProblemError(
            f"STL file {str(path)!r} is not watertight (it has holes or open edges), but airtight=True: "
            "repair the mesh, or pass airtight=False to sample only its surface"
        )
    return mesh


class STLGeometry(Geometry):
    """The solid (when watertight) or surface of a triangle mesh in x, y, z."""

    def __init__(self, name: str, path: Path, airtight: bool) -> None:
        super().__init__(name, XYZ)
        self.mesh = load_mesh(path, airtight)
        self._args.update({"file": str(path), "airtight": str(airtight)})

    @property
    def has_interior(self) -> bool:
        return bool(self.mesh.is_watertight)

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.mesh.bounds
        return np.broadcast_to(lo, (n, 3)), np.broadcast_to(hi, (n, 3))

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        import trimesh

        return np.asarray(trimesh.proximity.signed_distance(self.mesh, coords(points, self.dims)), dtype=float)

    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        lo, hi = self.mesh.bounds
        kept: list[np.ndarray] = []
        found = 0
        for _ in range(_ROUNDS):
            batch = lo + unit_samples(max(2 * (n - found), 64), 3, rng, sampler) * (hi - lo)
            inside = batch[self.mesh.contains(batch)]
            kept.append(inside)
            found += len(inside)
            if found >= n:
                break
        if found < n:
            raise ProblemError(f"{self.kind}: found only {found} of {n} interior points: is the mesh a closed solid?")
        points = np.concatenate(kept)[:n]
        rows = columns(points, self.dims)
        rows["sdf"] = self.sdf(rows, params)
        rows["area"] = np.full(n, float(self.mesh.volume) / n)
        return rows

    def sample_boundary(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        areas = np.asarray(self.mesh.area_faces, dtype=float)
        faces = rng.choice(len(areas), size=n, p=areas / areas.sum())
        u, v = rng.random((2, n))
        flip = u + v > 1
        u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
        corners = self.mesh.triangles[faces]
        points = corners[:, 0] + u[:, None] * (corners[:, 1] - corners[:, 0]) + v[:, None] * (corners[:, 2] - corners[:, 0])
        rows = columns(points, self.dims)
        rows.update(normal_columns(np.asarray(self.mesh.face_normals[faces], dtype=float)))
        rows["area"] = np.full(n, float(areas.sum()) / n)
        return rows


def geometry_from_stl(name: str, path: Path, airtight: bool = False) -> STLGeometry:
    """MTC's ``GeometryFromSTL`` shape (``path`` already resolved against the project)."""
    return STLGeometry(name, path, airtight)
