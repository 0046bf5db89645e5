"""The stage tree drawn as a graph (parents above their children, branches side by side, kind and
status on each node, a click selects the stage): an anywidget drawing SVG from ``tree_positions``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from engine.results.tree import tree_positions
from engine.store import StageRecord

from .style import STATUS_COLOURS, css_name


class StageGraph(anywidget.AnyWidget):
    """Nodes ``{name, parent, x, depth, label, colour}``; the front end reports ``{"event": "select", "stage": S}``."""

    _esm = """
    const NS = "http://www.w3.org/2000/svg";
    const DX = 120, DY = 70, R = 9;
    function node(tag, attrs) {
      const n = document.createElementNS(NS, tag);
      Object.entries(attrs).forEach(([k, v]) => n.setAttribute(k, v));
      return n;
    }
    export default {
      render({ model, el }) {
        const draw = () => {
          const nodes = model.get("nodes"), selected = model.get("selected");
          const at = Object.fromEntries(nodes.map((n) => [n.name, [60 + n.x * DX, 20 + n.depth * DY]]));
          const width = Math.max(...nodes.map((n) => at[n.name][0]), 0) + 70;
          const height = Math.max(...nodes.map((n) => at[n.name][1]), 0) + 45;
          const svg = node("svg", { width, height, class: "mtc-stage-graph-svg" });
          nodes.filter((n) => n.parent && at[n.parent]).forEach((n) => {
            const [x0, y0] = at[n.parent], [x1, y1] = at[n.name];
            svg.appendChild(node("line", { x1: x0, y1: y0, x2: x1, y2: y1, stroke: "#9e9e9e", "stroke-width": 1.5 }));
          });
          nodes.forEach((n) => {
            const [x, y] = at[n.name];
            const g = node("g", { class: "mtc-graph-node mtc-graph-node-" + n.css, cursor: "pointer" });
            const title = node("title", {});
            title.textContent = n.tooltip;
            g.appendChild(title);
            g.appendChild(node("circle", { cx: x, cy: y, r: R, fill: n.colour,
              stroke: n.name === selected ? "#000" : "#fff", "stroke-width": n.name === selected ? 3 : 1 }));
            n.label.forEach((line, i) => {
              const t = node("text", { x, y: y + R + 13 + 12 * i, "text-anchor": "middle", "font-size": i ? 10 : 12,
                "font-weight": n.name === selected && !i ? "bold" : "normal", fill: i ? "#555" : "#000" });
              t.textContent = line;
              g.appendChild(t);
            });
            g.onclick = () => model.send({ event: "select", stage: n.name });
            svg.appendChild(g);
          });
          el.replaceChildren(svg);
        };
        model.on("change:nodes", draw);
        model.on("change:selected", draw);
        draw();
      }
    };
    """
    nodes = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)

    def __init__(self, on_select: Callable[[str], None], **kwargs: Any):
        super().__init__(**kwargs)
        self._on_select = on_select
        self.on_msg(self._received)
        self.add_class("mtc-stage-graph")

    def _received(self, _widget: widgets.Widget, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "select" and isinstance(content.get("stage"), str):
            self._on_select(content["stage"])

    def update(self, records: Sequence[StageRecord], selected: str | None) -> None:
        """Draw ``records`` (only what changed is sent to the browser)."""
        positions = tree_positions(records)
        nodes = [
            {
                "name": r.name, "parent": r.parent, "x": positions[r.name][0], "depth": positions[r.name][1],
                "css": css_name(r.name),
                "label": [r.name, f"{r.kind} · {r.status}" if r.kind != "standard" else r.status],
                "colour": STATUS_COLOURS.get(r.status, "#757575"),
                "tooltip": f"{r.name}: {r.status}" + (f", {r.kind} child of {r.parent}" if r.parent else ", branch")
                + (f" — {r.description}" if r.description else ""),
            }
            for r in records
        ]  # fmt: skip
        with self.hold_sync():
            if nodes != self.nodes:
                self.nodes = nodes
            self.selected = selected or ""
