"""The configurator app driven directly (no browser) against real project databases.

Buttons are found by their words, as a user (and the browser tests) find them.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import pytest

from configurator import ConfiguratorApp
from configurator.beacon import RenderBeacon
from engine.results.curves import LossHistory, Series, downsample, ema
from configurator.poller import Poller
from configurator.stage_tree import progress_text, tree_lines
from configurator.style import field_class
from engine.config import describe_fields, default_config
from engine.project import create_project
from engine.stages import StageBook
from engine.worker.registry import live_workers
from engine.worker.runner import Worker
from engine.stages.runs import submit

from conftest import example_project, wait_until
from processes import stop_workers

HEAT_NETS = ("metalNN", "paperNN")
HEAT_CONSTRAINTS = ("metal_diff", "paper_diff", "interface_eq", "interface_flux")
TINY = {
    **{f"nets.{n}.layer_size": 8 for n in HEAT_NETS},
    **{f"nets.{n}.nr_layers": 2 for n in HEAT_NETS},
    **{f"constraints.{c}.batch_size": 32 for c in HEAT_CONSTRAINTS},
    "training.log_every": 5,
}


# -- helpers -------------------------------------------------------------------------------------


def walk(widget: widgets.Widget) -> Iterator[widgets.Widget]:
    """Every widget under ``widget`` (boxes and accordions)."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def visible(root: widgets.Widget, widget: widgets.Widget) -> bool:
    """Whether no box between ``root`` and ``widget`` is hidden."""

    def path(node: widgets.Widget) -> list[widgets.Widget] | None:
        if node is widget:
            return [node]
        for child in getattr(node, "children", ()):
            if (found := path(child)) is not None:
                return [node, *found]
        return None

    chain = path(root) or []
    return bool(chain) and all(getattr(w, "layout", None) is None or w.layout.display != "none" for w in chain)


def buttons(app: ConfiguratorApp, words: str) -> list[widgets.Button]:
    found = [w for w in walk(app.widget) if isinstance(w, widgets.Button) and w.description == words]
    return [w for w in found if visible(app.widget, w)]


def click(app: ConfiguratorApp, words: str) -> None:
    """Click the one visible button that says ``words``."""
    found = buttons(app, words)
    assert len(found) == 1, f"{len(found)} visible buttons say {words!r}"
    assert not found[0].disabled, f"{words} is disabled"
    found[0].click()


def with_class(app: ConfiguratorApp, css: str) -> list[widgets.Widget]:
    return [w for w in walk(app.widget) if css in getattr(w, "_dom_classes", ())]


def type_into(app: ConfiguratorApp, key: str, value: object) -> None:
    """Enter ``value`` in the field of ``key`` (text as typed, a bool in a checkbox, a choice in a dropdown)."""
    app.form.field(key).input.value = value


def add_to_problem(app: ConfiguratorApp, line: str) -> str:
    """Append ``line`` to the project's problem.py and show stage1 again; returns the file as it was."""
    path = app.project / "problem.py"
    before = path.read_text()
    path.write_text(f"{before}\n{line}\n")
    app.select("stage1")
    return before


def stored(project: Path, name: str) -> dict:
    with StageBook(project) as book:
        return book.stage(name).config


def status(project: Path, name: str) -> str:
    with StageBook(project) as book:
        return book.stage(name).status


def train_in_process(project: Path, name: str) -> None:
    with StageBook(project) as book:
        submit(book, [name])
    Worker(project).run()


# -- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def heat(tmp_path: Path) -> Path:
    return example_project(tmp_path / "heat", "heat-interface", TINY)


@pytest.fixture
def open_apps() -> Iterator[Callable[[Path], ConfiguratorApp]]:
    """Open apps on projects; on teardown close them and stop any worker they started."""
    apps: list[ConfiguratorApp] = []

    def make(project: Path) -> ConfiguratorApp:
        apps.append(ConfiguratorApp(project, poll_interval=0.2))
        return apps[-1]

    yield make
    for app in apps:
        app.close()
        stop_workers(app.project)


