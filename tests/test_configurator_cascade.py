"""The configurator's CASCADE dialog (no browser): the chain is made from the selected stage, or
nothing is and the message says why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from configurator import ConfiguratorApp
from engine.stages import StageBook

from test_configurator import HEAT_NETS, app, click, heat, open_apps, visible, with_class  # noqa: F401  (fixtures)


def names(project: Path) -> list[str]:
    with StageBook(project) as book:
        return [record.name for record in book.stages()]


def test_cascade_dialog_creates_the_chain_or_nothing(app: ConfiguratorApp) -> None:
    app.select("stage1")
    click(app, "CASCADE")
    (dialog,) = with_class(app, "mtc-cascade-dialog")
    assert visible(app.widget, dialog) and "Cascade from stage1" in app.actions.cascade.title.value
    app.actions.cascade.levels.value = 2
    app.actions.cascade.steps.value = "5"
    click(app, "CREATE CASCADE")
    assert app.messages.kind == "error"
    assert "--steps 5 gives 1 step count(s) for 2 level(s)" in app.messages.text
    assert names(app.project) == ["stage1"] and visible(app.widget, dialog)

    app.actions.cascade.steps.value = "5,7"
    click(app, "CREATE CASCADE")
    assert app.messages.text.startswith("created a 2-level cascade from stage1: stage1-x2, stage1-x4")
    assert not visible(app.widget, dialog) and app.selected == "stage1-x4"
    with StageBook(app.project) as book:
        levels = [book.stage("stage1-x2"), book.stage("stage1-x4")]
    assert [r.parent for r in levels] == ["stage1", "stage1-x2"]
    assert [r.config["training"]["max_steps"] for r in levels] == [5, 7]
    for net in HEAT_NETS:  # every trainable network widens
        assert [r.config["nets"][net]["layer_size"] for r in levels] == [16, 32]
    assert "stage1-x4" in app.tree.label("stage1-x4")
