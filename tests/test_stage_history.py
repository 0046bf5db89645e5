"""A stage that has run keeps the config and problem hash it ran with; init-conf merges only the others."""

from __future__ import annotations

from conftest import example_project, run_mtc
from engine.stages import StageBook, problem_hash

SMALL = {"training.max_steps": 3, "nets.NN.layer_size": 8, "nets.NN.nr_layers": 1,
         "constraints.diffusion.batch_size": 16, "constraints.ends.batch_size": 2}  # fmt: skip
ADDED = '\np.add_constraint("middle", enforce(equation=Eq(u.diff(x), 0), on_domain=p.add_boundary_subdomain("mid", geom=p.Line1D("half", 0, 0.5), criteria=Eq(x, 0.5))))\n'


def test_init_conf_keeps_a_run_stage_as_it_ran_and_merges_the_rest(tmp_path):
    folder = example_project(tmp_path / "hello", "hello-world", SMALL)
    assert run_mtc("train", cwd=folder).returncode == 0
    with StageBook(folder) as book:
        book.new_branch("draft2")
        ran = book.stage("stage1")
    old_hash = problem_hash(folder)
    (folder / "problem.py").write_text((folder / "problem.py").read_text() + ADDED)

    merged = run_mtc("init-conf", cwd=folder)
    assert merged.returncode == 0, merged.stderr
    assert "stage1: kept the settings it ran with, problem.py changed since" in merged.stdout
    assert "draft2: added constraint middle" in merged.stdout
    with StageBook(folder) as book:
        stage1, draft2 = book.stage("stage1"), book.stage("draft2")
        assert stage1.config == ran.config and stage1.problem_hash == old_hash
        assert "middle" in draft2.config["constraints"] and draft2.problem_hash == problem_hash(folder)
        child = book.new_child("stage1", "child")  # a child of a stage that ran gets the new problem's entries
        assert "middle" in child.config["constraints"]
        assert child.config["training"]["max_steps"] == 3

    shown = run_mtc("show", "training", cwd=folder).stdout
    assert "stage1  [done]  (problem.py changed since it ran)" in shown
    assert "problem.py has changed since this stage ran" in shown
    assert "draft2  [draft]  (problem.py changed" not in shown


def test_a_stage_records_the_problem_hash_it_ran_with(tmp_path):
    folder = example_project(tmp_path / "hello", "hello-world", SMALL)
    with StageBook(folder) as book:
        created_with = book.stage("stage1").problem_hash
    (folder / "problem.py").write_text((folder / "problem.py").read_text() + "# edited after the stage was set up\n")
    assert run_mtc("train", cwd=folder).returncode == 0
    with StageBook(folder) as book:
        ran_with = book.stage("stage1").problem_hash
    assert ran_with == problem_hash(folder) != created_with