@pytest.fixture
def app(heat: Path, open_apps: Callable[[Path], ConfiguratorApp]) -> ConfiguratorApp:
    return open_apps(heat)


# -- layout ---------------------------------------------------------------------------------------------


def test_sections_words_and_css_classes(app: ConfiguratorApp) -> None:
    assert app.form.sections.titles == (
        "Training", "Scheduler", "Optimizer", "[metalNN] NN Architecture", "[paperNN] NN Architecture",
        "Equation Constraints", "Neural Networks",
    )  # fmt: skip
    for words in ("NEW TRAINING BRANCH", "+CHILD STAGE", "TRAIN", "CANCEL", "DELETE", "TRAINING", "PROBLEM", "SAVE"):
        assert len(buttons(app, words)) == 1, words
    assert with_class(app, "mtc-field-training-max_steps")[0].value == "1000"
    assert len(with_class(app, "mtc-stage-stage1")) == 1
    assert len(with_class(app, "mtc-loss-plot")) == 1
    assert app.tree.label("stage1") == "stage1 draft"
    assert app.messages.text == ""


def test_every_schema_field_gets_a_widget_and_variants_rebuild(app: ConfiguratorApp) -> None:
    outline, _ = app.book.problem()
    config = default_config(outline)
    for descriptor in describe_fields(outline):
        if descriptor.active(config):
            assert with_class(app, field_class(descriptor.key)), descriptor.key
    shown = lambda section: [d.key for d in app.form._section_fields[section]]  # noqa: E731
    type_into(app, "optimizer.name", "lbfgs")
    assert "optimizer.max_iter" in shown("Optimizer") and "optimizer.betas" not in shown("Optimizer")
    assert app.form.field("optimizer.lr").input.value == "1.0"  # lbfgs' own default
    type_into(app, "scheduler.name", "cosine")
    assert shown("Scheduler") == ["scheduler.name", "scheduler.t_max", "scheduler.eta_min"]
    assert app.form.field("scheduler.t_max").input.placeholder == "max_steps"
    type_into(app, "nets.metalNN.arch", "siren")
    assert "nets.metalNN.omega0" in shown("[metalNN] NN Architecture")
    assert app.form.field("nets.metalNN.activation").input.options == ("sin",)
    click(app, "SAVE")
    config = stored(app.project, "stage1")
    assert config["optimizer"]["name"] == "lbfgs" and config["scheduler"]["name"] == "cosine"
    assert config["nets"]["metalNN"]["arch"] == "siren" and config["nets"]["paperNN"]["arch"] == "fully_connected"


# -- editing and saving ------------------------------------------------------------------------------------


def test_valid_edit_is_saved_and_invalid_one_refused_at_the_field(app: ConfiguratorApp) -> None:
    type_into(app, "training.max_steps", "4000")
    assert "unsaved changes" in app.form.marker.value
    assert stored(app.project, "stage1")["training"]["max_steps"] == 1000  # nothing written before SAVE
    click(app, "SAVE")
    assert app.messages.text == "saved stage1"
    assert stored(app.project, "stage1")["training"]["max_steps"] == 4000
    assert "all changes saved" in app.form.marker.value

    for key, bad in (("training.max_steps", "-3"), ("optimizer.lr", "fast"), ("optimizer.betas", "0.9"),
                     ("constraints.metal_diff.weight", "2*foo"), ("training.device", "tpu")):  # fmt: skip
        type_into(app, key, bad)
        assert app.form.field(key).error.startswith(f"{key}:"), key
        assert app.form.field(key).input.value == bad  # the user's text stays, with the message beside it
    before = stored(app.project, "stage1")
    click(app, "SAVE")
    assert app.messages.kind == "error" and "not saved" in app.messages.text
    assert stored(app.project, "stage1") == before
    type_into(app, "training.max_steps", "4e3")  # fixed: the message goes, the value is normalised
    assert app.form.field("training.max_steps").error == ""
    assert app.form.field("training.max_steps").input.value == "4000"
    click(app, "REVERT")
    assert app.form.field("optimizer.lr").input.value == "0.005" and not app.form.pending()


