"""The Stages panel's tree: one row per stage with connectors, status colour, progress and last loss."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from engine.kinds import correction_brief
from engine.store import StageRecord

from .style import STATUS_COLOURS, stage_class

BAR_CELLS = 10


def progress_text(status: str, step: int | None, max_steps: int) -> str:
    """``▮▮▮▮▮▮▯▯▯▯ 63% running`` (a bare status for stages that have not started)."""
    if status in ("draft", "queued") and not step:
        return status
    fraction = 1.0 if status == "done" else min(max((step or 0) / max(max_steps, 1), 0.0), 1.0)
    filled = int(fraction * BAR_CELLS + 1e-9)
    return f"{'▮' * filled}{'▯' * (BAR_CELLS - filled)} {int(fraction * 100)}% {status}"


def tree_lines(records: Sequence[StageRecord]) -> list[tuple[StageRecord, str]]:
    """Every stage in tree order (branches by id, each followed by its children) with its connector prefix."""
    children: dict[str | None, list[StageRecord]] = {}
    for record in sorted(records, key=lambda r: r.id):
        children.setdefault(record.parent, []).append(record)
    lines: list[tuple[StageRecord, str]] = []

    def walk(parent: str | None, lead: str) -> None:
        kids = children.get(parent, [])
        for index, record in enumerate(kids):
            last = index == len(kids) - 1
            connector = "" if parent is None else ("└─ " if last else "├─ ")
            lines.append((record, lead + connector))
            walk(record.name, "" if parent is None else lead + ("   " if last else "│  "))

    walk(None, "")
    return lines


class StageRow:
    """One stage: connector prefix, a button with its name and its status line; a click on either selects it."""

    def __init__(self, name: str, on_select: Callable[[str], None]):
        self.name = name
        self.prefix = widgets.HTML()
        self.prefix.add_class("mtc-tree-prefix")
        self.button = widgets.Button(description=name)
        self.button.layout.width = "auto"
        self.button.on_click(lambda _: on_select(name))
        self.status = widgets.Button(layout={"width": "auto"})  # a flat button: the status text is clickable too
        self.status.add_class("mtc-stage-status")
        self.status.on_click(lambda _: on_select(name))
        self.text = name
        self.widget = widgets.HBox([self.prefix, self.button, self.status])
        self.widget.add_class("mtc-stage-row")
        self.widget.add_class(stage_class(name))

    def update(self, prefix: str, record: StageRecord, row: Mapping[str, Any], selected: bool, unsaved: bool) -> None:
        """Show the stage's current state."""
        line = progress_text(record.status, row["step"], row["max_steps"])
        if record.kind == "correction":
            line += f" · correction ({correction_brief(record.correction)})"
        if row["loss"] is not None:
            line += f" · loss {row['loss']:.3e}"
        if row.get("unknowns"):
            line += " · " + ", ".join(f"{name} = {value:.6g}" for name, value in row["unknowns"].items())
        if record.status == "done" and record.error:
            line += f" · {record.error}"  # why it ended early (stopped: plateau at step N)
        if unsaved:
            line += " · ● unsaved"
        self.text = f"{record.name} {line}"
        colour = STATUS_COLOURS.get(record.status, "#000")
        self.prefix.value = f"<pre>{html.escape(prefix)}</pre>"
        self.status.description = line
        self.status.style.text_color = colour
        self.status.tooltip = self.button.tooltip = record.error or record.description or ""
        self.button.button_style = "info" if selected else ""
        if selected:
            self.widget.add_class("mtc-selected")
        else:
            self.widget.remove_class("mtc-selected")


class StageTree:
    """The stage tree; rows are kept across updates so an unchanged stage sends nothing to the browser."""

    def __init__(self, on_select: Callable[[str], None]):
        self.on_select = on_select
        self.rows: dict[str, StageRow] = {}
        self.widget = widgets.VBox()
        self.widget.add_class("mtc-stage-tree")

    def update(
        self,
        records: Sequence[StageRecord],
        status: Sequence[Mapping[str, Any]],
        selected: str | None,
        unsaved: set[str],
    ) -> None:
        """Redraw from the stage records and ``runs.status`` rows."""
        by_name = {row["name"]: row for row in status}
        lines = tree_lines(records)
        self.rows = {r.name: self.rows.get(r.name) or StageRow(r.name, self.on_select) for r, _ in lines}
        children = tuple(self.rows[record.name].widget for record, _ in lines)
        if children != self.widget.children:
            self.widget.children = children
        for record, prefix in lines:
            row = by_name.get(record.name, {"step": None, "max_steps": 1, "loss": None})
            self.rows[record.name].update(prefix, record, row, record.name == selected, record.name in unsaved)

    def label(self, name: str) -> str:
        """The row of ``name`` as text, e.g. ``stage1 ▮▮▮▮▮▮▯▯▯▯ 63% running · loss 1.2e-03``."""
        return self.rows[name].text
