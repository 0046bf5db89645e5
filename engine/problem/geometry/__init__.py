"""Geometries of mtc problems: 1D/2D/3D shapes, CSG combinations and rotations, sampled with per-point parameters."""

from engine.problem.geometry.base import NORMALS, SAMPLERS, SPACE, Geometry, Values, unit_samples
from engine.problem.geometry.csg import GeometryDifference, GeometryIntersection, GeometryUnion
from engine.problem.geometry.shapes1d import Line1D, Point1D
from engine.problem.geometry.shapes2d import Channel2D, Circle, Line2D, Polygon, Rectangle
from engine.problem.geometry.shapes3d import Box, Cylinder, Sphere
from engine.problem.geometry.transform import rotate

__all__ = [
    "NORMALS",
    "SAMPLERS",
    "SPACE",
    "Box",
    "Channel2D",
    "Circle",
    "Cylinder",
    "Geometry",
    "GeometryDifference",
    "GeometryIntersection",
    "GeometryUnion",
    "Line1D",
    "Line2D",
    "Point1D",
    "Polygon",
    "Rectangle",
    "Sphere",
    "Values",
    "rotate",
    "unit_samples",
]