def test_freeze_a_network_toggle_a_constraint_and_set_weights(app: ConfiguratorApp) -> None:
    type_into(app, "nets.metalNN.trainable", False)
    type_into(app, "constraints.interface_eq.include", False)
    type_into(app, "constraints.metal_diff.weight", "2*sdf")
    type_into(app, "constraints.paper_diff.batch_size", "64")
    type_into(app, "training.grad_clip", "1.5")
    click(app, "SAVE")
    config = stored(app.project, "stage1")
    assert config["nets"]["metalNN"]["trainable"] is False and config["nets"]["paperNN"]["trainable"] is True
    assert config["constraints"]["interface_eq"]["include"] is False
    assert config["constraints"]["metal_diff"]["weight"] == "2*sdf"
    assert config["constraints"]["paper_diff"]["batch_size"] == 64
    assert config["training"]["grad_clip"] == 1.5
    type_into(app, "training.grad_clip", "")  # empty: off (null)
    click(app, "SAVE")
    assert stored(app.project, "stage1")["training"]["grad_clip"] is None
    app.actions.show_training()
    summary = app.popup.widget.children[1].value
    assert "[frozen]   metalNN" in summary and "interface_eq | excluded" in summary


def test_branch_child_rename_and_unsaved_edits_kept_per_stage(app: ConfiguratorApp) -> None:
    type_into(app, "training.max_steps", "123")
    click(app, "SAVE")
    click(app, "NEW TRAINING BRANCH")
    assert app.selected == "stage2" and "new training branch" in app.messages.text
    assert stored(app.project, "stage2")["training"]["max_steps"] == 123  # the selected stage's settings
    click(app, "+CHILD STAGE")
    assert app.selected == "stage3"
    with StageBook(app.project) as book:
        assert book.stage("stage3").parent == "stage2"
    assert [(record.name, prefix) for record, prefix in tree_lines(app.book.stages())] == [
        ("stage1", ""), ("stage2", ""), ("stage3", "└─ ")
    ]
    assert "mtc-selected" in app.tree.rows["stage3"].widget._dom_classes
    assert "mtc-selected" not in app.tree.rows["stage1"].widget._dom_classes

    type_into(app, "optimizer.lr", "0.01")
    app.tree.rows["stage1"].button.click()  # select another stage: stage3's edit is kept, unsaved
    assert app.selected == "stage1" and app.form.field("optimizer.lr").input.value == "0.005"
    assert "● unsaved" in app.tree.label("stage3")
    app.tree.rows["stage3"].button.click()
    assert app.form.field("optimizer.lr").input.value == "0.01"
    app.form.name_input.value = "stage1"
    assert "already exists" in app.form.name_message.value
    app.form.name_input.value = "fine-tune"
    app.form.description_input.value = "lower lr"
    click(app, "SAVE")
    assert app.selected == "fine-tune" and app.messages.text == "saved fine-tune"
    with StageBook(app.project) as book:
        record = book.stage("fine-tune")
    assert (record.parent, record.description, record.config["optimizer"]["lr"]) == ("stage2", "lower lr", 0.01)
    assert len(with_class(app, "mtc-stage-fine-tune")) == 1 and not with_class(app, "mtc-stage-stage3")


