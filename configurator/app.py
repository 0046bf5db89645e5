"""The configurator app: composes the panels, keeps the selected stage, refreshes them from the database."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from engine.errors import MtcError
from engine.stages import StageBook, runs
from engine.store import NoDatabaseError, StageRecord

from .actions import Actions
from .compare_view import CompareView
from .connection import ConnectionWatch
from .config_form import ConfigForm
from .dialogs import Guard, MessageBar, Popup, button
from .plots import LossPlot
from .poller import Poller
from .solution import SolutionView
from .stage_graph import StageGraph
from .stage_tree import StageTree
from .style import panel, stylesheet

ACTIVE = ("queued", "running")
WATCH_INTERVAL_S = 2.0  # how often an idle page looks for stages changed elsewhere (the CLI, another page)


class ConfiguratorApp:
    """The cockpit of one project: Configure, Stages, Plots and Solution panels over its stage database.

    ``deferred_plot`` builds the loss figure only once a browser has drawn the page (see
    :mod:`configurator.plots`): for pages, not for code that reads ``plot.figure`` at once.
    """

    def __init__(self, project: str | Path = ".", poll_interval: float = 1.0, deferred_plot: bool = False):
        self.project = Path(project).resolve()
        self.book = StageBook(self.project)
        self.messages = MessageBar()
        self.guard = Guard(self.messages)
        self.popup = Popup(self.guard)
        self.poller = Poller(self.tick, poll_interval, on_error=self._polling_failed)
        self.watcher = Poller(self.watch, WATCH_INTERVAL_S, on_error=self._polling_failed)
        self._seen = ""  # the stages as last shown (stage_fingerprint)
        self.selected: str | None = None
        self.actions = Actions(self)
        self.tree = StageTree(lambda name: self.guard(lambda: self.select(name)))
        self.graph = StageGraph(lambda name: self.guard(lambda: self.select(name)))
        self.tree_view = widgets.ToggleButtons(options=("list", "graph"), value="list", description="tree as")
        self.tree_view.add_class("mtc-tree-view")
        self.tree_view.observe(lambda _: self._show_tree_view(), "value")
        self.compare = CompareView(self)
        self.form = ConfigForm(
            self.book, self.guard, self.select, self.actions.new_branch, self.actions.new_child, self.actions.init_conf
        )
        self.plot = LossPlot(lambda: self.book.storage, self.guard, deferred=deferred_plot, project=self.project)
        self.solution = SolutionView(self.project, self.guard)
        self.body = widgets.VBox()
        self._panels = self._layout()
        title = widgets.HTML(f"<h3 style='margin:4px 12px 4px 0'>mtc · {html.escape(self.project.name)}</h3>")
        header = widgets.HBox([title, self.actions.header])
        parts = [stylesheet(), ConnectionWatch(), header, self.messages.widget, self.popup.widget, self.body]
        self.widget = widgets.VBox(parts)
        self.widget.add_class("mtc-app")
        self.guard(self.open_panels)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Displayed as its widget (``open_app()`` as the last line of a cell shows the app)."""
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"mtc configurator of {self.project}"
        return bundle

    def _layout(self) -> widgets.VBox:
        """Edit and watch side by side: Configure on the left; Stages and the loss plot on the right,
        so the plot is above the fold (1400x1000) next to the form; Compare and Solution below."""
        configure = panel("Configure", self.form.widget, name="configure")
        stages = panel("Stages", self.actions.toolbar, self.actions.cascade.widget, self.tree_view, self.tree.widget, self.graph, name="stages")
        self._show_tree_view()
        plots = panel("Plots", self.plot.widget, name="plots")
        configure.layout = widgets.Layout(flex="3 1 520px", min_width="520px")
        watch = widgets.VBox([stages, plots], layout={"flex": "2 1 600px", "min_width": "600px"})
        top = widgets.HBox([configure, watch], layout={"flex_flow": "row wrap", "align_items": "flex-start"})
        compare = panel("Compare", self.compare.widget, name="compare")
        solution = panel("Solution", self.solution.widget, name="solution")
        compare.layout = widgets.Layout(flex="2 1 400px", min_width="400px")
        solution.layout = widgets.Layout(flex="3 1 600px", min_width="600px")
        results = widgets.HBox([compare, solution], layout={"flex_flow": "row wrap", "align_items": "flex-start"})
        return widgets.VBox([top, results])

    def _show_tree_view(self) -> None:
        graph = self.tree_view.value == "graph"
        self.graph.layout.display = None if graph else "none"
        self.tree.widget.layout.display = "none" if graph else None

    # -- opening --------------------------------------------------------------------------

    def open_panels(self) -> None:
        """Show the panels, or say what is missing (no database yet: INIT-CONF creates it)."""
        try:
            records = self.book.stages()
        except NoDatabaseError:
            self._blocked(
                "This project has no stage database yet. INIT-CONF creates it from problem.py, "
                "with stage1 at the default settings (same as `mtc init-conf`).",
                button("INIT-CONF", self.guard.wrap(self.actions.init_conf), "create the stage database"),
            )
            return
        except MtcError as exc:
            self._blocked(str(exc), button("RELOAD", self.guard.wrap(self.open_panels), "try again"))
            return
        first_time = self.body.children != (self._panels,)
        self.body.children = (self._panels,)
        self.refresh()
        if first_time:
            shown = [r.name for r in records if r.status in ACTIVE or (r.name == self.selected and r.status != "draft")]
            self.plot.show_stages(shown)

    def _blocked(self, text: str, action: widgets.Button) -> None:
        message = widgets.HTML(f"<pre class='mtc-text' style='color:#b00020'>{html.escape(text)}</pre>")
        self.body.children = (widgets.VBox([message, action]),)

    # -- selection and refresh ------------------------------------------------------------------

    def select(self, name: str) -> None:
        """Make ``name`` the selected stage and show it everywhere."""
        self.selected = name
        self.refresh()

    def refresh(self) -> bool:
        """Re-read the stages and update every panel; returns whether a stage is queued or running."""
        records = self.book.stages()
        status = runs.status(self.book.storage)
        by_name = {record.name: record for record in records}
        self.form.forget_deleted(set(by_name))
        if self.selected not in by_name:
            self.selected = _default_selection(records)
        record = by_name.get(self.selected) if self.selected else None
        if record is None:
            self.form.show_empty()
        else:
            self.form.show(record)
        self.tree.update(records, status, self.selected, self.form.unsaved_stages())
        self.graph.update(records, self.selected)
        self.compare.update(records, self.selected)
        self.plot.update(records)
        self.solution.follow(record)
        self._seen = stage_fingerprint(records)
        self.watcher.wake()
        queued = {r.name for r in records if r.status == "queued"}
        if queued:
            self.actions.keep_worker(queued)
        busy = any(r.status in ACTIVE for r in records)
        if busy:
            self.poller.wake()
        return busy

    def tick(self) -> bool:
        """One poll (the poller calls this about every second while something trains)."""
        with self.guard.lock:
            return self.refresh()

    def watch(self) -> bool:
        """One cheap look at the stages (the watcher calls this every few seconds, also when idle): a
        refresh when they changed since last shown, e.g. a stage made or trained from the CLI. Only a
        change sends anything to the page, so an idle page's kernel stays idle."""
        with self.guard.lock:
            if stage_fingerprint(self.book.stages()) != self._seen:
                self.refresh()
        return True

    def _polling_failed(self, exc: Exception) -> None:
        with self.guard.lock:
            self.messages.show(f"live updates stopped ({exc}); they resume at the next click", "error")

    def close(self) -> None:
        """Stop polling and release the database."""
        self.poller.stop()
        self.watcher.stop()
        self.book.close()


