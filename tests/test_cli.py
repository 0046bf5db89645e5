"""`mtc create`, `mtc examples`, `mtc show problem`, `mtc demo` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import run_mtc

EXAMPLES = {"hello-world", "heat-interface", "inverse-1d", "parametric-1d", "poisson-2d", "precision-1d", "two-frequency-1d", "wave-1d"}


def test_create_writes_a_project_from_the_template(tmp_path):
    result = run_mtc("create", "myproj", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "myproj"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "cfg.py", "configurator.ipynb", "problem.py"]
    assert 'Problem("myproj")' in (folder / "cfg.py").read_text()
    shown = run_mtc("show", "problem", cwd=folder)  # the empty template loads
    assert shown.returncode == 0 and "Neural networks (0)" in shown.stdout


def test_create_refuses_an_existing_folder_unless_forced(tmp_path):
    assert run_mtc("create", "p1", cwd=tmp_path).returncode == 0
    (tmp_path / "p1" / "notes.txt").write_text("mine")
    (tmp_path / "p1" / "problem.py").write_text("# edited\n")
    refused = run_mtc("create", "p1", "--example", "hello-world", cwd=tmp_path)
    assert refused.returncode == 1 and "already exists" in refused.stderr and "--force" in refused.stderr
    assert (tmp_path / "p1" / "problem.py").read_text() == "# edited\n"
    forced = run_mtc("create", "p1", "--example", "hello-world", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "Line1D" in (tmp_path / "p1" / "problem.py").read_text()
    assert (tmp_path / "p1" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("name", ["bad name", "a/../b", "x" * 65, "é"])
def test_create_rejects_bad_names_and_writes_nothing(tmp_path, name):
    result = run_mtc("create", name, cwd=tmp_path)
    assert result.returncode == 1 and "not valid" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_create_with_unknown_example(tmp_path):
    result = run_mtc("create", "p", "--example", "nope", cwd=tmp_path)
    assert result.returncode == 1 and "unknown example 'nope'" in result.stderr and "hello-world" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_examples_lists_the_shipped_projects():
    result = run_mtc("examples", "--json")
    assert result.returncode == 0
    listed = {e["name"]: e["description"] for e in json.loads(result.stdout)}
    assert EXAMPLES <= set(listed) and all(listed[e] for e in EXAMPLES)


def test_show_problem_lists_the_seed_002_problem(tmp_path):
    assert run_mtc("create", "multi-stage", "--example", "heat-interface", cwd=tmp_path).returncode == 0
    folder = tmp_path / "multi-stage"
    data = json.loads(run_mtc("show", "problem", "--json", cwd=folder).stdout)
    assert len(data["networks"]) == 2 and len(data["submodels"]) == 2
    assert len(data["subdomains"]) == 3 and len(data["constraints"]) == 4
    assert data["subdomains"]["interior_metal"]["criteria"] == "x <= 0.5"
    assert data["model"]["name"] == "T"
    text = run_mtc("show", "problem", cwd=folder).stdout
    for word in ("metalNN", "paperNN", "T_metal", "interface_flux", "Neural networks (2)", "Constraints (4)"):
        assert word in text


def test_show_problem_with_project_option(tmp_path):
    assert run_mtc("create", "w", "--example", "wave-1d", cwd=tmp_path).returncode == 0
    result = run_mtc("-C", str(tmp_path / "w"), "show", "problem")
    assert result.returncode == 0 and "sensors" in result.stdout and "189 rows" in result.stdout


def test_demo_creates_then_reuses_its_project(tmp_path):
    first = run_mtc("demo", "--max-steps", "30", "--no-serve", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "created demo project" in first.stdout and "metalNN" in first.stdout
    assert "relative L2 error" in first.stdout
    second = run_mtc("demo", "--no-serve", cwd=tmp_path)
    assert second.returncode == 0 and "using the demo project" in second.stdout


def test_console_script_is_installed(tmp_path):
    mtc = shutil.which("mtc")
    if mtc is None:
        pytest.skip("mtc is not on PATH (package not installed in this environment)")
    result = subprocess.run([mtc, "examples"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0 and "hello-world" in result.stdout
