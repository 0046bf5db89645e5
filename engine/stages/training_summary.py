"""``mtc show training``: the stage tree and what each stage will do, as data and as text.

The text follows MTC's ``show training`` (a labelled block per stage: description,
optimizer with lr and steps, networks training/frozen, constraints with batch size
and weight) and adds the tree of branches and children on top.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.config.balancing import balancing_warning
from engine.kinds import describe_correction, describe_prune, precision_warning
from engine.stages.changes import has_run
from engine.store import StageRecord

NET_FIELDS = ("trainable", "arch", "layer_size", "nr_layers", "activation")
KAN_FIELDS = ("width", "grid", "l1", "entropy")
LABEL_WIDTH = len("constraints")  # "correction" and "warning" fit too
CHANGED = "problem.py has changed since this stage ran: its settings are those it ran with"


def tree_order(stages: Sequence[StageRecord]) -> list[tuple[StageRecord, int]]:
    """``(stage, depth)`` depth-first: each branch (by id) followed by its children (by id)."""
    by_parent: dict[str | None, list[StageRecord]] = {}
    for record in sorted(stages, key=lambda record: record.id):
        by_parent.setdefault(record.parent, []).append(record)
    ordered: list[tuple[StageRecord, int]] = []
    pending = [(record, 0) for record in reversed(by_parent.get(None, []))]
    while pending:
        record, depth = pending.pop()
        ordered.append((record, depth))
        pending.extend((child, depth + 1) for child in reversed(by_parent.get(record.name, [])))
    return ordered


def training_summary(
    stages: Sequence[StageRecord], learned: Mapping[str, Mapping[str, float]] | None = None, problem: str | None = None
) -> dict[str, Any]:
    """JSON-ready ``{"stages": [...]}`` in tree order (see ``stage_summary``); ``learned``: each stage's
    latest values of its unknown constants; ``problem``: the hash of problem.py now."""
    children: dict[str, list[str]] = {}
    for record in stages:
        if record.parent is not None:
            children.setdefault(record.parent, []).append(record.name)
    return {
        "stages": [
            stage_summary(record, depth, children.get(record.name, []), (learned or {}).get(record.name, {}), problem)
            for record, depth in tree_order(stages)
        ]
    }


def stage_summary(
    record: StageRecord,
    depth: int,
    children: Sequence[str],
    learned: Mapping[str, float] | None = None,
    problem: str | None = None,
) -> dict[str, Any]:
    """One stage: place in the tree, status, steps, optimizer, scheduler, networks, constraints, data."""
    config = record.config
    changed = problem is not None and has_run(record) and record.problem_hash != problem
    warnings = [w for w in (precision_warning(record.name, record.kind, config), balancing_warning(record.name, config), changed and CHANGED) if w]
    return {
        "name": record.name,
        "parent": record.parent,
        "kind": record.kind,
        "children": list(children),
        "depth": depth,
        "status": record.status,
        "description": record.description,
        "max_steps": config["training"]["max_steps"],
        "then_lbfgs_steps": config["training"].get("then_lbfgs_steps", 0),
        "precision": config["training"]["precision"],
        "optimizer": dict(config["optimizer"]),
        "scheduler": dict(config["scheduler"]),
        "networks": {
            name: {key: net[key] for key in (*NET_FIELDS, *KAN_FIELDS) if key in net} for name, net in config["nets"].items()
        },
        "constraints": {name: dict(settings) for name, settings in config["constraints"].items()},
        "data": {name: dict(settings) for name, settings in config["data"].items()},
        "unknowns": {
            name: {**settings, "value": (learned or {}).get(name)} for name, settings in config.get("unknowns", {}).items()
        },
        "correction": record.correction,
        "problem_changed": changed,
        "warnings": warnings,
    }


def format_training(summary: Mapping[str, Any]) -> str:
    """The text of ``mtc show training`` for a ``training_summary``."""
    stages = summary["stages"]
    if not stages:
        return "no stages: run `mtc init-conf`\n"
    lines = ["Stage tree (top-level stages are training branches, indented ones their children):"]
    for stage in stages:
        about = f"  {stage['description']}" if stage["description"] else ""
        kind = f" ({stage['kind']})" if stage.get("kind") in ("correction", "prune") else ""
        changed = "  (problem.py changed since it ran)" if stage.get("problem_changed") else ""
        lines.append(f"{'  ' * (stage['depth'] + 1)}{stage['name']}{kind}  [{stage['status']}]{changed}{about}")
    for stage in stages:
        lines += ["", *_stage_block(stage)]
    return "\n".join(lines) + "\n"


def _stage_block(stage: Mapping[str, Any]) -> list[str]:
    correction = stage.get("kind") == "correction"
    role = stage.get("kind") if stage.get("kind") in ("correction", "prune") else "child"
    where = f"{role} of {stage['parent']}" if stage["parent"] else "training branch"
    optimizer = stage["optimizer"]
    scheduler = ", ".join(f"{key} = {value}" for key, value in stage["scheduler"].items() if key != "name")
    lines = [f"{stage['name']} ({where}, {stage['status']}) " + "-" * 40]
    lines += _labelled("description", [stage["description"] or "(none)"])
    then = stage.get("then_lbfgs_steps", 0)
    lines += _labelled(
        "optimizer",
        [f"{optimizer['name']}, lr = {optimizer['lr']}, steps = {stage['max_steps']:,}"
         + (f", then {then:,} L-BFGS steps" if then else "")],
    )  # fmt: skip
    if correction:
        record = stage.get("correction")
        rows = describe_correction(record) if record else [
            f"u = u_{stage['parent']} (frozen) + eps * u_corr per output; eps and f_d are computed when it starts"
        ]
        lines += _labelled("correction", rows)
    if stage.get("kind") == "prune":
        lines += _labelled("pruned", describe_prune(stage.get("correction")))
    for warning in stage.get("warnings", []):
        lines += _labelled("warning", [warning])
    lines += _labelled("scheduler", [stage["scheduler"]["name"] + (f", {scheduler}" if scheduler else "")])
    lines += _labelled("networks", [_network(name, net, correction) for name, net in stage["networks"].items()])
    lines += _labelled("constraints", [_constraint(name, c) for name, c in stage["constraints"].items()])
    lines += _labelled("data", [_constraint(name, d) for name, d in stage["data"].items()])
    if stage.get("unknowns"):
        lines += _labelled("unknowns", [_unknown(name, u) for name, u in stage["unknowns"].items()])
    return lines + ["=" * 40]


def _labelled(label: str, rows: Sequence[str]) -> list[str]:
    rows = list(rows) or ["(none)"]
    first = f"[{label.rjust(LABEL_WIDTH)}] {rows[0]}"
    return [first, *(" " * (LABEL_WIDTH + 3) + row for row in rows[1:])]


def _network(name: str, net: Mapping[str, Any], correction: bool = False) -> str:
    state = "[training]" if net["trainable"] else "[frozen]  "
    shape = f"{net['layer_size']}x{net['nr_layers']}, {net['activation']}"
    if net["arch"] == "kan":
        sparsity = ", ".join(f"{key} = {net[key]}" for key in ("l1", "entropy") if net[key])
        shape = f"hidden widths {net['width'] or [net['layer_size']] * net['nr_layers']}, grid {net['grid']}, {net['activation']}"
        shape += f"; {sparsity}" if sparsity else ""
    if correction:
        if not net["trainable"]:
            return f"{state} {name}: the parent's, not corrected"
        return f"{state} {name}: parent frozen + eps * correction per output (Fourier features, sigma = 2 pi f_d; {shape})"
    return f"{state} {name}: {net['arch']} {shape}"


def _unknown(name: str, settings: Mapping[str, Any]) -> str:
    value = "not trained yet" if settings["value"] is None else f"{settings['value']:.8g}"
    state = "[training]" if settings["trainable"] else "[frozen]  "
    return f"{state} {name} = {value}" + (f" | lr_scale = {settings['lr_scale']}" if settings["lr_scale"] != 1 else "")


def _constraint(name: str, settings: Mapping[str, Any]) -> str:
    if not settings["include"]:
        return f"{name} | excluded"
    return f"{name} | batch_size = {settings['batch_size']:,} | weight = {settings['weight']}"
