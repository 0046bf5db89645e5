"""The Problem that a project's ``problem.py`` fills through MTC's API (``p.add_...``)."""

from __future__ import annotations

import contextvars
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np
import sympy
from sympy import Derivative, Function, Symbol
from sympy.core.function import AppliedUndef
from sympy.core.relational import Relational
from sympy.logic.boolalg import Boolean

from ..errors import ProblemError
from . import geometry as geo
from .geometry.custom import CustomGeometry, module_file
from .geometry.sdf_derivatives import WithSdfDerivatives
from .geometry.stl import geometry_from_stl
from .geometry.warp_sdf import WarpGeometry
from .datafiles import column_names
from .entities import (
    Constraint,
    DataConstraint,
    ModelPiece,
    NeuralNetwork,
    PiecewiseModel,
    Subdomain,
    SubdomainKind,
    Submodel,
)
from .integrals import placeholders, split_integrals
from .names import check_identifier
from .reference import Reference, declare_reference
from .sampling import ParamSpec, parse_params, sample_subdomain
from .symbols import BOUNDARY_EXTRAS, INTERIOR_EXTRAS
from .unknowns import Unknown, make_unknown

if TYPE_CHECKING:
    from ..config.outline import ProblemOutline

# The directory of the problem.py being loaded; relative data paths resolve against it.
loading_dir: contextvars.ContextVar[Path | None] = contextvars.ContextVar("loading_dir", default=None)

_PROBE_POINTS = 256


def enforce(equation: Any = None, on_domain: Any = None) -> dict[str, Any]:
    """Pair an equation with the subdomain it holds on (MTC's ``enforce``)."""
    return {"equation": equation, "on_domain": on_domain}


