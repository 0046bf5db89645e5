"""MTC's ``--only-first-order-ufunc``: networks are differentiated once, higher derivatives become networks.

Each derivative of order k >= 2 of a network output ``u`` becomes the first derivative of a new
network output for the derivative of order k - 1, named as MTC names them (``d_dx1_u`` is
``du/dx``, ``d_dx2_u`` is ``d2u/dx2``, ``d_dx1_dy1_u`` is ``d2u/dxdy``), each produced by its own
network ``<name>NN`` with ``u``'s inputs. A compatibility constraint per new output ties it to the
one below (``<constraint><i>: Derivative(u, x) = d_dx1_u``) on the subdomain of the constraint that
first needs it. Residuals are rewritten after submodels are expanded, so derivatives of
submodels are covered too. ``record_first_order`` marks a project so every later load rewrites it.
"""

from __future__ import annotations

from pathlib import Path

import sympy
from sympy import Derivative
from sympy.core.function import AppliedUndef

from .entities import Constraint, Subdomain
from .problem import Problem

MARKER = Path(".mtc") / "only-first-order-ufunc"  # present: the project uses the rewritten form

Counts = tuple[tuple[str, int], ...]


def is_recorded(project: Path) -> bool:
    """Whether the project has been switched to the first-order form."""
    return (Path(project) / MARKER).is_file()


def record_first_order(project: Path) -> None:
    """Switch the project to the first-order form for every later command."""
    path = Path(project) / MARKER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("networks are differentiated once (mtc --only-first-order-ufunc)\n")


def derivative_name(output: str, counts: Counts) -> str:
    """MTC's name of the network output standing for a derivative: ``d_dx1_dy1_u``."""
    return "d_" + "_".join(f"d{v}{n}" for v, n in counts) + f"_{output}"


class _Rewriter:
    """Adds the derivative networks and compatibility constraints of one problem as they are needed."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.functions: dict[tuple[str, Counts], AppliedUndef] = {}
        self.added: list[Constraint] = []

    def function(self, output: str, counts: Counts, subdomain: Subdomain, owner: str) -> sympy.Expr:
        """The function standing for d^counts output (the output itself for no counts)."""
        net = self.problem.network_of(output)
        if not counts:
            return net.functions[net.outputs.index(output)]
        key = (output, counts)
        if key not in self.functions:
            name = derivative_name(output, counts)
            _, (new,) = self.problem.add_neural_network(name=f"{name}NN", inputs=net.inputs, outputs=[name])
            self.functions[key] = new
            lower, variable = _lower(counts)
            below = self.derivative_of(output, lower, variable, subdomain, owner)
            equation = sympy.Eq(below, new)
            name = f"{owner}{sum(1 for c in self.added if c.name.startswith(owner)) + 1}"
            self.added.append(Constraint(name, equation, subdomain, new - below))
        return self.functions[key]

    def derivative_of(self, output: str, counts: Counts, variable: str, subdomain: Subdomain, owner: str) -> sympy.Expr:
        """d/d variable of the function for ``counts``: a first derivative of a network output."""
        inner = self.function(output, counts, subdomain, owner)
        return Derivative(inner, sympy.Symbol(variable))

    def rewrite(self, expr: sympy.Expr, subdomain: Subdomain, owner: str) -> sympy.Expr:
        """``expr`` with every derivative of order >= 2 of a network output replaced."""
        mapping, submodels = {}, self.problem.submodels
        for d in sorted(expr.atoms(Derivative), key=sympy.default_sort_key):
            if not isinstance(d.expr, AppliedUndef) or d.derivative_count < 2 or d.expr.func.__name__ in submodels:
                continue  # a submodel's derivatives are rewritten in the expanded residual
            counts = tuple(sorted((str(v), int(n)) for v, n in d.variable_count))
            lower, variable = _lower(counts)
            mapping[d] = self.derivative_of(d.expr.func.__name__, lower, variable, subdomain, owner)
        return expr.xreplace(mapping) if mapping else expr


def _lower(counts: Counts) -> tuple[Counts, str]:
    """``counts`` less one derivative in its last variable, and that variable."""
    variable, n = counts[-1]
    lower = counts[:-1] + (((variable, n - 1),) if n > 1 else ())
    return lower, variable


def only_first_order(problem: Problem) -> Problem:
    """Rewrite ``problem`` in place (see the module docstring) and return it."""
    rewriter = _Rewriter(problem)
    rewritten: dict[str, Constraint] = {}
    for constraint in problem.constraints.values():
        start = len(rewriter.added)
        sd, name = constraint.subdomain, constraint.name
        residual = rewriter.rewrite(constraint.residual, sd, name)
        integrands = tuple(rewriter.rewrite(f, sd, name) for f in constraint.integrands)
        equation = sympy.Eq(rewriter.rewrite(constraint.equation.lhs, sd, name), rewriter.rewrite(constraint.equation.rhs, sd, name))
        rewritten[name] = Constraint(name, equation, sd, residual, integrands)
        for added in rewriter.added[start:]:
            problem._check_constraint_name(added.name)
            rewritten[added.name] = added
    problem._constraints = rewritten
    problem.first_order = True
    return problem
