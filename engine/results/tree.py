"""The stage tree as a graph: positions (branches side by side, children below their parent) and a
plotly figure with kind and status on each node (``mtc report``; the configurator's tree view)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.stages.training_summary import tree_order
from engine.store import StageRecord

if TYPE_CHECKING:
    import plotly.graph_objects as go

STATUS_COLOURS = {
    "draft": "#bdbdbd", "queued": "#90caf9", "running": "#ffb300", "done": "#66bb6a",
    "failed": "#e53935", "cancelled": "#8d6e63",
}  # fmt: skip


def tree_positions(stages: Sequence[StageRecord]) -> dict[str, tuple[float, int]]:
    """``name -> (x, depth)``: leaves on consecutive columns in tree order, a parent centred over its children."""
    ordered = tree_order(stages)
    children: dict[str, list[str]] = {}
    for record, _ in ordered:
        if record.parent is not None:
            children.setdefault(record.parent, []).append(record.name)
    positions: dict[str, tuple[float, int]] = {}
    column = 0
    for record, depth in ordered:  # leaves left to right in tree order
        if not children.get(record.name):
            positions[record.name] = (float(column), depth)
            column += 1
    for record, depth in reversed(ordered):  # children are placed before their parent
        below = children.get(record.name, [])
        if below:
            positions[record.name] = (sum(positions[c][0] for c in below) / len(below), depth)
    return positions


def node_label(record: StageRecord) -> str:
    """``name`` over ``kind · status`` (the kind only when it is not a standard stage)."""
    kind = f"{record.kind} · " if record.kind != "standard" else ""
    return f"<b>{record.name}</b><br>{kind}{record.status}"


def tree_figure(stages: Sequence[StageRecord], selected: str | None = None) -> go.Figure:
    """Nodes coloured by status, lines from parents to children, the roots on top."""
    import plotly.graph_objects as go

    positions = tree_positions(stages)
    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    for record in stages:
        if record.parent is not None:
            (x0, y0), (x1, y1) = positions[record.parent], positions[record.name]
            edge_x += [x0, x1, None]
            edge_y += [-y0, -y1, None]
    names = [record.name for record in stages]
    border = ["#000000" if name == selected else "#ffffff" for name in names]
    nodes = go.Scatter(
        x=[positions[n][0] for n in names], y=[-positions[n][1] for n in names], mode="markers+text",
        text=[node_label(r) for r in stages], textposition="bottom center", customdata=names, hoverinfo="text",
        hovertext=[f"{r.name}: {r.kind}, {r.status}" + (f", child of {r.parent}" if r.parent else ", branch") for r in stages],
        marker={"size": 22, "color": [STATUS_COLOURS.get(r.status, "#bdbdbd") for r in stages], "line": {"color": border, "width": 2}},
        showlegend=False,
    )  # fmt: skip
    edges = go.Scatter(x=edge_x, y=edge_y, mode="lines", line={"color": "#9e9e9e"}, hoverinfo="skip", showlegend=False)
    depth = max((p[1] for p in positions.values()), default=0)
    width = max((p[0] for p in positions.values()), default=0)
    figure = go.Figure([edges, nodes])
    figure.update_layout(
        template="plotly_white", height=160 + 110 * depth, margin={"l": 20, "r": 20, "t": 40, "b": 20},
        title="stage tree", xaxis={"visible": False, "range": [-0.6, width + 0.6]},
        yaxis={"visible": False, "range": [-depth - 0.6, 0.4]},
    )  # fmt: skip
    return figure