class Problem:
    """A PINN problem: networks, submodels, geometries, subdomains, constraints and a model."""

    def __init__(self, name: str = "PINN problem", cfg: Any = None):
        self.name = name
        self.base_dir = loading_dir.get() or Path.cwd()
        self._vars: dict[str, Symbol] = {}
        self._nns: dict[str, NeuralNetwork] = {}
        self._outputs: dict[str, NeuralNetwork] = {}
        self._submodels: dict[str, Submodel] = {}
        self._geom: dict[str, geo.Geometry] = {}
        self._geom_params: dict[str, ParamSpec] = {}
        self._subdomains: dict[str, Subdomain] = {}
        self._constraints: dict[str, Constraint] = {}
        self._data_constraints: dict[str, DataConstraint] = {}
        self._model: PiecewiseModel | None = None
        self._unknowns: dict[str, Unknown] = {}
        self.first_order = False  # rewritten by --only-first-order-ufunc (engine.problem.first_order)
        self._reference: Reference | None = None

    # ------------------------------------------------------------------ read access
    @property
    def variables(self) -> dict[str, Symbol]:
        return dict(self._vars)

    @property
    def networks(self) -> dict[str, NeuralNetwork]:
        return dict(self._nns)

    @property
    def submodels(self) -> dict[str, Submodel]:
        return dict(self._submodels)

    @property
    def geometries(self) -> dict[str, geo.Geometry]:
        return dict(self._geom)

    @property
    def subdomains(self) -> dict[str, Subdomain]:
        return dict(self._subdomains)

    @property
    def constraints(self) -> dict[str, Constraint]:
        return dict(self._constraints)

    @property
    def data_constraints(self) -> dict[str, DataConstraint]:
        return dict(self._data_constraints)

    @property
    def model(self) -> PiecewiseModel | None:
        return self._model

    @property
    def unknowns(self) -> dict[str, Unknown]:
        return dict(self._unknowns)

    @property
    def reference(self) -> Reference | None:
        """What the answer should be (``set_reference``), or None."""
        return self._reference

    def network_of(self, output: str) -> NeuralNetwork:
        """The network that produces ``output``."""
        return self._outputs[output]

    # ------------------------------------------------------------------ networks and models
    def add_neural_network(
        self, name: str = "", nn_type: str = "", inputs: Iterable[str] = (), outputs: Iterable[str] = ()
    ) -> tuple[list[Symbol], list[AppliedUndef]]:
        """Declare a network; returns its input symbols and its output functions."""
        check_identifier("network", name)
        if name in self._nns:
            raise ProblemError(f"network {name!r} is defined twice: give each network its own name")
        inputs, outputs = [str(v) for v in inputs], [str(v) for v in outputs]
        if not inputs or not outputs:
            raise ProblemError(f"network {name!r} needs at least one input and one output")
        for kind, names in (("input", inputs), ("output", outputs)):
            for v in names:
                check_identifier(f"network {name!r} {kind}", v)
            if len(set(names)) != len(names):
                raise ProblemError(f"network {name!r} lists an {kind} twice: {names}")
        for out in outputs:
            self._check_free_name(out, f"output {out!r} of network {name!r}")
            if out in self._vars or out in inputs:
                raise ProblemError(f"output {out!r} of network {name!r} is already a variable name")
        for v in inputs:
            if v in self._outputs or v in self._submodels or v in self._unknowns:
                raise ProblemError(f"input {v!r} of network {name!r} is already a function or unknown name")
            self._vars.setdefault(v, Symbol(v))
        symbols = [self._vars[v] for v in inputs]
        functions = [Function(out)(*symbols) for out in outputs]
        net = NeuralNetwork(name, tuple(inputs), tuple(outputs), tuple(functions))
        self._nns[name] = net
        for out in outputs:
            self._outputs[out] = net
        return symbols, functions

    def add_submodel(self, name: str, expr: Any) -> AppliedUndef:
        """Name an expression of network outputs; returns a function usable in equations."""
        check_identifier("submodel", name)
        self._check_free_name(name, f"submodel {name!r}")
        expression = sympy.sympify(expr)
        expanded = self.expand(expression)
        self._check_functions(expanded, f"submodel {name!r}")
        used = {str(s) for s in expanded.free_symbols}
        args = [s for v, s in self._vars.items() if v in used] or list(self._vars.values())
        function = Function(name)(*args)
        self._submodels[name] = Submodel(name, expression, expanded, function)
        return function

    def set_model(self, name: str, func_on_list: list[Mapping[str, Any]]) -> None:
        """Define the piecewise model used at inference: ``[{"func": f, "on": cond}, ...]``."""
        check_identifier("model", name)
        if not func_on_list:
            raise ProblemError(f"model {name!r} needs at least one {{'func': ..., 'on': ...}} piece")
        pieces = []
        for i, piece in enumerate(func_on_list):
            if not isinstance(piece, Mapping) or set(piece) != {"func", "on"}:
                raise ProblemError(f"model {name!r} piece {i} must be a dict with keys 'func' and 'on'")
            function = sympy.sympify(piece["func"])
            expanded = self.expand(function)
            self._check_functions(expanded, f"model {name!r}")
            condition = sympy.sympify(piece["on"])
            self._check_symbols(condition, set(self._vars), f"condition of model {name!r} piece {i}")
            pieces.append(ModelPiece(function, expanded, condition))
        self._model = PiecewiseModel(name, tuple(pieces))

    def add_unknown(self, name: str, initial: Any = 1.0, bounds: Any = None) -> Symbol:
        """A constant the stage learns (inverse problems); returns its symbol, usable in any expression.

        ``bounds=(lo, hi)`` (either side may be None) is kept by a smooth reparametrisation.
        """
        check_identifier("unknown", name)
        self._check_free_name(name, f"unknown {name!r}")
        if name in self._vars:
            raise ProblemError(f"unknown {name!r}: the name is already a variable")
        unknown = make_unknown(name, initial, bounds)
        self._unknowns[name] = unknown
        return unknown.symbol

    # ------------------------------------------------------------------ geometry
    def _add_geometry(self, name: str, make: Any, params: Mapping | None, *args: Any) -> geo.Geometry:
        check_identifier("geometry", name)
        if name in self._geom:
            raise ProblemError(f"geometry {name!r} is defined twice: give each geometry its own name")
        try:
            shape = make(name, *args)
        except (TypeError, ValueError) as exc:
            raise ProblemError(f"geometry {name!r}: {exc}") from None
        self._geom[name] = shape
        self._geom_params[name] = self._param_spec(params, f"geometry {name!r}")
        return shape

    def _rotated(self, shape: geo.Geometry, rotate: Any) -> geo.Geometry:
        if rotate is None:
            return shape
        args = tuple(rotate) if isinstance(rotate, (tuple, list)) else (rotate,)
        rotated = geo.rotate(shape, *args)
        self._geom[shape.name] = rotated
        return rotated

    def Line1D(self, name: str, a: Any, b: Any, params: Mapping | None = None) -> geo.Geometry:
        return self._add_geometry(name, geo.Line1D, params, a, b)

    def Point1D(self, name: str, a: Any, params: Mapping | None = None) -> geo.Geometry:
        return self._add_geometry(name, geo.Point1D, params, a)

    def Rectangle(self, name: str, a: Any, b: Any, params: Mapping | None = None, rotate: Any = None) -> geo.Geometry:
        return self._rotated(self._add_geometry(name, geo.Rectangle, params, a, b), rotate)

    def Circle(self, name: str, a: Any, b: Any, params: Mapping | None = None, rotate: Any = None) -> geo.Geometry:
        return self._rotated(self._add_geometry(name, geo.Circle, params, a, b), rotate)

    def Polygon(self, name: str, line: Any, params: Mapping | None = None, rotate: Any = None) -> geo.Geometry:
        return self._rotated(self._add_geometry(name, geo.Polygon, params, line), rotate)

    def Channel2D(self, name: str, a: Any, b: Any, params: Mapping | None = None, rotate: Any = None) -> geo.Geometry:
        return self._rotated(self._add_geometry(name, geo.Channel2D, params, a, b), rotate)

    def Line2D(self, name: str, a: Any, b: Any, params: Mapping | None = None, rotate: Any = None) -> geo.Geometry:
        return self._rotated(self._add_geometry(name, geo.Line2D, params, a, b), rotate)

    def Box(self, name: str, a: Any, b: Any, params: Mapping | None = None, rotate: Any = None) -> geo.Geometry:
        return self._rotated(self._add_geometry(name, geo.Box, params, a, b), rotate)

    def Sphere(self, name: str, a: Any, b: Any, params: Mapping | None = None, rotate: Any = None) -> geo.Geometry:
        return self._rotated(self._add_geometry(name, geo.Sphere, params, a, b), rotate)

    def Cylinder(
        self, name: str, center: Any, radius: Any, height: Any, params: Mapping | None = None, rotate: Any = None
    ) -> geo.Geometry:
        return self._rotated(self._add_geometry(name, geo.Cylinder, params, center, radius, height), rotate)

    def _combine(self, make: Any, name: str, g: Any, og: Any) -> geo.Geometry:
        first, second = self._geometry(g, f"geometry {name!r}"), self._geometry(og, f"geometry {name!r}")
        if first.dims != second.dims:
            raise ProblemError(
                f"geometry {name!r} combines {first.name!r} ({len(first.dims)}D) "
                f"with {second.name!r} ({len(second.dims)}D): both must have the same dimension"
            )
        shape = self._add_geometry(name, make, None, first, second)
        self._geom_params[name] = {**self._geom_params[first.name], **self._geom_params[second.name]}
        return shape

    def GeometryUnion(self, name: str, g: Any, og: Any) -> geo.Geometry:
        return self._combine(geo.GeometryUnion, name, g, og)

    def GeometryDifference(self, name: str, g: Any, og: Any) -> geo.Geometry:
        return self._combine(geo.GeometryDifference, name, g, og)

    def GeometryIntersection(self, name: str, g: Any, og: Any) -> geo.Geometry:
        return self._combine(geo.GeometryIntersection, name, g, og)

    def GeometryFromSTL(self, name: str, fname: str, airtight: bool = False) -> geo.Geometry:
        """A triangle mesh from an STL file (relative to problem.py); interior sampling needs it watertight."""
        path = Path(fname)
        return self._add_geometry(name, geometry_from_stl, None, path if path.is_absolute() else self.base_dir / path, airtight)

    def CustomGeometry(self, name: str, module_path: str, class_name: str, *args: Any, **kwargs: Any) -> geo.Geometry:
        """A user class (MTC's dims / sample_interior / sample_boundary protocol) from a module beside problem.py."""
        path = module_file(self.base_dir, str(module_path))
        return self._add_geometry(name, lambda n: CustomGeometry(n, path, str(class_name), args, kwargs), None)

    def GeometryCustomWarp(
        self, name: str, code_str: str, func: str, param_list: Any, params: Mapping | None = None, bbox: Any = None
    ) -> geo.Geometry:
        """MTC's shape from a signed distance written in NVIDIA Warp (negative inside), called as ``func(p, *param_list)``.

        2D unless the problem has a variable ``z``; sampled in MTC's box [-2, 2] per axis unless ``bbox`` is given.
        """
        dims = geo.SPACE if "z" in self._vars else geo.SPACE[:2]
        return self._add_geometry(
            name, lambda n: WarpGeometry(n, dims, code_str, func, param_list, bbox), params
        )

    # ------------------------------------------------------------------ subdomains
    def add_interior_subdomain(
        self,
        name: str,
        geom: Any = None,
        params: Mapping | None = None,
        criteria: Any = None,
        compute_sdf_derivatives: bool = False,
    ) -> str:
        """Declare the interior of ``geom`` (restricted by ``criteria``) as a place to sample.

        ``compute_sdf_derivatives=True`` (MTC's) adds the columns ``sdf__x``, ``sdf__y`` (, ``sdf__z``).
        """
        return self._add_subdomain("interior", name, geom, params, criteria, compute_sdf_derivatives)

    def add_boundary_subdomain(
        self, name: str, geom: Any = None, params: Mapping | None = None, criteria: Any = None
    ) -> str:
        """Declare the boundary of ``geom`` (restricted by ``criteria``) as a place to sample."""
        return self._add_subdomain("boundary", name, geom, params, criteria)

    def _add_subdomain(
        self, kind: SubdomainKind, name: str, geom: Any, params: Any, criteria: Any, sdf_derivatives: bool = False
    ) -> str:
        check_identifier("subdomain", name)
        if name in self._subdomains:
            raise ProblemError(f"subdomain {name!r} is defined twice: subdomains must have unique names")
        if geom is None:
            raise ProblemError(f"subdomain {name!r} needs a geometry: pass geom=...")
        shape = self._geometry(geom, f"subdomain {name!r}")
        if kind == "interior" and not shape.has_interior:
            raise ProblemError(
                f"subdomain {name!r}: geometry {shape.name!r} has no interior: use add_boundary_subdomain"
            )
        spec = {**self._geom_params[shape.name], **self._param_spec(params, f"subdomain {name!r}")}
        shape = WithSdfDerivatives(shape) if sdf_derivatives else shape
        missing = {str(s) for s in shape.parameters()} - {str(s) for s in spec}
        if missing:
            raise ProblemError(
                f"subdomain {name!r}: geometry {shape.name!r} depends on {sorted(missing)}: "
                f"give a range with params={{{sorted(missing)[0]}: (lo, hi)}}"
            )
        condition = None if criteria is None else sympy.sympify(criteria)
        if condition is not None:
            self._check_symbols(condition, set(Subdomain(name, kind, shape, spec, None).columns), f"criteria of subdomain {name!r}")
        probe = sample_subdomain(shape, kind, _PROBE_POINTS, spec, condition, np.random.default_rng(0), name=name)
        self._subdomains[name] = Subdomain(name, kind, shape, spec, condition, probe)
        return name

    def get_variables(self, name: str) -> dict[str, Symbol]:
        """MTC's helper: the normal symbols available on a boundary subdomain."""
        subdomain = self._subdomain(name, "get_variables")
        if subdomain.kind != "boundary":
            raise ProblemError(f"get_variables: {name!r} is not a boundary subdomain")
        return {v: Symbol(v) for v in sorted(BOUNDARY_EXTRAS)}

    # ------------------------------------------------------------------ constraints
    def add_constraint(self, cname: str, eq_constraint: Mapping[str, Any]) -> None:
        """Enforce ``equation`` on a subdomain; the residual is ``rhs - lhs`` (as MTC)."""
        check_identifier("constraint", cname)
        self._check_constraint_name(cname)
        if not isinstance(eq_constraint, Mapping) or "equation" not in eq_constraint:
            raise ProblemError(
                f"constraint {cname!r}: pass enforce(equation=Eq(lhs, rhs), on_domain=subdomain)"
            )
        equation = eq_constraint["equation"]
        if equation is sympy.true or equation is sympy.false:
            raise ProblemError(f"constraint {cname!r}: the equation is always {equation}: nothing to enforce")
        if not isinstance(equation, sympy.Eq):
            raise ProblemError(f"constraint {cname!r}: equation must be Eq(lhs, rhs), got {equation!r}")
        subdomain = self._subdomain(eq_constraint.get("on_domain"), f"constraint {cname!r}")
        context = f"constraint {cname!r}"
        outer, integrands = split_integrals(equation.rhs - equation.lhs, subdomain.geometry.dims, context)
        residual = self.expand(outer)
        if integrands:
            integrands = tuple(self._checked(self.expand(f), subdomain, f"{context}, integrand {f}") for f in integrands)
            if residual.atoms(AppliedUndef):
                raise ProblemError(f"{context}: network outputs must be inside the Integral(...) of the equation")
            allowed = {str(s) for s in subdomain.params} | placeholders(len(integrands))
            self._check_symbols(residual, allowed, f"{context} outside its integrals")
        else:
            self._checked(residual, subdomain, context)
        self._constraints[cname] = Constraint(cname, equation, subdomain, residual, integrands)

    def _checked(self, expr: sympy.Expr, subdomain: Subdomain, context: str) -> sympy.Expr:
        """``expr`` if every function, symbol and network input it uses is available on ``subdomain``."""
        self._check_functions(expr, context)
        self._check_symbols(expr, set(subdomain.columns), f"{context} on subdomain {subdomain.name!r}")
        self._check_inputs_available(expr, subdomain, context)
        return expr

    def set_constraints(self, cdict: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace every equation constraint by those of ``cdict`` (MTC's bulk form)."""
        self._constraints.clear()
        for cname, constraint in cdict.items():
            self.add_constraint(cname, constraint)

    def add_data_constraint(self, name: str | None = None, model: Any = None, data_fname: Any = None) -> None:
        """Fit ``model`` (a network output or submodel) to the columns of a data file."""
        check_identifier("data constraint", name)
        self._check_constraint_name(name)
        if model is None or data_fname is None:
            raise ProblemError(f"data constraint {name!r} needs model=... and data_fname=...")
        model = sympy.sympify(model)
        if not isinstance(model, AppliedUndef):
            raise ProblemError(f"data constraint {name!r}: model must be a network output or a submodel")
        target = model.func.__name__
        if target not in self._outputs and target not in self._submodels:
            raise ProblemError(f"data constraint {name!r}: unknown model {target!r}")
        expanded = self.expand(model)
        inputs = tuple(v for v in self._vars if self._vars[v] in expanded.free_symbols)
        path = Path(data_fname)
        path = path if path.is_absolute() else self.base_dir / path
        columns, rows = column_names(path)
        missing = [c for c in (*inputs, target) if c not in columns]
        if missing:
            raise ProblemError(
                f"data constraint {name!r}: file {path.name!r} lacks columns {missing} "
                f"(it has {columns}); name the columns after the variables and the model"
            )
        self._data_constraints[name] = DataConstraint(name, model, expanded, target, inputs, path, rows)

    # ------------------------------------------------------------------ reference solution
    def set_reference(self, data_fname: Any = None, **expressions: Any) -> None:
        """Declare the exact answer: ``set_reference(u=sin(pi*x))`` per output, submodel or model, or
        ``set_reference(data_fname="reference.csv")`` (columns named after the variables and outputs)."""
        targets = [*self._outputs, *self._submodels, *([self._model.name] if self._model else [])]
        self._reference = declare_reference(targets, self._vars, self.base_dir, data_fname, expressions)

    # ------------------------------------------------------------------ expressions
    def expand(self, expr: Any) -> sympy.Expr:
        """Replace every submodel by its expression and evaluate the derivatives that creates."""
        expr = sympy.sympify(expr)
        mapping = {
            sub.function: sub.expanded for sub in self._submodels.values() if expr.has(sub.function)
        }
        return expr.xreplace(mapping).doit() if mapping else expr

    def _check_functions(self, expr: sympy.Basic, context: str) -> None:
        """Every function call is a network output called on its network's inputs."""
        for call in expr.atoms(AppliedUndef):
            fname = call.func.__name__
            net = self._outputs.get(fname)
            if net is None:
                raise ProblemError(f"{context} uses {fname!r}, which is neither a network output nor a submodel")
            if tuple(str(a) for a in call.args) != net.inputs or not all(isinstance(a, Symbol) for a in call.args):
                raise ProblemError(
                    f"{context} calls {fname} with {call.args}: network outputs can only be "
                    f"evaluated at their inputs {net.inputs}"
                )
        for derivative in expr.atoms(Derivative):
            if not isinstance(derivative.expr, AppliedUndef):
                raise ProblemError(f"{context}: cannot differentiate {derivative.expr}")

    def _check_symbols(self, expr: sympy.Basic, available: set[str], context: str) -> None:
        """Every symbol is a column the subdomain provides; name the first one that is not."""
        for symbol in sorted(expr.free_symbols, key=str):
            name = str(symbol)
            if name in available or name in self._unknowns:
                continue
            if name in INTERIOR_EXTRAS:
                raise ProblemError(f"{context} uses 'sdf', which only interior subdomains provide")
            if name in BOUNDARY_EXTRAS:
                raise ProblemError(f"{context} uses {name!r}, which only boundary subdomains provide")
            if name in self._vars:
                raise ProblemError(
                    f"{context} uses variable {name!r}, which the subdomain does not sample: "
                    f"add params={{{name}: (lo, hi)}} to the subdomain"
                )
            raise ProblemError(
                f"{context} uses undefined variable {name!r}: declared variables are {sorted(self._vars)}"
            )

    def _check_inputs_available(self, expr: sympy.Basic, subdomain: Subdomain, context: str) -> None:
        for call in expr.atoms(AppliedUndef):
            net = self._outputs[call.func.__name__]
            missing = [v for v in net.inputs if v not in subdomain.variables]
            if missing:
                raise ProblemError(
                    f"{context}: network {net.name!r} needs {missing}, which subdomain "
                    f"{subdomain.name!r} does not sample: add params={{{missing[0]}: (lo, hi)}} to it"
                )

    # ------------------------------------------------------------------ lookups
    def _check_free_name(self, name: str, what: str) -> None:
        if name in self._outputs or name in self._submodels or name in self._unknowns:
            raise ProblemError(f"{what}: the name {name!r} is already used by a network output, submodel or unknown")

    def _check_constraint_name(self, name: str) -> None:
        if name in self._constraints or name in self._data_constraints:
            raise ProblemError(f"constraint {name!r} is defined twice: give each constraint its own name")

    def _geometry(self, ref: Any, context: str) -> geo.Geometry:
        name = ref.name if isinstance(ref, geo.Geometry) else ref
        if not isinstance(name, str) or name not in self._geom:
            raise ProblemError(f"{context}: unknown geometry {ref!r}; defined geometries: {sorted(self._geom)}")
        return self._geom[name]

    def _subdomain(self, ref: Any, context: str) -> Subdomain:
        if not isinstance(ref, str) or ref not in self._subdomains:
            raise ProblemError(
                f"{context}: unknown subdomain {ref!r}; defined subdomains: {sorted(self._subdomains)}"
            )
        return self._subdomains[ref]

    @staticmethod
    def _param_spec(params: Mapping | None, context: str) -> ParamSpec:
        """Validate ``{symbol: (lo, hi) | value}`` into a spec keyed by symbols."""
        spec: ParamSpec = {}
        for key, value in (params or {}).items():
            symbol = Symbol(key) if isinstance(key, str) else key
            if not isinstance(symbol, Symbol):
                raise ProblemError(f"{context}: params keys must be symbols, got {key!r}")
            spec[symbol] = value
        try:
            ranges = parse_params(spec)
        except ProblemError as exc:
            raise ProblemError(f"{context}: {exc.message}") from None
        return {symbol: ranges[str(symbol)] if isinstance(spec[symbol], (tuple, list)) else ranges[str(symbol)][0] for symbol in spec}

    # ------------------------------------------------------------------ views
    def _probe(self, subdomain: Subdomain) -> dict[str, np.ndarray]:
        """The subdomain's probe points, with each unknown at its initial value."""
        size = len(subdomain.probe["area"])
        return {**subdomain.probe, **{name: np.full(size, u.initial) for name, u in self._unknowns.items()}}

    def outline(self) -> "ProblemOutline":
        """What the stage configuration needs to know: networks, constraints and their symbols."""
        from ..config.outline import ConstraintOutline, NetworkOutline, ProblemOutline
        from .hard import check_hard

        return ProblemOutline(
            networks={n: NetworkOutline(net.inputs, net.outputs) for n, net in self._nns.items()},
            constraints={
                c.name: ConstraintOutline(
                    c.subdomain.kind, c.subdomain.columns | set(self._unknowns), c.subdomain.name, self._probe(c.subdomain)
                )
                for c in self._constraints.values()
            },
            data=tuple(self._data_constraints),
            unknowns=tuple(self._unknowns),
            hard_check=partial(check_hard, self),
        )