def test_delete_asks_first_and_takes_the_children_along(app: ConfiguratorApp) -> None:
    click(app, "NEW TRAINING BRANCH")
    click(app, "+CHILD STAGE")
    app.select("stage2")
    click(app, "DELETE")
    assert "Delete stage2 with its child stages stage3" in app.popup.title
    click(app, "NO")
    assert [r.name for r in app.book.stages()] == ["stage1", "stage2", "stage3"]
    click(app, "DELETE")
    click(app, "YES")
    assert app.messages.text == "deleted stage2, stage3"
    assert [r.name for r in app.book.stages()] == ["stage1"] and app.selected == "stage1"
    assert list(app.tree.rows) == ["stage1"]
    click(app, "DELETE")
    click(app, "YES")
    assert app.book.stages() == [] and "No stages" in app.form.notice_text
    click(app, "NEW TRAINING BRANCH")  # from the defaults
    (record,) = app.book.stages()
    assert app.selected == record.name and record.config["nets"]["metalNN"]["layer_size"] == 512


# -- training ------------------------------------------------------------------------------------------------


def test_train_plots_growing_curves_then_cancel_copy_and_solution(
    heat: Path, open_apps: Callable[[Path], ConfiguratorApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MTC_FLUSH_S", "0.2")  # the detached worker inherits these
    monkeypatch.setenv("MTC_HEARTBEAT_S", "0.3")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # spinning torch threads crawl when other processes share the cores
    with StageBook(heat) as book:
        book.edit("stage1", {"training.max_steps": 400})
    app = open_apps(heat)
    click(app, "TRAIN")
    assert app.messages.text.startswith("queued stage1: started the training engine (pid ")
    click(app, "TRAIN")  # twice: queued once
    assert app.messages.text in (
        "already queued: stage1: the running training engine picks it up", "stage1 is already running"
    )
    assert app.poller.running and app.plot.shown == ["stage1"]

    counts: list[int] = []
    deadline = time.monotonic() + 300  # a ceiling for a loaded machine, not a speed
    while status(heat, "stage1") != "done" and time.monotonic() < deadline:
        counts.append(app.plot.points("stage1"))
        time.sleep(0.2)
    wait_until(lambda: not app.poller.running, 10, "the poller to stop by itself")
    final = app.plot.points("stage1")
    assert final == len(app.book.storage.loss_rows("stage1", keys=["total"])) > 400 // 5 and counts == sorted(counts)
    assert any(0 < c < final for c in counts), f"the curve was never seen part-drawn while training: {counts}"
    trace = next(t for t in app.plot.figure.data if t.name == "stage1")
    assert len(trace.x) == final and trace.x[-1] == 399
    assert app.plot.figure.layout.yaxis.type == "log" and app.plot.figure.layout.uirevision
    assert app.tree.label("stage1").startswith("stage1 ▮▮▮▮▮▮▮▮▮▮ 100% done · loss ")
    with StageBook(heat) as book:
        assert book.stage("stage1").attempt == 1  # TRAIN twice trained once

    # plot controls: smoothing adds a faint raw curve behind, the x axis and the loss key switch
    app.plot.smoothing.value = 0.9
    assert [(t.name, t.opacity) for t in app.plot.figure.data] == [("stage1", 0.25), ("stage1", 1.0)]
    app.plot.x_mode.value = "wall time"
    assert app.plot.figure.layout.xaxis.title.text == "wall time (s)"
    assert app.plot.figure.data[0].x[-1] == app.plot._histories["stage1"].series["total"].wall[-1]
    app.plot.keys.value = ("total", "lr")
    assert {t.name for t in app.plot.figure.data} == {"stage1 · total", "stage1 · lr"}
    assert set(app.plot.keys.options) == {"total", *HEAT_CONSTRAINTS, "lr", "grad_norm"}

    # a stage that has run is read-only, with copies into a new branch or a child
    assert app.form.readonly and app.form.field("training.max_steps").input.disabled
    assert visible(app.widget, app.form.banner) and "has finished training" in app.form.banner_text.value
    click(app, "COPY AS NEW BRANCH")
    assert app.selected == "stage2" and not app.form.readonly
    assert stored(heat, "stage2") == stored(heat, "stage1")
    app.select("stage1")
    click(app, "COPY AS CHILD")
    assert app.selected == "stage3"
    with StageBook(heat) as book:
        assert book.stage("stage3").parent == "stage1"

    # the solution of the finished stage: fields as lines, |residual| per constraint on a log axis
    app.select("stage1")
    click(app, "SHOW SOLUTION")
    figure = app.solution.figure
    assert figure is not None and app.solution.output.outputs
    names = {t.name for t in figure.data}
    assert {"u_metal", "u_paper", "T_metal", "T_paper", "T"} <= names
    assert {f"residual {c}" for c in HEAT_CONSTRAINTS} <= names
    assert figure.layout.yaxis2.type == "log"
    app.select("stage3")  # following the selection: a draft has no solution yet
    assert app.solution.figure is None and "has not finished" in app.solution.note.value

    # a long child: running, it cannot be deleted; CANCEL stops it
    type_into(app, "training.max_steps", "100000")
    click(app, "TRAIN")  # saves the edit first
    assert stored(heat, "stage3")["training"]["max_steps"] == 100000
    wait_until(lambda: status(heat, "stage3") == "running", 60, "stage3 to run")
    click(app, "DELETE")
    assert app.messages.kind == "error" and "stage3 is running: CANCEL it first" in app.messages.text
    click(app, "CANCEL")
    assert app.messages.text.startswith("stage3: cancelling")
    wait_until(lambda: status(heat, "stage3") == "cancelled", 30, "stage3 to be cancelled")
    wait_until(lambda: "cancelled" in app.tree.label("stage3"), 10, "the tree to show it")
    wait_until(lambda: not live_workers(heat), 20, "the worker to exit")


def test_cancel_a_queued_stage_and_train_a_done_one(app: ConfiguratorApp) -> None:
    app.book.storage.set_status("stage1", "done")  # as if trained: nothing here needs its weights
    click(app, "+CHILD STAGE")
    with StageBook(app.project) as book:
        submit(book, ["stage2"])  # queued, no worker started
    app.select("stage2")
    assert app.tree.label("stage2") == "stage2 queued" and app.form.readonly
    click(app, "CANCEL")
    assert app.messages.text == "stage2 cancelled (it had not started)"
    app.select("stage1")
    click(app, "TRAIN")
    assert "stage1 is already done" in app.messages.text
    click(app, "CANCEL")
    assert app.messages.kind == "error" and "only a queued or running stage" in app.messages.text


def test_correction_stage_from_the_tree_shows_its_eps_and_f_d(app: ConfiguratorApp) -> None:
    train_in_process(app.project, "stage1")
    app.select("stage1")
    click(app, "+CORRECTION STAGE")
    assert app.messages.text.startswith("created stage2, a correction stage of stage1")
    record = app.book.stage("stage2")
    assert record.kind == "correction" and record.parent == "stage1"
    assert record.config["training"]["precision"] == "float64"
    (kind,) = with_class(app, "mtc-stage-kind")
    assert visible(app.widget, kind) and "Correction stage</b> of stage1" in kind.value
    assert "computed from its parent's residual when it starts" in app.tree.label("stage2")
    train_in_process(app.project, "stage2")
    app.refresh()
    computed = app.book.stage("stage2").correction["outputs"]
    assert set(computed) == {"u_metal", "u_paper"}
    eps = computed["u_metal"]["eps"]
    assert f"u_metal: eps {eps:.1e}" in app.tree.label("stage2")
    assert "u_metal: eps = " in kind.value and "f_d = " in kind.value
    app.select("stage1")
    assert not visible(app.widget, kind)


def test_deferred_plot_is_built_when_the_page_says_it_has_drawn_it(heat: Path) -> None:
    train_in_process(heat, "stage1")
    app = ConfiguratorApp(heat, poll_interval=0.2, deferred_plot=True)
    try:
        app.plot.show_stages(["stage1"])
        assert app.plot.figure is None and app.plot.points("stage1") > 0  # rows are read meanwhile
        (beacon,) = [w for w in walk(app.widget) if isinstance(w, RenderBeacon)]
        beacon._received(beacon, {"event": "rendered", "width": 900}, [])
        figure = app.plot.figure
        assert figure is not None and figure.layout.width == 900
        assert [t.name for t in figure.data] == ["stage1"] and len(figure.data[0].x) == app.plot.points("stage1")
        beacon._received(beacon, {"event": "rendered", "width": 500}, [])  # another page: the same figure
        assert app.plot.figure is figure
    finally:
        app.close()


def test_loss_rows_are_read_incrementally_and_long_curves_downsampled(app: ConfiguratorApp) -> None:
    storage = app.book.storage
    storage.set_status("stage1", "running", attempt=1)
    storage.add_loss_rows("stage1", 1, [(s, s / 10, "total", 1.0 / (s + 1)) for s in range(100)])
    app.plot.show_stages(["stage1"])
    assert app.plot.points("stage1") == 100
    last = app.plot._histories["stage1"].last_id
    storage.add_loss_rows("stage1", 1, [(s, s / 10, "total", 1.0 / (s + 1)) for s in range(100, 5000)])
    app.tick()
    assert app.plot.points("stage1") == 5000 and app.plot._histories["stage1"].last_id > last
    assert len(app.plot.figure.data[0].x) <= 3000 and app.plot.figure.data[0].x[-1] == 4999
    storage.add_loss_rows("stage1", 2, [(s, 0.0, "total", 2.0) for s in range(4000, 4010)])  # a resumed attempt
    app.tick()
    assert app.plot.points("stage1") == 4010
    storage.set_status("stage1", "done")
    app.book.clean("stage1")  # results deleted: the curve goes
    app.tick()
    assert app.plot.points("stage1") == 0 and len(app.plot.figure.data) == 0


# -- bad input and missing pieces -------------------------------------------------------------------------------------


def test_broken_problem_py_is_shown_and_the_rest_still_works(app: ConfiguratorApp) -> None:
    good = add_to_problem(app, "p.add_constraint('oops', enforce(equation=Eq(u_nope, 0), on_domain=interface))")
    assert "problem.py:" in app.form.notice_text and "u_nope" in app.form.notice_text
    assert "Traceback" not in app.form.notice_text and app.form.readonly
    click(app, "PROBLEM")
    assert "does not load" in app.popup.title
    click(app, "CLOSE")
    click(app, "TRAINING")
    assert app.popup.title.startswith("Training")
    click(app, "NEW TRAINING BRANCH")  # needs the problem: a clear message, no crash
    assert app.messages.kind == "error" and "u_nope" in app.messages.text
    app.tree.rows["stage1"].button.click()
    assert app.selected == "stage1"
    (app.project / "problem.py").write_text(good)
    click(app, "RELOAD")
    assert app.form.notice_text == "" and not app.form.readonly
    assert app.form.field("training.max_steps").input.value == "1000"


def test_problem_py_with_a_new_constraint_offers_init_conf(app: ConfiguratorApp) -> None:
    add_to_problem(app, "p.add_constraint('extra', enforce(equation=Eq(T_metal, 0), on_domain=interface))")
    assert "constraints.extra: missing" in app.form.notice_text and "INIT-CONF" in app.form.notice_text
    click(app, "INIT-CONF")
    assert app.messages.text == "merged every stage with problem.py (stage1: added constraint extra)"
    assert app.form.field("constraints.extra.include").input.value is True
    assert "extra" in stored(app.project, "stage1")["constraints"]


def test_a_project_without_database_offers_init_conf(
    tmp_path: Path, open_apps: Callable[[Path], ConfiguratorApp]
) -> None:
    folder = create_project(tmp_path / "fresh", example="hello-world")
    app = open_apps(folder)
    assert "no stage database yet" in app.body.children[0].children[0].value
    click(app, "INIT-CONF")
    assert app.messages.text.startswith("created the stage database with stage1")
    assert app.selected == "stage1" and app.form.field("nets.NN.layer_size").input.value == "512"


def test_two_dimensional_solution_is_a_heatmap_masked_to_the_domain(
    tmp_path: Path, open_apps: Callable[[Path], ConfiguratorApp]
) -> None:
    folder = create_project(tmp_path / "plate", example="poisson-2d")
    (folder / "problem.py").write_text(textwrap.dedent("""
        from cfg import *
        [x, y], [u] = p.add_neural_network(name="NN", inputs=["x", "y"], outputs=["u"])
        plate = p.GeometryDifference("plate", p.Rectangle("square", (0, 0), (1, 1)), p.Circle("hole", (0.5, 0.5), 0.25))
        interior = p.add_interior_subdomain("interior", geom=plate)
        boundary = p.add_boundary_subdomain("boundary", geom=plate)
        p.add_constraint("poisson", enforce(equation=Eq(u.diff(x, 2) + u.diff(y, 2), -1), on_domain=interior))
        p.add_constraint("walls", enforce(equation=Eq(u, 0), on_domain=boundary))
    """))
    with StageBook(folder) as book:
        book.init_conf()
        book.edit("stage1", {"nets.NN.layer_size": 8, "nets.NN.nr_layers": 2, "training.max_steps": 5,
                             "constraints.poisson.batch_size": 16, "constraints.walls.batch_size": 16})  # fmt: skip
    train_in_process(folder, "stage1")
    app = open_apps(folder)
    click(app, "SHOW SOLUTION")
    assert list(app.solution.quantity.options) == ["u", "|residual| of poisson", "|residual| of walls"]
    heatmap = app.solution.figure.data[0]
    assert heatmap.type == "heatmap" and np.isnan(np.asarray(heatmap.z)[75, 75])  # the hole is masked
    assert np.isfinite(np.asarray(heatmap.z)[5, 5])
    app.solution.quantity.value = "|residual| of poisson"
    points = app.solution.figure.data[0]
    assert points.type == "scatter" and points.marker.colorbar.title.text == "log10 |r|"


# -- pieces -----------------------------------------------------------------------------------------------------------


def test_series_keeps_one_value_per_step_and_a_rewrite_replaces_the_tail() -> None:
    series = Series()
    series.extend(np.array([0, 10, 20]), np.zeros(3), np.array([3.0, 2.0, 1.0]))
    series.extend(np.array([10, 20, 30]), np.zeros(3), np.array([9.0, 8.0, 7.0]))
    assert series.steps.tolist() == [0, 10, 20, 30] and series.values.tolist() == [3.0, 9.0, 8.0, 7.0]
    history = LossHistory()
    assert history.add([{"id": 7, "key": "lr", "step": 0, "wall_time": 0.0, "value": 1.0}]) and history.last_id == 7
    assert not history.add([])


def test_ema_downsample_progress_and_tree_connectors() -> None:
    assert ema(np.array([1.0, np.nan, 3.0]), 0.0)[2] == 3.0
    assert np.isnan(ema(np.array([1.0, np.nan, 3.0]), 0.5)[1])
    assert ema(np.array([2.0, 2.0]), 0.9).tolist() == pytest.approx([2.0, 2.0])  # debiased
    assert downsample(10, 4).tolist() == [0, 3, 6, 9] and len(downsample(100)) == 100
    assert progress_text("running", 63, 100) == "▮▮▮▮▮▮▯▯▯▯ 63% running"
    assert progress_text("queued", None, 100) == "queued"


def test_poller_stops_by_itself_and_wakes_again() -> None:
    ticks: list[int] = []

    def tick() -> bool:
        ticks.append(1)
        return len(ticks) < 3

    poller = Poller(tick, interval=0.01)
    poller.wake()
    wait_until(lambda: not poller.running, 5, "the poller to stop")
    assert len(ticks) == 3
    poller.wake()
    wait_until(lambda: len(ticks) == 4 and not poller.running, 5, "one more tick")
    poller.stop()
    poller.wake()
    assert not poller.running
