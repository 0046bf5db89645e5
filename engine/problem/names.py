"""Naming rules shared by the problem language: safe identifiers and reserved words."""

from __future__ import annotations

import re

from ..errors import ProblemError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

# Column names the sampler and the trainer produce themselves.
RESERVED = frozenset({"sdf", "area", "normal_x", "normal_y", "normal_z", "total", "lr", "grad_norm"})


def check_identifier(kind: str, name: object) -> str:
    """Return ``name`` if it is a safe identifier for a ``kind`` (network, constraint, ...)."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise ProblemError(
            f"{kind} name {name!r} is not a safe identifier: use letters, digits and '_' "
            "(starting with a letter or '_', at most 64 characters)"
        )
    if name in RESERVED:
        raise ProblemError(f"{kind} name {name!r} is reserved by mtc: choose another name")
    return name
