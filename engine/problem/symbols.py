"""Symbols that the sampler provides besides the problem's own variables."""

from __future__ import annotations

from sympy import Symbol

sdf = Symbol("sdf")
normal_x = Symbol("normal_x")
normal_y = Symbol("normal_y")
normal_z = Symbol("normal_z")

INTERIOR_EXTRAS = frozenset({"sdf"})
BOUNDARY_EXTRAS = frozenset({"normal_x", "normal_y", "normal_z"})


def extras_for(kind: str) -> frozenset[str]:
    """Columns a subdomain of ``kind`` ('interior' or 'boundary') adds to its variables."""
    return INTERIOR_EXTRAS if kind == "interior" else BOUNDARY_EXTRAS
