"""Configurator fixes found when tried as a new user would (issue 14, item 6), each checked on the
widgets: a deleted draft's edits do not come back, a branch with a frozen network says so, a child's
total without a constraint is marked, a click on a stage's status selects it, an error does not
outlive the next action, NO says that nothing happened, the wording, the loss keys and the lr axis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from configurator import ConfiguratorApp
from engine.results.curves import LossHistory, curve_specs, total_notes
from engine.stages import StageBook

from conftest import run_mtc
from test_configurator import TINY, click, heat, open_apps, type_into  # noqa: F401  (fixtures)


@pytest.fixture
def app(heat: Path, open_apps: Callable[[Path], ConfiguratorApp]) -> ConfiguratorApp:  # noqa: F811
    return open_apps(heat)


def test_a_deleted_drafts_unsaved_edits_do_not_come_back_with_its_name(app: ConfiguratorApp) -> None:
    click(app, "NEW TRAINING BRANCH")
    assert app.selected == "stage2"
    type_into(app, "optimizer.lr", "0.01")
    assert app.form.unsaved_stages() == {"stage2"}
    click(app, "DELETE")
    click(app, "YES")
    click(app, "NEW TRAINING BRANCH")  # stage2 again, from stage1's settings
    assert app.selected == "stage2" and app.form.unsaved_stages() == set()
    assert app.form.field("optimizer.lr").input.value != "0.01"
    assert "unsaved" not in app.tree.label("stage2")


def test_a_branch_with_a_frozen_network_is_flagged_where_it_is_made(app: ConfiguratorApp, heat: Path) -> None:
    with StageBook(heat) as book:
        book.new_child("stage1", "frozen", {"nets.metalNN.trainable": False})
    app.select("frozen")
    assert app.form.kind_text.layout.display == "none"  # a child may freeze a network: it starts from weights
    click(app, "NEW TRAINING BRANCH")
    assert app.form.kind_text.layout.display != "none"
    assert "network(s) metalNN are frozen" in app.form.kind_text.value and "nets.metalNN.trainable=true" in app.form.kind_text.value
    result = run_mtc("-C", str(heat), "stage", "new", "again", "--from", "frozen")
    assert result.returncode == 0 and "mtc: warning: again is a training branch" in result.stderr


def test_a_childs_total_without_a_constraint_is_not_drawn_as_its_parents_continuation() -> None:
    parent = {"constraints": {"a": {"include": True}, "b": {"include": True}}, "data": {}}
    child = {"constraints": {"a": {"include": True}, "b": {"include": False}}, "data": {}}
    notes = total_notes({"p": parent, "c": child, "d": parent}, {"p": None, "c": "p", "d": "p"})
    assert notes == {"c": "total without b"}
    histories = {name: LossHistory() for name in ("p", "c")}
    for name, history in histories.items():
        history.add([{"id": i, "key": "total", "step": i, "wall_time": i, "value": 1.0 / (i + 1)} for i in range(3)])
    specs = {s["name"]: s for s in curve_specs(histories, {"c": 3}, ["p", "c"], ["total"], "global step", total_notes=notes)}
    assert set(specs) == {"p", "c (total without b)"}
    assert specs["c (total without b)"]["line"]["dash"] == "dot" and specs["p"]["line"]["dash"] == "solid"


def test_clicking_a_stages_status_selects_it(app: ConfiguratorApp) -> None:
    click(app, "NEW TRAINING BRANCH")
    assert app.selected == "stage2"
    app.tree.rows["stage1"].status.click()
    assert app.selected == "stage1" and app.tree.rows["stage1"].status.description == "draft"


def test_an_error_is_cleared_by_the_next_action_and_no_says_nothing_happened(app: ConfiguratorApp) -> None:
    click(app, "CANCEL")  # stage1 is a draft: refused
    assert app.messages.kind == "error"
    app.tree.rows["stage1"].button.click()  # an unrelated action
    assert app.messages.text == ""
    click(app, "DELETE")
    assert app.popup.title == "Delete stage1 and its training results? This cannot be undone."
    click(app, "NO")
    assert app.messages.text == "cancelled: nothing was changed" and [r.name for r in app.book.stages()] == ["stage1"]


def test_read_only_banner_words(app: ConfiguratorApp, heat: Path) -> None:
    with StageBook(heat) as book:
        book.storage.set_status("stage1", "cancelled")
    app.select("stage1")
    assert "stage1</b> was cancelled: its settings are read-only" in app.form.banner_text.value
    with StageBook(heat) as book:
        book.storage.set_status("stage1", "done")
    app.refresh()
    assert "stage1</b> has finished training:" in app.form.banner_text.value


def test_every_loss_key_in_sight_with_a_hint_and_lr_on_its_own_axis(app: ConfiguratorApp) -> None:
    plot = app.plot
    plot.attach(800)
    history = LossHistory()
    keys = ["total", "metal_diff", "paper_diff", "interface_eq", "interface_flux", "lr"]
    history.add([{"id": i + 1, "key": k, "step": 0, "wall_time": 0.0, "value": 0.5} for i, k in enumerate(keys)])
    plot._histories["stage1"] = history
    plot._toggles["stage1"].value = True
    plot.redraw()
    assert len(plot.keys.options) == 6 and plot.keys.rows == 6 and "Ctrl/Shift-click" in plot.keys.tooltip
    plot.keys.value = ("total", "lr")
    axes = {trace.name: trace.yaxis for trace in plot.figure.data}
    assert axes == {"stage1 · total": "y", "stage1 · lr": "y2"}
    assert plot.figure.layout.yaxis2.overlaying == "y" and plot.figure.layout.yaxis2.side == "right"
    assert np.isfinite(plot.figure.data[1].y).all()


def test_a_reload_shows_the_plot_as_it_was_left(heat: Path, open_apps: Callable[[Path], ConfiguratorApp]) -> None:  # noqa: F811
    plot = open_apps(heat).plot
    history = LossHistory()
    history.add([{"id": i + 1, "key": k, "step": 0, "wall_time": 0.0, "value": 0.5} for i, k in enumerate(["total", "metal_diff"])])
    plot._histories["stage1"] = history
    plot._toggles["stage1"].value = True
    plot.x_mode.value = "wall time"
    plot.keys.value = ("total", "metal_diff")
    plot.log_y.value = False
    plot.smoothing.value = 0.6
    again = open_apps(heat).plot  # a reload: a new app on the same project
    assert again.shown == ["stage1"] and again.x_mode.value == "wall time"
    assert again.keys.value == ("total", "metal_diff") and again.log_y.value is False and again.smoothing.value == 0.6
