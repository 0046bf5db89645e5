"""`mtc sample`, `mtc train --sampled`, `mtc hdf5-info`, `mtc version`: real HDF5 files written and read back."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from conftest import example_project, run_mtc
from engine.compile import compile_problem
from engine.config import default_config, set_values
from engine.errors import MtcError
from engine.problem import load_problem
from engine.stages import StageBook, problem_hash
from engine.train.terms import build_terms

SMALL = {"training.max_steps": 3, "nets.NN.layer_size": 8, "nets.NN.nr_layers": 1,
         "constraints.diffusion.batch_size": 16, "constraints.ends.batch_size": 2}  # fmt: skip


@pytest.fixture
def hello(tmp_path):
    return example_project(tmp_path / "hello", "hello-world", SMALL)


def test_sample_writes_every_subdomain_with_its_columns(hello):
    result = run_mtc("sample", "--multiple", "5", cwd=hello)
    assert result.returncode == 0, result.stderr
    assert "wrote 80 points to samples/interior.hdf5" in result.stdout
    with h5py.File(hello / "samples" / "interior.hdf5") as h5:
        assert sorted(h5.keys()) == ["area", "sdf", "x"] and h5["x"].shape == (80,)
        assert h5.attrs["problem_hash"] == problem_hash(hello)
        assert np.sum(h5["area"][()]) == pytest.approx(1.0)  # the measure of [0, 1]
        assert (np.asarray(h5["x"]) >= 0).all() and (np.asarray(h5["x"]) <= 1).all()
    with h5py.File(hello / "samples" / "boundary.hdf5") as h5:
        assert sorted(h5.keys()) == ["area", "normal_x", "normal_y", "normal_z", "x"] and h5["x"].shape == (10,)
    info = run_mtc("hdf5-info", "samples/boundary.hdf5", cwd=hello)
    assert info.returncode == 0 and "normal_x: (10,) float64" in info.stdout and "@subdomain = boundary" in info.stdout


def test_sampled_training_draws_only_stored_points(hello):
    assert run_mtc("sample", "--multiple", "2", cwd=hello).returncode == 0
    problem = load_problem(hello)
    outline = problem.outline()
    config = set_values(default_config(outline), ["training.sampled=true", "constraints.diffusion.batch_size=16"], outline)
    with h5py.File(hello / "samples" / "interior.hdf5") as h5:
        stored = set(np.asarray(h5["x"]).tolist())
    terms = build_terms(problem, compile_problem(problem), config, np.random.default_rng(0))
    drawn = terms[0].draw()
    assert len(drawn["x"]) == 16 and set(drawn["x"].tolist()) <= stored


def test_train_sampled_sets_the_stage_and_trains_from_the_files(hello):
    assert run_mtc("sample", cwd=hello).returncode == 0
    result = run_mtc("train", "--sampled", cwd=hello)
    assert result.returncode == 0, result.stderr
    with StageBook(hello) as book:
        stage1 = book.stage("stage1")
    assert stage1.status == "done" and stage1.config["training"]["sampled"] is True


def test_train_sampled_without_samples_or_with_old_ones_is_refused_and_queues_nothing(hello):
    missing = run_mtc("train", "--sampled", cwd=hello)
    assert missing.returncode == 1 and "has no samples" in missing.stderr and "run `mtc sample` first" in missing.stderr
    assert run_mtc("sample", cwd=hello).returncode == 0
    (hello / "problem.py").write_text((hello / "problem.py").read_text() + "\n# edited\n")
    old = run_mtc("train", "--sampled", cwd=hello)
    assert old.returncode == 1 and "sampled from an older problem.py" in old.stderr
    with StageBook(hello) as book:
        stage1 = book.stage("stage1")
    assert stage1.status == "draft" and stage1.config["training"]["sampled"] is False


def test_train_sampled_applies_to_every_stage_it_trains_ancestors_too(hello):
    with StageBook(hello) as book:
        book.new_child("stage1", "stage2")
    assert run_mtc("sample", cwd=hello).returncode == 0
    result = run_mtc("train", "--sampled", "--stage", "stage2", cwd=hello)  # stage1 is trained first
    assert result.returncode == 0, result.stderr
    with StageBook(hello) as book:
        stages = {name: book.stage(name) for name in ("stage1", "stage2")}
    assert all(r.status == "done" and r.config["training"]["sampled"] is True for r in stages.values())


def test_the_run_api_checks_samples_before_queueing_for_the_configurators_train_too(hello):
    from engine.stages import runs

    with StageBook(hello) as book:
        book.new_child("stage1", "stage2", ["training.sampled=true"])
        with pytest.raises(MtcError, match="has no samples"):
            runs.submit(book, ["stage2"])  # what TRAIN in the configurator calls
        with pytest.raises(MtcError, match="has no samples"):
            runs.submit(book, ["stage1"], sampled=True)
        assert {r.name: r.status for r in book.stages()} == {"stage1": "draft", "stage2": "draft"}
        assert book.stage("stage1").config["training"]["sampled"] is False  # nothing half-written
    assert run_mtc("sample", cwd=hello).returncode == 0
    with StageBook(hello) as book:
        assert runs.submit(book, ["stage2"]).queued == ["stage1", "stage2"]
        assert book.stage("stage1").config["training"]["sampled"] is False  # only asked-for stages switch


def test_an_integral_reads_stored_samples_with_their_area(project_with):
    folder = project_with(
        "from cfg import *\n"
        '[x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])\n'
        'g = p.Line1D("g", 0, 2)\ni = p.add_interior_subdomain("i", geom=g)\n'
        'p.add_constraint("length", enforce(equation=Eq(Integral(1 + 0*u, x), 2), on_domain=i))\n'
    )
    with StageBook(folder) as book:
        book.init_conf()
        book.edit("stage1", ["constraints.length.batch_size=50", "training.sampled=true"])
    assert run_mtc("sample", cwd=folder).returncode == 0
    problem = load_problem(folder)
    with StageBook(folder) as book:
        config = book.stage("stage1").config
    (term,) = build_terms(problem, compile_problem(problem), config, np.random.default_rng(0))
    columns = term.columns(torch.float64, torch.device("cpu"))
    assert float(columns["area"].sum()) == pytest.approx(2.0)


def test_a_parametric_integral_is_sampled_per_parameter_value_and_read_back_per_batch(project_with):
    folder = project_with(
        "from cfg import *\n"
        '[x, L], [u] = p.add_neural_network(name="NN", inputs=["x", "L"], outputs=["u"])\n'
        'g = p.Line1D("g", 0, L)\ni = p.add_interior_subdomain("i", geom=g, params={L: (1, 2)})\n'
        'p.add_constraint("length", enforce(equation=Eq(Integral(1 + 0*u, x), L), on_domain=i))\n'
    )
    with StageBook(folder) as book:
        book.init_conf()
        book.edit("stage1", ["constraints.length.batch_size=20", "constraints.length.integral_batches=3", "training.sampled=true"])
    result = run_mtc("sample", "--multiple", "2", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "wrote 120 points to samples/i.hdf5 at 6 parameter values" in result.stdout
    with h5py.File(folder / "samples" / "i.hdf5") as h5:
        rows = {key: np.asarray(h5[key]) for key in h5.keys()}
    assert sorted(np.unique(rows["integral_group"]).tolist()) == [0, 1, 2, 3, 4, 5]
    for g in range(6):  # each group: one length L, its points in [0, L], their areas summing to L
        mine = rows["integral_group"] == g
        (length,) = np.unique(rows["L"][mine])
        assert 1 <= length <= 2 and (rows["x"][mine] <= length).all()
        assert rows["area"][mine].sum() == pytest.approx(length)
    problem = load_problem(folder)
    with StageBook(folder) as book:
        config = book.stage("stage1").config
    (term,) = build_terms(problem, compile_problem(problem), config, np.random.default_rng(0))
    columns = term.columns(torch.float64, torch.device("cpu"))
    integrals = columns["area"].reshape(3, 20).sum(dim=1)
    lengths = columns["L"].reshape(3, 20)
    assert (lengths == lengths[:, :1]).all()  # one parameter value per integral batch
    torch.testing.assert_close(integrals, lengths[:, 0])  # each integral over its own geometry
    assert float(term.loss({}, columns)) == pytest.approx(0.0, abs=1e-20)


def test_hdf5_info_refuses_what_is_not_hdf5_and_version_prints(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    bad = run_mtc("hdf5-info", "notes.txt", cwd=tmp_path)
    assert bad.returncode == 1 and "is not an HDF5 file" in bad.stderr
    assert run_mtc("hdf5-info", "missing.h5", cwd=tmp_path).returncode == 1
    version = run_mtc("version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("mtc 0.")
