"""The project's configurator.ipynb executes headless in a created project."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from engine.project import create_project


def test_template_notebook_executes_in_a_created_project(tmp_path):
    folder = create_project(tmp_path / "nbproj", example="heat-interface")
    notebook = nbformat.read(folder / "configurator.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
