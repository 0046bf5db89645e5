"""What the configuration needs to know about a problem.

The problem language builds a :class:`ProblemOutline` (``problem.outline()``); the
config package depends only on these dataclasses, never on the Problem class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class NetworkOutline:
    """A neural network of the problem: the names of its input and output variables."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class ConstraintOutline:
    """An equation constraint: where it is sampled and which symbols its weight may use.

    ``symbols`` is the complete set of names allowed in a weight expression, e.g. the
    problem's variables plus ``sdf`` for interior constraints, or plus
    ``normal_x``/``normal_y``/``normal_z`` for boundary ones.
    """

    domain_kind: Literal["interior", "boundary"]
    symbols: frozenset[str] = field(default_factory=frozenset)
    subdomain: str = ""
    probe: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Sampled points of the subdomain (column -> array): a weight expression must be >= 0 on them."""


@dataclass(frozen=True)
class ProblemOutline:
    """Networks, equation constraints, data constraints and unknowns of a problem, in problem order."""

    networks: Mapping[str, NetworkOutline]
    constraints: Mapping[str, ConstraintOutline]
    data: tuple[str, ...] = ()
    unknowns: tuple[str, ...] = ()
    hard_check: Callable[[Sequence[str]], tuple[str, str] | None] | None = field(default=None, compare=False)
    """Given the constraints set ``hard``: ``(constraint, reason)`` when one cannot be, else None."""
