"""The Compare panel: the ``mtc compare`` table of every stage (click a header to sort, a row to
select its stage) and the SWEEP dialog (``mtc stage sweep`` from the selected stage)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import ipywidgets as widgets

from engine.errors import MtcError
from engine.results.compare import CompareTable, compare_stages
from engine.stages.sweep import create_sweep, parse_grid
from engine.store import StageRecord

from .compare_table import StageTable
from .dialogs import button

if TYPE_CHECKING:
    from .app import ConfiguratorApp

GRID_HINT = "one setting per line, e.g.\noptimizer.lr=1e-3,3e-3,1e-2\nnets.NN.layer_size=32,64"


class SweepDialog:
    """SWEEP: settings and their values (one ``KEY=v1,v2`` per line), children or branches, a random subset."""

    def __init__(self, app: ConfiguratorApp):
        self.app = app
        self.grid = widgets.Textarea(placeholder=GRID_HINT, rows=4, layout={"width": "420px"})
        self.grid.add_class("mtc-sweep-grid")
        self.child = widgets.Checkbox(value=False, description="children of the selected stage (continue from its weights)", indent=False)
        self.random = widgets.BoundedIntText(value=0, min=0, max=100_000, description="random", layout={"width": "170px"})
        self.seed = widgets.IntText(value=0, description="seed", layout={"width": "150px"})
        self.title = widgets.HTML()
        create = button("CREATE SWEEP", app.guard.wrap(self.create), "one new stage per combination of the values", "success")
        create.add_class("mtc-sweep-create")
        note = widgets.HTML("<i>random 0: every combination; N: N of them drawn with the seed</i>")
        self.widget = widgets.VBox(
            [self.title, self.grid, self.child, widgets.HBox([self.random, self.seed]), note,
             widgets.HBox([create, button("CLOSE", self.close)])],
        )  # fmt: skip
        self.widget.add_class("mtc-sweep-dialog")
        self.close()

    def open(self) -> None:
        """Show the dialog for the selected stage."""
        if self.app.selected is None:
            raise MtcError("select the stage to sweep from first (click it in the Stages panel)")
        self.title.value = f"<b>Sweep from {self.app.selected}</b>: every stage starts from its settings"
        self.widget.layout.display = "flex"

    def close(self) -> None:
        """Hide the dialog."""
        self.widget.layout.display = "none"

    def create(self) -> str:
        """CREATE SWEEP: validate every combination, then create the stages (all or none)."""
        source = self.app.selected
        if source is None:
            raise MtcError("select the stage to sweep from first (click it in the Stages panel)")
        lines = [line.strip() for line in self.grid.value.splitlines() if line.strip()]
        sample = self.random.value or None
        sweep = create_sweep(self.app.book, source, parse_grid(lines), self.child.value, sample, self.seed.value)
        self.close()
        self.app.refresh()
        names = [record.name for record in sweep.stages]
        return (
            f"created {sweep.name}: {len(names)} stages {names[0]} .. {names[-1]} from {source}; "
            f"train them with TRAIN, or `mtc train --all --workers 2`, and rank them with `mtc compare --sweep {sweep.name}`"
        )


class CompareView:
    """The compare table, recomputed when a stage's status, settings or errors change."""

    def __init__(self, app: ConfiguratorApp):
        self.app = app
        guard = app.guard
        self.table = StageTable(
            on_select=lambda name: guard(lambda: app.select(name)),
            on_sort=lambda column: guard(lambda: self.sort_by(column)),
        )
        self.sweep = SweepDialog(app)
        self._key: str | None = None
        self._data: CompareTable | None = None
        sweep = button("SWEEP", guard.wrap(self.sweep.open), "one new stage per combination of setting values")
        box = widgets.Box([self.table], layout={"overflow": "auto", "max_height": "360px"})
        self.widget = widgets.VBox([widgets.HBox([sweep]), self.sweep.widget, box])

    def update(self, records: Sequence[StageRecord], selected: str | None) -> None:
        """Follow the stages: a new table when one of them changed its status, settings or errors."""
        key = json.dumps(
            [[r.name, r.status, r.parent, r.config, r.errors, str(r.finished_at)] for r in records], sort_keys=True, default=str
        )
        if key != self._key:
            self._data = compare_stages(self.app.book.storage)
            self._key = key
            self._show()
        self.table.selected = selected or ""

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; the same column again reverses the order."""
        self.table.sort = f"-{column}" if self.table.sort == column else column
        self._show()

    def _show(self) -> None:
        if self._data is None:
            return
        data = self._data
        if self.table.sort.removeprefix("-") in data.columns:
            data = data.sorted_by(self.table.sort)
        self.table.show(data)
