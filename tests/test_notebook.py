"""The project's configurator.ipynb executes headless in a created project and shows the app."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

from engine.project import create_project
from engine.stages import StageBook

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_template_notebook_executes_in_a_created_project(tmp_path):
    folder = create_project(tmp_path / "nbproj", example="heat-interface")
    with StageBook(folder) as book:
        book.init_conf()
    notebook = nbformat.read(folder / "configurator.ipynb", as_version=4)
    assert [cell.source for cell in notebook.cells] == ["from configurator import open_app\n\nopen_app()"]
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    (view,) = [o for o in outputs if WIDGET_VIEW in o.get("data", {})]
    assert view["data"]["text/plain"] == f"mtc configurator of {folder.resolve()}"
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    texts = json.dumps(state)
    for words in ("NEW TRAINING BRANCH", "+CHILD STAGE", "TRAIN", "CANCEL", "TRAINING", "PROBLEM"):
        assert f'"description": "{words}"' in texts, words
    assert "mtc-stage-stage1" in texts and "mtc-field-training-max_steps" in texts

