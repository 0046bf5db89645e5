"""Stage kinds and the rules that come with them; light (no torch), for the CLI, the store API and the trainer.

* ``standard``: a training branch, or a child continuing from its parent's weights.
* ``correction``: a child that freezes its parent's model and adds, for each network output,
  ``eps * u_corr`` (Wang & Lai 2024, multi-stage neural networks); see docs/architecture.md.
* ``prune``: a child of a KAN stage that removes its parent's small hidden nodes and edges
  (``nets.<NET>.node_th``, ``edge_th``) and trains on (engine.train.kan_stage).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STAGE_KINDS = ("standard", "correction", "prune")
GAUSS_NEWTON = ("lm", "engd")  # optimizer names that need float64

__all__ = [
    "STAGE_KINDS", "correction_brief", "correction_defaults", "describe_correction", "describe_prune",
    "float32_warning", "precision_warning", "prune_refusal",
]  # fmt: skip


def float32_warning(stage: str) -> str:
    """The warning for a correction stage set to train in float32."""
    return (
        f"correction stage {stage!r} trains in float32: its rounding error (~1e-7 relative) is about the "
        "size of the corrections, so it cannot get below ~1e-7; set training.precision=float64"
    )


def precision_warning(stage: str, kind: str, config: Mapping[str, Any]) -> str | None:
    """A warning when a stage's settings defeat their purpose (a float32 correction or Gauss-Newton stage), else None."""
    if config["training"]["precision"] == "float64":
        return None
    if kind == "correction":
        return float32_warning(stage)
    if config["optimizer"]["name"] in GAUSS_NEWTON or config["training"].get("then_lm_steps"):
        return (
            f"stage {stage!r} trains with a Gauss-Newton optimizer (lm/engd) in float32: it solves J^T J, whose "
            "condition number is the square of J's, so float32 rounding (~1e-7) limits it long before it "
            "converges; set training.precision=float64"
        )
    return None


def correction_defaults(networks: Mapping[str, Any]) -> dict[str, Any]:
    """Settings a new correction child starts with (before the user's own): float64, every network corrected."""
    return {"training.precision": "float64", **{f"nets.{name}.trainable": True for name in networks}}


def describe_correction(record: Mapping[str, Any]) -> list[str]:
    """One line per corrected output (and per warning) for logs and ``mtc show training``."""
    lines = [
        f"{out}: eps = {e['eps']:.3e}, f_d = {e['f_d']:.4g} (sigma = 2 pi f_d = {e['sigma']:.4g}"
        + (f"; the residual's own peak: {e['f_residual']:.4g}" if e.get("f_residual") is not None else "") + "), "
        f"residual RMS = {e['residual_rms']:.3e} of {e['constraint'] or '-'} (order {e['order']}, "
        f"coefficient {e['coefficient']:.3g}); {e['method']}"
        + (f"; its correction is times phi (RMS {e['phi_rms']:.3g}), so it is scaled by eps / RMS(phi)" if "phi_rms" in e else "")
        for out, e in record.get("outputs", {}).items()
    ]
    lines += [
        f"{name}: loss weight x {w['factor']:.3e} (an error of eps shows in it as a residual of {w['residual_scale']:.3e}; "
        f"its residual implies an error of {w['implied_error']:.3e})"
        for name, w in record.get("weights", {}).items()
    ]
    lines += [f"{name}: batch of {b['used']} points ({b['note']})" for name, b in record.get("batch", {}).items()]  # correction_batch
    lines += [f"{name}: not corrected (nets.{name}.trainable is false)" for name in record.get("uncorrected", [])]
    guard = record.get("guard") or {"criterion": "loss on fresh points"}  # engine.train.correction_guard
    if "scale" in record:
        scaled = "; eps above is scaled" if record["scale"] != 1.0 else ""
        lines.append(f"kept at scale {record['scale']:g} of the trained correction (judged by the {guard['criterion']}{scaled})")
    return lines + [f"warning: {w}" for w in record.get("warnings", [])]


def correction_brief(record: Mapping[str, Any] | None) -> str:
    """``u: eps 4.0e-04, f_d 1`` per corrected output, or what happens before the stage starts."""
    if not record:
        return "eps and f_d are computed from its parent's residual when it starts"
    return "; ".join(f"{out}: eps {e['eps']:.1e}, f_d {e['f_d']:.3g}" for out, e in record.get("outputs", {}).items())


def prune_refusal(config: Mapping[str, Any], parent: str) -> str | None:
    """Why a prune child cannot prune ``parent`` (its ``config`` has no trainable KAN), else None."""
    if any(net.get("arch") == "kan" and net["trainable"] for net in config["nets"].values()):
        return None
    return (
        f"a prune stage removes KAN nodes and edges, but {parent!r} trains no KAN network (nets.<NET>.arch=kan, "
        "trainable): make a standard child (`--kind standard`), or prune a KAN stage"
    )


def describe_prune(record: Mapping[str, Any] | None) -> list[str]:
    """One line per pruned network: parameters, widths and edges before and after, or what happens when it starts."""
    if not record or "pruned" not in record:
        return ["the parent's KAN nodes and edges below node_th and edge_th are removed when it starts"]
    return [
        f"{name}: {p['before']['parameters']:,} -> {p['after']['parameters']:,} parameters, hidden widths "
        f"{p['before']['width']} -> {p['after']['width']}, edges {p['before']['edges']} -> {p['after']['edges']} "
        f"(node_th {p['node_th']:g}, edge_th {p['edge_th']:g})"
        for name, p in record["pruned"].items()
    ]
