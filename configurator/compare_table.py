"""The Compare panel's table: ``mtc compare`` in the page, sortable by a click on a column's
header, a click on a row selects its stage. Rows are sorted in Python (``CompareTable.sorted_by``);
the browser only draws them (an anywidget)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from engine.results.compare import CompareTable, format_cell


class StageTable(anywidget.AnyWidget):
    """A table of cells (strings); the front end reports ``{"event": "select", "stage": S}`` and
    ``{"event": "sort", "column": C}``."""

    _esm = """
    export default {
      render({ model, el }) {
        const draw = () => {
          const columns = model.get("columns"), rows = model.get("rows");
          const selected = model.get("selected"), sort = model.get("sort");
          const table = document.createElement("table");
          table.className = "mtc-compare-table";
          const head = table.createTHead().insertRow();
          columns.forEach((column) => {
            const th = document.createElement("th");
            const arrow = sort === column ? " ▲" : sort === "-" + column ? " ▼" : "";
            th.textContent = column + arrow;
            th.title = "sort by " + column + " (click again to reverse)";
            th.onclick = () => model.send({ event: "sort", column });
            head.appendChild(th);
          });
          const body = table.createTBody();
          rows.forEach((cells) => {
            const tr = body.insertRow();
            tr.className = "mtc-compare-row" + (cells[0] === selected ? " mtc-selected" : "");
            tr.dataset.stage = cells[0];
            tr.title = "select " + cells[0];
            tr.onclick = () => model.send({ event: "select", stage: cells[0] });
            cells.forEach((cell) => { tr.insertCell().textContent = cell; });
          });
          el.replaceChildren(table);
        };
        ["columns", "rows", "selected", "sort"].forEach((name) => model.on("change:" + name, draw));
        draw();
      }
    };
    """
    _css = """
    .mtc-compare-table { border-collapse: collapse; font-size: 12px; font-family: monospace; }
    .mtc-compare-table th, .mtc-compare-table td { border: 1px solid #e0e0e0; padding: 2px 6px; white-space: nowrap; }
    .mtc-compare-table th { background: #fafafa; cursor: pointer; position: sticky; top: 0; }
    .mtc-compare-table tr.mtc-compare-row { cursor: pointer; }
    .mtc-compare-table tr.mtc-compare-row:hover { background: #f5f5f5; }
    .mtc-compare-table tr.mtc-selected { background: #e3f2fd; }
    """
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    rows = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    sort = traitlets.Unicode("").tag(sync=True)

    def __init__(self, on_select: Callable[[str], None], on_sort: Callable[[str], None], **kwargs: Any):
        super().__init__(**kwargs)
        self._on_select, self._on_sort = on_select, on_sort
        self.on_msg(self._received)

    def _received(self, _widget: widgets.Widget, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("event") == "select" and isinstance(content.get("stage"), str):
            self._on_select(content["stage"])
        elif content.get("event") == "sort" and isinstance(content.get("column"), str):
            self._on_sort(content["column"])

    def show(self, table: CompareTable) -> None:
        """Draw ``table`` (already sorted), one string per cell."""
        with self.hold_sync():
            self.columns = list(table.columns)
            self.rows = [[format_cell(row.get(c)) for c in table.columns] for row in table.rows]
