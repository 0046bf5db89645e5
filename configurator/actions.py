"""What the buttons do: each one is a call into the engine, and returns the message the user sees."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import ipywidgets as widgets

from engine.errors import MtcError, ProblemError
from engine.problem import format_problem, load_problem, problem_summary
from engine.stages import format_training, runs
from engine.worker.registry import live_workers, pid_alive

from .cascade_dialog import CascadeDialog
from .dialogs import button

if TYPE_CHECKING:
    from .app import ConfiguratorApp

CANCEL_TIMEOUT_S = 20.0
"""How long CANCEL waits for a running stage's worker before killing it (as `mtc cancel --timeout`)."""


class Actions:
    """The buttons of the header (TRAINING, PROBLEM) and of the Stages panel, with their handlers."""

    def __init__(self, app: ConfiguratorApp):
        self.app = app
        self._trained_here: set[str] = set()
        self._worker: int | None = None
        self._restarted = False
        wrap = app.guard.wrap
        self.cascade = CascadeDialog(app)
        self.header = widgets.HBox(
            [
                button("TRAINING", wrap(self.show_training), "the stage tree and what each stage trains"),
                button("PROBLEM", wrap(self.show_problem), "what problem.py defines"),
            ]
        )
        self.toolbar = widgets.HBox(
            [
                button("NEW TRAINING BRANCH", wrap(self.new_branch), "a root stage with the selected stage's settings"),
                button("+CHILD STAGE", wrap(self.new_child), "a stage continuing from the selected stage's weights"),
                button(
                    "+CORRECTION STAGE", wrap(self.new_correction),
                    "a child that freezes the selected stage's model and learns eps * a correction of it",
                ),  # fmt: skip
                button("CASCADE", wrap(self.cascade.open), "a chain of ever wider children (coarse-to-fine training)"),
                button(
                    "+PRUNE STAGE", wrap(self.new_prune),
                    "a child that removes the selected KAN stage's small nodes and edges, then trains on",
                ),  # fmt: skip
                button("TRAIN", wrap(self.train), "queue the selected stage and train it in the background", "success"),
                button("CANCEL", wrap(self.cancel), "stop the selected stage (checkpointed)", "warning"),
                button("DELETE", wrap(self.delete), "delete the selected stage and its results", "danger"),
            ],
            layout={"flex_flow": "row wrap"},
        )

    # -- the stage tree -------------------------------------------------------------------

    def new_branch(self) -> str:
        """NEW TRAINING BRANCH (and COPY AS NEW BRANCH): a root stage with the selected stage's settings."""
        source = self.app.selected
        record = self.app.book.new_branch(source=source)
        self.app.select(record.name)
        origin = f"{source}'s settings" if source else "the default settings"
        return f"created {record.name}, a new training branch with {origin}: it trains from scratch"

    def new_child(self) -> str:
        """+CHILD STAGE (and COPY AS CHILD): a stage that continues from the selected stage's weights."""
        parent = self._selected()
        record = self.app.book.new_child(parent)
        self.app.select(record.name)
        return f"created {record.name}, a child of {parent}: it starts from {parent}'s final weights"

    def new_correction(self) -> str:
        """+CORRECTION STAGE: a child that freezes the selected stage's model and adds eps * u_corr per output."""
        parent = self._selected()
        record = self.app.book.new_child(parent, kind="correction")
        self.app.select(record.name)
        return (
            f"created {record.name}, a correction stage of {parent}: {parent}'s model frozen plus eps * u_corr "
            f"per network output, eps and f_d computed from {parent}'s residual when it starts (float64)"
        )

    def new_prune(self) -> str:
        """+PRUNE STAGE (`mtc stage child --kind prune`): a child that prunes the selected stage's KAN networks."""
        parent = self._selected()
        record = self.app.book.new_child(parent, kind="prune")
        self.app.select(record.name)
        return (
            f"created {record.name}, a prune stage of {parent}: {parent}'s KAN nodes and edges below "
            "nets.<NET>.node_th and edge_th are removed when it starts, then it trains on"
        )

    def delete(self) -> None:
        """DELETE: ask first (listing the child stages that go with it); refused while running."""
        name = self._selected()
        doomed = [name, *(record.name for record in self.app.book.storage.descendants(name))]
        running = [n for n in doomed if self.app.book.stage(n).status == "running"]
        if running:
            raise MtcError(f"{', '.join(running)} is running: CANCEL it first, then DELETE")
        what = f"{name} with its child stages {', '.join(doomed[1:])}, and their" if len(doomed) > 1 else f"{name} and its"
        self.app.popup.confirm(
            f"Delete {what} training results? This cannot be undone.",
            lambda: self._delete(name, recursive=len(doomed) > 1),
        )

    def _delete(self, name: str, recursive: bool) -> str:
        parent = self.app.book.stage(name).parent
        deleted = self.app.book.remove(name, recursive=recursive)
        self.app.selected = parent  # None: the refresh picks a stage
        self.app.refresh()
        return f"deleted {', '.join(reversed(deleted))}"

    # -- training -------------------------------------------------------------------------

    def train(self) -> str:
        """TRAIN: save unsaved edits, queue the stage (with unfinished ancestors), make sure a worker runs."""
        name = self.app.form.commit() if self.app.form.pending() else self._selected()
        runs.reap(self.app.book.storage)  # a stage whose worker was killed is queued again, not "already running"
        status = self.app.book.stage(name).status
        if status == "running":
            return f"{name} is already running"
        submission = runs.submit(self.app.book, [name])
        if submission.already_done:
            self.app.select(name)
            return f"{name} is already done: make a child (+CHILD STAGE) or a copy (NEW TRAINING BRANCH) to train more"
        if not submission.pending:
            self.app.select(name)
            return f"{name} is already {status}"
        self._trained_here.update(submission.pending)
        pid = runs.ensure_worker(self.app.project)  # also for stages left queued by an interrupted run
        self._worker, self._restarted = pid or self._worker, False
        self.app.plot.show_stages(submission.pending)
        self.app.select(name)
        worker = f"started the training engine (pid {pid})" if pid else "the running training engine picks it up"
        what = [f"queued {', '.join(submission.queued)}"] if submission.queued else []
        what += [f"already queued: {', '.join(submission.waiting)}"] if submission.waiting else []
        return f"{'; '.join(what)}: {worker}"

    def keep_worker(self, queued: set[str]) -> None:
        """Start the engine once more if stages TRAIN queued still wait, the worker it started has exited
        and none is alive (one that was just exiting when they were queued): at most once per TRAIN."""
        if self._restarted or not queued & self._trained_here:
            return
        if (self._worker is not None and pid_alive(self._worker)) or live_workers(self.app.project):
            return
        self._restarted = True
        self._worker = runs.ensure_worker(self.app.project) or self._worker

    def cancel(self) -> str:
        """CANCEL: a queued stage is cancelled at once; a running one stops at its next heartbeat, and its
        worker is killed (SIGTERM, then SIGKILL) if it does not within ``CANCEL_TIMEOUT_S``, as `mtc cancel` does."""
        name = self._selected()
        state = self.app.book.stage(name).status
        if state == "running":
            storage = self.app.book.storage
            threading.Thread(target=runs.cancel, args=(storage, name, CANCEL_TIMEOUT_S), daemon=True).start()
            return f"{name}: cancelling (the engine checkpoints it and stops within a few seconds)"
        if state != "queued":
            raise MtcError(f"{name} is {state}: only a queued or running stage can be cancelled")
        state = runs.cancel(self.app.book.storage, name)
        self.app.refresh()
        return f"{name} cancelled (it had not started)" if state == "cancelled" else f"{name}: {state}"

    # -- summaries and set-up ---------------------------------------------------------------

    def show_training(self) -> None:
        """TRAINING: the `mtc show training` summary."""
        self.app.popup.show_text("Training (mtc show training)", format_training(self.app.book.summary()))

    def show_problem(self) -> None:
        """PROBLEM: the `mtc show problem` summary, or the located error of problem.py."""
        try:
            text = format_problem(problem_summary(load_problem(self.app.project)))
        except ProblemError as exc:
            self.app.popup.show_text("Problem (problem.py does not load)", str(exc), error=True)
        else:
            self.app.popup.show_text("Problem (mtc show problem)", text)

    def init_conf(self) -> str:
        """INIT-CONF: create the database and stage1, or merge every stage with the edited problem.py."""
        report = self.app.book.init_conf()
        self.app.open_panels()
        if report.created is not None:
            return f"created the stage database with {report.created.name} (default settings)"
        changed = [f"{c.stage}: {c.describe()}" for c in report.changes if c]
        return "merged every stage with problem.py" + (f" ({'; '.join(changed)})" if changed else ": nothing changed")

    def _selected(self) -> str:
        if self.app.selected is None:
            raise MtcError("select a stage first (click its name in the Stages panel)")
        return self.app.selected
