"""A sympy expression of network outputs, their derivatives and variables, as a torch function."""

from __future__ import annotations

import sympy
import torch
from sympy import Derivative, Symbol
from sympy.core.function import AppliedUndef

from .fields import BatchFields, Tensor


def numeric_constants(expr: sympy.Basic) -> sympy.Basic:
    """Evaluate constant subexpressions (sin(2), sqrt(2), 2*pi) to floats torch can take."""
    return expr.replace(
        lambda e: e.is_number and not e.is_Atom and not e.is_Relational,
        lambda e: sympy.Float(e.evalf(17), 17),
    )


class CompiledExpression:
    """Evaluates one expression on a :class:`BatchFields`, returning a 1-D tensor."""

    def __init__(self, expr: sympy.Basic):
        self.expression = expr
        requests: list[tuple[str, tuple[str, ...]]] = []
        mapping: dict[sympy.Basic, Symbol] = {}
        for derivative in sorted(expr.atoms(Derivative), key=sympy.default_sort_key):
            wrt = tuple(str(v) for v, count in derivative.variable_count for _ in range(count))
            mapping[derivative] = Symbol(f"_mtc_d{len(requests)}")
            requests.append((derivative.expr.func.__name__, wrt))
        replaced = expr.xreplace(mapping)
        for call in sorted(replaced.atoms(AppliedUndef), key=sympy.default_sort_key):
            mapping[call] = Symbol(f"_mtc_d{len(requests)}")
            requests.append((call.func.__name__, ()))
        replaced = numeric_constants(expr.xreplace(mapping))
        placeholders = set(mapping.values())
        self.variables = tuple(sorted(str(s) for s in replaced.free_symbols if s not in placeholders))
        self.requests = tuple(requests)
        self._function = sympy.lambdify(
            [*mapping.values(), *(Symbol(v) for v in self.variables)], replaced, modules="torch"
        )

    @property
    def grad_variables(self) -> frozenset[str]:
        """Variables this expression differentiates with respect to."""
        return frozenset(v for _, wrt in self.requests for v in wrt)

    def __call__(self, fields: BatchFields) -> Tensor:
        args = [fields.derivative(name, wrt) for name, wrt in self.requests]
        args += [fields.column(v) for v in self.variables]
        value = self._function(*args)
        if isinstance(value, Tensor) and value.shape == (fields.size,):
            return value
        return torch.as_tensor(value, dtype=fields.dtype, device=fields.device).expand(fields.size)
