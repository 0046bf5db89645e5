"""Constraint weights: a number, or a sympy expression in the constraint's symbols.

A weight is normalised to a ``float`` when it is numeric (``2``, ``"2.5"``,
``"2*pi"``) and otherwise kept as the user's (stripped) string, e.g. ``"2*sdf"``.
Only a small, safe subset of sympy is accepted: numbers, the operators
``+ - * / ** ^`` and parentheses, the functions in :data:`FUNCTIONS`, and symbol
names, which must be among the constraint's allowed symbols when those are known.
"""

from __future__ import annotations

import io
import json
import math
import re
import tokenize
from collections.abc import Iterable, Mapping

import numpy as np

import sympy
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

#: Functions and constants a weight expression may use besides its symbols.
FUNCTIONS: dict[str, object] = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "tanh": sympy.tanh,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "abs": sympy.Abs,
    "Abs": sympy.Abs,
    "Min": sympy.Min,
    "Max": sympy.Max,
    "Heaviside": sympy.Heaviside,
    "pi": sympy.pi,
}

# Names the sympy parser's transformations emit; never user-visible.
_PARSER_NAMES = {name: getattr(sympy, name) for name in ("Integer", "Float", "Rational", "Symbol")}
_SAFE_CHARS = re.compile(r"^[A-Za-z0-9_.+\-*/^()\s]*$")
_TRANSFORMS = standard_transformations + (convert_xor,)


def _q(text: str) -> str:
    return json.dumps(text)


class WeightError(ValueError):
    """A weight that is not a non-negative number or a valid expression (message only, no key)."""


def _names(text: str) -> list[str]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        raise WeightError(f"{_q(text)} is not a valid expression (check the parentheses)") from None
    return [tok.string for tok in tokens if tok.type == tokenize.NAME]


def _number(value: float, shown: str) -> float:
    if not math.isfinite(value):
        raise WeightError(f"{shown} is not a finite number")
    if value < 0:
        raise WeightError(f"{shown} is negative; a weight must be >= 0")
    return float(value)


def parse_weight(value: object, allowed: Iterable[str] | None = None, *, kind: str | None = None) -> float | str:
    """Return ``value`` normalised (a float, or the expression string), or raise :class:`WeightError`.

    ``allowed`` is the set of symbol names the expression may use; ``None`` accepts
    any name (used when the problem outline is not known).  ``kind`` (``interior`` /
    ``boundary``) only improves the error message.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise WeightError(f"{json.dumps(value, default=repr)} is not a number or an expression string")
    if isinstance(value, (int, float)):
        return _number(float(value), repr(value))
    text = value.strip()
    if not text:
        raise WeightError("the weight is empty")
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return _number(number, _q(text))
    if not _SAFE_CHARS.match(text) or "__" in text or re.search(r"[A-Za-z_]\w*\s*\.", text):
        raise WeightError(
            f"{_q(text)} is not a valid expression; use numbers, symbols, + - * / ** ^, parentheses "
            f"and the functions {', '.join(sorted(FUNCTIONS, key=str.lower))}"
        )
    allowed_set = None if allowed is None else frozenset(allowed)
    local: dict[str, object] = {}
    for name in _names(text):
        if allowed_set is not None and name in allowed_set:
            local[name] = sympy.Symbol(name)
        elif name in FUNCTIONS:
            local[name] = FUNCTIONS[name]
        elif allowed_set is None:
            local[name] = sympy.Symbol(name)
        else:
            raise WeightError(_unknown_symbol(name, text, allowed_set, kind))
    try:
        expr = parse_expr(text, local_dict=local, global_dict=dict(_PARSER_NAMES), transformations=_TRANSFORMS)
    except Exception as exc:  # sympy raises SyntaxError, TypeError, TokenError, ...
        detail = exc.msg if isinstance(exc, SyntaxError) and exc.msg else type(exc).__name__
        raise WeightError(f"{_q(text)} is not a valid expression ({detail})") from None
    if not isinstance(expr, sympy.Expr):
        raise WeightError(f"{_q(text)} is not an arithmetic expression")
    if not expr.free_symbols:
        try:
            number = complex(expr)
        except (TypeError, ValueError):
            raise WeightError(f"{_q(text)} does not evaluate to a number") from None
        if number.imag != 0:
            raise WeightError(f"{_q(text)} is not a real number")
        return _number(number.real, _q(text))
    return text


def weight_values(text: str, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """A valid weight expression (see :func:`parse_weight`) evaluated on sampled ``columns``."""
    local = {name: sympy.Symbol(name) if name in columns else FUNCTIONS.get(name, sympy.Symbol(name)) for name in _names(text)}
    expr = parse_expr(text, local_dict=local, global_dict=dict(_PARSER_NAMES), transformations=_TRANSFORMS)
    symbols = sorted(expr.free_symbols, key=str)
    size = len(next(iter(columns.values())))
    with np.errstate(all="ignore"):
        values = sympy.lambdify(symbols, expr, "numpy")(*(np.asarray(columns[str(s)], dtype=float) for s in symbols))
    return np.broadcast_to(np.asarray(values, dtype=float), (size,))


def _unknown_symbol(name: str, text: str, allowed: frozenset[str], kind: str | None) -> str:
    where = f" of this {kind} constraint" if kind else ""
    subject = f"{_q(name)}" if text == name else f"{_q(text)} uses {_q(name)}, which"
    message = f"{subject} is not a symbol{where}; allowed symbols: {', '.join(sorted(allowed)) or '(none)'}"
    if name.startswith("normal_") and kind == "interior":
        message += " (normals exist only on boundary constraints)"
    elif name == "sdf" and kind == "boundary":
        message += " (sdf is only available on interior constraints)"
    return message
