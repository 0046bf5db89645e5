"""Unknown constants (``p.add_unknown``): scalars a stage learns with its networks (inverse problems)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sympy import Symbol

from ..errors import ProblemError

Bounds = tuple[float | None, float | None]
ROW_PREFIX = "unknown/"  # the loss-row key under which a stage logs an unknown's value: ``unknown/<name>``


@dataclass(frozen=True)
class Unknown:
    """A trainable scalar: its symbol, starting value and bounds (``None`` = unbounded on that side)."""

    name: str
    symbol: Symbol
    initial: float
    bounds: Bounds


def bounds_text(bounds: Bounds | list[float | None]) -> str:
    """``(0.01, 100)``, with ``-inf`` / ``inf`` for an open side."""
    lo, hi = bounds
    return f"({'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'})"


def _finite(name: str, what: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProblemError(f"unknown {name!r}: {what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ProblemError(f"unknown {name!r}: {what} must be finite, got {value!r}")
    return number


def make_unknown(name: str, initial: Any, bounds: Any) -> Unknown:
    """An :class:`Unknown`, refused when ``bounds`` is not ``(lo, hi)`` or ``initial`` is not strictly inside."""
    start = _finite(name, "initial", initial)
    if bounds is None:
        return Unknown(name, Symbol(name), start, (None, None))
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise ProblemError(f"unknown {name!r}: bounds must be (low, high) (None for an open side), got {bounds!r}")
    lo, hi = (None if b is None else _finite(name, "bound", b) for b in bounds)
    if lo is not None and hi is not None and lo >= hi:
        raise ProblemError(f"unknown {name!r}: bounds ({lo:g}, {hi:g}) need low < high")
    if (lo is not None and start <= lo) or (hi is not None and start >= hi):
        raise ProblemError(
            f"unknown {name!r}: initial {start:g} is outside its bounds {bounds_text((lo, hi))}; start strictly inside them"
        )
    return Unknown(name, Symbol(name), start, (lo, hi))
