"""A plain description of a Problem: JSON-ready dict and its text rendering."""

from __future__ import annotations

from typing import Any

from .problem import Problem
from .unknowns import bounds_text


def _params(spec: dict) -> dict[str, Any]:
    return {str(k): list(v) if isinstance(v, tuple) else v for k, v in spec.items()}


def problem_summary(problem: Problem) -> dict[str, Any]:
    """Networks, variables, submodels, geometries, subdomains, constraints and model of a problem."""
    model = problem.model
    return {
        "name": problem.name,
        "form": "only first-order derivatives of networks (--only-first-order-ufunc)" if problem.first_order else "as written",
        "variables": list(problem.variables),
        "networks": {
            n.name: {"inputs": list(n.inputs), "outputs": list(n.outputs)} for n in problem.networks.values()
        },
        "submodels": {s.name: str(s.expression) for s in problem.submodels.values()},
        "geometries": {g.name: g.describe() for g in problem.geometries.values()},
        "subdomains": {
            s.name: {
                "kind": s.kind,
                "geometry": s.geometry.name,
                "params": _params(s.params),
                "criteria": None if s.criteria is None else str(s.criteria),
            }
            for s in problem.subdomains.values()
        },
        "constraints": {
            c.name: {
                "equation": f"{c.equation.lhs} = {c.equation.rhs}",
                "residual": str(c.residual),
                "subdomain": c.subdomain.name,
                "kind": c.subdomain.kind,
            }
            for c in problem.constraints.values()
        },
        "data_constraints": {
            d.name: {"model": str(d.model), "file": str(d.path), "columns": [*d.inputs, d.target], "rows": d.rows}
            for d in problem.data_constraints.values()
        },
        "unknowns": {u.name: {"initial": u.initial, "bounds": list(u.bounds)} for u in problem.unknowns.values()},
        "model": None
        if model is None
        else {"name": model.name, "pieces": [{"func": str(p.function), "on": str(p.condition)} for p in model.pieces]},
    }


def _arg(text: str) -> str:
    """A geometry argument as written: numbers short (0.5, not 0.500000000000000)."""
    try:
        return f"{float(text):g}"
    except ValueError:
        return text


def _rotation(geometry: dict[str, Any]) -> str:
    """`` rotate=(angle, 'axis') about center`` for a rotated geometry, else nothing."""
    turn = geometry.get("rotate")
    if not turn:
        return ""
    return f" rotate=({_arg(turn['angle'])}, '{turn['axis']}') about {turn['center']}"


def _section(title: str, lines: list[str]) -> list[str]:
    return [title, "-" * len(title), *(lines or ["(none)"]), ""]


def format_problem(summary: dict[str, Any]) -> str:
    """Render :func:`problem_summary` as the text ``mtc show problem`` prints."""
    variables = ", ".join(summary["variables"])
    out = [f"PINN problem: {summary['name']}", f"variables: {variables}", f"form: {summary['form']}", ""]
    out += _section(
        f"Neural networks ({len(summary['networks'])})",
        [f"  {n}: ({', '.join(d['inputs'])}) -> ({', '.join(d['outputs'])})" for n, d in summary["networks"].items()],
    )
    out += _section(
        f"Submodels ({len(summary['submodels'])})", [f"  {n} = {e}" for n, e in summary["submodels"].items()]
    )
    out += _section(
        f"Geometries ({len(summary['geometries'])})",
        [
            f"  {n}: {d['type']}({', '.join(f'{k}={_arg(v)}' for k, v in d['args'].items())}){_rotation(d)}"
            for n, d in summary["geometries"].items()
        ],
    )
    sub_lines = []
    for n, d in summary["subdomains"].items():
        extra = "".join(
            f" {label}={value}" for label, value in (("params", d["params"]), ("criteria", d["criteria"])) if value
        )
        sub_lines.append(f"  {n}: {d['kind']} of {d['geometry']}{extra}")
    out += _section(f"Subdomains ({len(summary['subdomains'])})", sub_lines)
    out += _section(
        f"Constraints ({len(summary['constraints'])})",
        [f"  {n}: {d['equation']}   [on {d['kind']} {d['subdomain']}]" for n, d in summary["constraints"].items()],
    )
    out += _section(
        f"Data constraints ({len(summary['data_constraints'])})",
        [f"  {n}: {d['model']} from {d['file']} ({d['rows']} rows)" for n, d in summary["data_constraints"].items()],
    )
    out += _section(
        f"Unknowns ({len(summary['unknowns'])})",
        [f"  {n}: initial {u['initial']:g}, bounds {bounds_text(u['bounds'])}" for n, u in summary["unknowns"].items()],
    )
    model = summary["model"]
    model_lines = [] if model is None else [f"  {model['name']} = {p['func']}  if  {p['on']}" for p in model["pieces"]]
    out += _section("Model", model_lines)
    return "\n".join(out).rstrip() + "\n"