def stage_fingerprint(records: Sequence[StageRecord]) -> str:
    """What the page shows of the stages, as one string that changes when any of it does."""
    shown = [
        [r.id, r.name, r.status, r.parent, r.kind, r.description, r.config, r.tags, r.errors, r.last_step, r.finished_at]
        for r in records
    ]
    return json.dumps(shown, sort_keys=True, default=str)


def _default_selection(records: Sequence[StageRecord]) -> str | None:
    """The first running stage, else the newest one."""
    running = [r.name for r in records if r.status == "running"]
    if running:
        return running[0]
    return max(records, key=lambda r: r.id).name if records else None


def open_app(project: str | Path = ".") -> ConfiguratorApp:
    """The configurator of ``project`` (default: the notebook's folder); as a cell's last line it is displayed.

    In a kernel that Voila preheats (``mtc serve``), the slow imports happen first and the app is
    built only once a page asks for it, so it shows the stages as they are then. The loss figure
    is built once the page has drawn the rest of the app.
    """
    if os.environ.get("VOILA_PREHEAT") == "True":
        from plotly.graph_objs import FigureWidget  # noqa: F401  (the slowest import of the app)
        from voila.utils import wait_for_request

        wait_for_request()
    return ConfiguratorApp(project, deferred_plot=True)
