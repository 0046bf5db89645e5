"""The CASCADE dialog: ``mtc stage cascade`` from the selected stage (levels, width factor, steps per level)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets

from engine.errors import MtcError
from engine.stages.cascade import MAX_LEVELS, create_cascade, parse_steps

from .dialogs import button

if TYPE_CHECKING:
    from .app import ConfiguratorApp

NO_STAGE = "select the stage to cascade from first (click it in the Stages panel)"


class CascadeDialog:
    """CASCADE: a chain of children of the selected stage, each ``factor`` times wider than the one before."""

    def __init__(self, app: ConfiguratorApp):
        self.app = app
        self.levels = widgets.BoundedIntText(value=3, min=1, max=MAX_LEVELS, description="levels", layout={"width": "160px"})
        self.factor = widgets.BoundedIntText(value=2, min=2, max=16, description="factor", layout={"width": "160px"})
        self.steps = widgets.Text(
            placeholder="e.g. 2000,2000,4000 (empty: the parent's max_steps)", description="steps", layout={"width": "420px"}
        )
        self.steps.add_class("mtc-cascade-steps")
        self.title = widgets.HTML()
        create = button("CREATE CASCADE", app.guard.wrap(self.create), "the whole chain of wider children, or none", "success")
        note = widgets.HTML("<i>each level starts from the one before (same function, Adam moments carried)</i>")
        self.widget = widgets.VBox(
            [self.title, widgets.HBox([self.levels, self.factor]), self.steps, note,
             widgets.HBox([create, button("CLOSE", self.close)])],
        )  # fmt: skip
        self.widget.add_class("mtc-cascade-dialog")
        self.close()

    def open(self) -> None:
        """Show the dialog for the selected stage."""
        if self.app.selected is None:
            raise MtcError(NO_STAGE)
        self.title.value = f"<b>Cascade from {self.app.selected}</b>: each level is a wider child of the one before"
        self.widget.layout.display = "flex"

    def close(self) -> None:
        """Hide the dialog."""
        self.widget.layout.display = "none"

    def create(self) -> str:
        """CREATE CASCADE: validate every level, then create them all (or none)."""
        parent = self.app.selected
        if parent is None:
            raise MtcError(NO_STAGE)
        created = create_cascade(self.app.book, parent, self.levels.value, self.factor.value, parse_steps(self.steps.value))
        self.close()
        self.app.select(created[-1].name)
        names = ", ".join(record.name for record in created)
        return f"created a {len(created)}-level cascade from {parent}: {names}; TRAIN the last one to train them in order"
