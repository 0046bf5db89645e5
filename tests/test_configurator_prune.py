"""The configurator's +PRUNE STAGE button (no browser): a prune child of the selected KAN stage, or
nothing and a message saying why."""

from __future__ import annotations

from configurator import ConfiguratorApp
from engine.stages import StageBook

from test_configurator import HEAT_NETS, app, click, heat, open_apps  # noqa: F401  (fixtures)


def test_prune_button_makes_a_prune_child_of_a_kan_stage_only(app: ConfiguratorApp) -> None:
    app.select("stage1")
    click(app, "+PRUNE STAGE")
    assert app.messages.kind == "error" and "trains no KAN" in app.messages.text
    with StageBook(app.project) as book:
        assert [r.name for r in book.stages()] == ["stage1"]
        book.edit("stage1", [f"nets.{net}.arch=kan" for net in HEAT_NETS])
    app.refresh()
    app.select("stage1")
    click(app, "+PRUNE STAGE")
    assert app.messages.text.startswith("created stage2, a prune stage of stage1: stage1's KAN nodes and edges")
    assert app.selected == "stage2"
    with StageBook(app.project) as book:
        child = book.stage("stage2")
    assert child.kind == "prune" and child.parent == "stage1" and child.status == "draft"
    assert "stage2" in app.tree.label("stage2")
