"""Results from the command line on a poisson-2d project trained in this module (tiny networks):
a 2x3 sweep trained by 2 workers, errors against the reference, `mtc compare`, `mtc plot`, `mtc report`."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.inference import load_stage
from engine.problem import load_problem
from engine.results.compare import loss_summary
from engine.results.evaluation import EVALUATION_FILE
from engine.store import open_storage

from conftest import example_project, run_mtc

TINY = {
    "nets.NN.layer_size": 8, "nets.NN.nr_layers": 2, "constraints.poisson.batch_size": 64,
    "constraints.walls.batch_size": 32, "training.max_steps": 60, "training.log_every": 10,
}  # fmt: skip
GRID = [("optimizer.lr", ["1e-3", "1e-2"]), ("nets.NN.layer_size", ["8", "16", "32"])]


def mtc_ok(folder: Path, *args: str) -> str:
    result = run_mtc("-C", str(folder), *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def mtc_fails(folder: Path, *args: str) -> str:
    result = run_mtc("-C", str(folder), *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("mtc: error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """poisson-2d: stage1, a 2x3 sweep from it (trained by 2 workers) and a draft stage that never trains."""
    folder = example_project(tmp_path_factory.mktemp("results") / "poisson", "poisson-2d", TINY)
    grid = [arg for key, values in GRID for arg in ("--grid", f"{key}={','.join(values)}")]
    mtc_ok(folder, "stage", "sweep", "--from", "stage1", *grid)
    mtc_ok(folder, "train", "--all", "--workers", "2")
    mtc_ok(folder, "stage", "new", "untrained", "--from", "stage1")
    return folder


def compare_json(folder: Path, *args: str) -> list[dict]:
    return json.loads(mtc_ok(folder, "compare", "--json", *args))


def test_sweep_makes_one_stage_per_combination_with_its_settings(project):
    with open_storage(project) as storage:
        stages = {r.name: r for r in storage.list_stages() if "sweep" in (r.tags or [])}
    assert sorted(stages) == [f"sweep1-{i}" for i in range(1, 7)]
    combos = [(lr, size) for lr in GRID[0][1] for size in GRID[1][1]]
    for index, (lr, size) in enumerate(combos, start=1):
        record = stages[f"sweep1-{index}"]
        assert record.config["optimizer"]["lr"] == float(lr) and record.config["nets"]["NN"]["layer_size"] == int(size)
        assert record.description == f"sweep1: optimizer.lr={lr}, nets.NN.layer_size={size}"
        assert record.parent is None and record.status == "done" and record.tags == ["sweep", "sweep1"]
        assert record.config["training"]["max_steps"] == TINY["training.max_steps"]  # the rest from stage1
    pids = {r.worker_pid for r in stages.values()}
    assert len(pids) == 2, f"two workers should have shared the sweep: {pids}"


def test_compare_values_equal_the_stored_loss_rows(project):
    rows = {row["stage"]: row for row in compare_json(project)}
    assert set(rows) == {"stage1", "untrained", *(f"sweep1-{i}" for i in range(1, 7))}
    with open_storage(project) as storage:
        for name in ("stage1", "sweep1-3"):
            stored = storage.loss_rows(name)
            for key in ("total", "poisson", "walls"):
                values = [r["value"] for r in sorted(stored, key=lambda r: r["step"]) if r["key"] == key]
                assert rows[name][f"final.{key}"] == values[-1]
                assert rows[name][f"best.{key}"] == min(values)
            record = storage.get_stage(name)
            assert rows[name]["steps"] == record.last_step + 1 == TINY["training.max_steps"]
            assert rows[name]["device"] == record.device == "cpu"
            last_wall = max(r["wall_time"] for r in stored)
            assert rows[name]["wall_s"] == last_wall
            assert rows[name]["steps_per_s"] == pytest.approx(rows[name]["steps"] / last_wall)
    assert rows["untrained"]["status"] == "draft" and rows["untrained"]["final.total"] is None
    # only the settings that differ become columns
    assert {"optimizer.lr", "nets.NN.layer_size"} <= set(rows["stage1"])
    assert "training.max_steps" not in rows["stage1"] and "lr" not in {k.split(".")[-1] for k in rows["stage1"] if k.startswith("final.")}


def test_each_finished_stage_records_its_error_against_the_reference(project):
    problem = load_problem(project)
    with np.load(project / EVALUATION_FILE) as saved:
        points = {name: saved[name] for name in saved.files}
    assert len(points["x"]) >= 4096 and points["x"].min() >= 0 and points["y"].max() <= 1
    model = load_stage(project, "sweep1-5", problem=problem)
    exact = np.sin(np.pi * points["x"]) * np.sin(np.pi * points["y"])
    difference = model.predict(points)["u"] - exact
    with open_storage(project) as storage:
        errors = storage.get_stage("sweep1-5").errors
    assert errors["points"] == len(exact)
    assert errors["outputs"]["u"]["l2_rel"] == pytest.approx(np.linalg.norm(difference) / np.linalg.norm(exact), rel=1e-9)
    assert errors["outputs"]["u"]["max_abs"] == pytest.approx(np.abs(difference).max(), rel=1e-9)
    rows = {row["stage"]: row for row in compare_json(project, "sweep1-5", "stage1")}
    assert list(rows) == ["sweep1-5", "stage1"]  # in the order asked
    assert rows["sweep1-5"]["l2_rel.u"] == errors["outputs"]["u"]["l2_rel"]


def test_compare_sweep_ranks_by_error_and_sorts_csv(project):
    ranked = compare_json(project, "--sweep", "sweep1")
    assert len(ranked) == 6
    errors = [row["l2_rel.u"] for row in ranked]
    assert errors == sorted(errors)
    csv = mtc_ok(project, "compare", "--csv", "--sort=-final.total")
    lines = csv.splitlines()
    header = lines[0].split(",")
    totals = [line.split(",")[header.index("final.total")] for line in lines[1:]]
    numbers = [float(t) for t in totals if t]
    assert numbers == sorted(numbers, reverse=True) and totals[-1] == ""  # the untrained stage last
    text = mtc_ok(project, "compare", "stage1", "sweep1-1")
    assert text.splitlines()[0].split()[:4] == ["stage", "status", "kind", "parent"]


def png(path: Path) -> Image.Image:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data)).convert("RGB")


def test_plot_losses_writes_a_png_with_the_curves(project, tmp_path):
    output = tmp_path / "losses.png"
    mtc_ok(project, "plot", "losses", "--stage", "sweep1-1", "--stage", "sweep1-6", "--keys", "total,poisson", "--output", str(output))
    image = png(output)
    assert image.size == (900, 520)
    assert image.getpixel((2, 2)) == (255, 255, 255)  # the background
    colours = {image.getpixel((x, y)) for x in range(80, 800, 3) for y in range(100, 400, 3)}
    orange, pink = (0xFF, 0x7F, 0x0E), (0xE3, 0x77, 0xC2)  # the colours of the 2nd and 7th stage (PALETTE)
    assert any(all(abs(a - b) < 30 for a, b in zip(c, orange)) for c in colours)
    assert any(all(abs(a - b) < 30 for a, b in zip(c, pink)) for c in colours)


def test_plot_solution_png_and_html(project, tmp_path):
    output = tmp_path / "error.png"
    mtc_ok(project, "plot", "solution", "--stage", "sweep1-6", "--quantity", "|error| of u", "--output", str(output))
    image = png(output)
    assert image.size == (900, 520)
    inside, outside = image.getpixel((440, 270)), image.getpixel((120, 270))  # the square is in the middle
    assert outside == (255, 255, 255) and inside != (255, 255, 255)
    mtc_ok(project, "plot", "solution", "--stage", "sweep1-6")
    page = (project / "training" / "sweep1-6" / "solution.html").read_text()
    for quantity in ("u", "reference u", "|error| of u", "|residual| of poisson"):
        assert f"sweep1-6: {quantity}" in page


def test_bad_input_gets_one_message_and_writes_nothing(project, tmp_path):
    with open_storage(project) as storage:
        before = [r.name for r in storage.list_stages()]
    message = mtc_fails(project, "stage", "sweep", "--from", "stage1", "--grid", "optimizer.lr=1e-3,fast")
    assert '"fast"' in message and "no stage was created" in message
    assert "optimizer.nope" in mtc_fails(project, "stage", "sweep", "--from", "stage1", "--grid", "optimizer.nope=1,2")
    big = ["--grid", "training.max_steps=" + ",".join(str(i) for i in range(1, 41)), "--grid", "optimizer.lr=" + ",".join(f"1e-{i}" for i in range(1, 27))]
    assert "1040 stages" in mtc_fails(project, "stage", "sweep", "--from", "stage1", *big)
    with open_storage(project) as storage:
        assert [r.name for r in storage.list_stages()] == before
    assert "untrained" in mtc_fails(project, "plot", "solution", "--stage", "untrained", "--output", str(tmp_path / "s.png"))
    assert "untrained" in mtc_fails(project, "plot", "losses", "--stage", "untrained", "--output", str(tmp_path / "l.png"))
    assert "does not exist" in mtc_fails(project, "plot", "losses", "--output", str(tmp_path / "missing" / "l.png"))
    assert "nope" in mtc_fails(project, "plot", "losses", "--keys", "total,nope", "--output", str(tmp_path / "l.png"))
    assert "sweep9" in mtc_fails(project, "compare", "--sweep", "sweep9")
    assert "unknown sort key" in mtc_fails(project, "compare", "--sort", "speed")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "line, words",
    [
        ("p.set_reference(v=x)", "'v' names no network output"),
        ("p.set_reference(u=x*Symbol('z'))", "['z']"),
        ("p.set_reference()", "either exact expressions"),
        ("p.set_reference(data_fname='ref.csv')", "lacks the column(s) ['y']"),
    ],
)
def test_a_bad_reference_is_refused_at_its_line(project_with, line, words):
    folder = project_with(
        f"""
        from cfg import *
        [x, y], [u] = p.add_neural_network(name="NN", inputs=["x", "y"], outputs=["u"])
        square = p.Rectangle("square", (0, 0), (1, 1))
        p.add_constraint("c", enforce(equation=Eq(u, 0), on_domain=p.add_interior_subdomain("i", geom=square)))
        {line}
        """
    )
    (folder / "ref.csv").write_text("x,u\n0,0\n")
    result = run_mtc("-C", str(folder), "show", "problem")
    assert result.returncode == 1 and words in result.stderr and "problem.py:6" in result.stderr, result.stderr


def test_a_reference_data_file_gives_the_evaluation_points(project_with):
    from engine.results.evaluation import evaluation_points

    folder = project_with(
        """
        from cfg import *
        [x], [u] = p.add_neural_network(name="NN", inputs=["x"], outputs=["u"])
        p.add_constraint("c", enforce(equation=Eq(u, 0), on_domain=p.add_interior_subdomain("i", geom=p.Line1D("l", 0, 1))))
        p.set_reference(data_fname="reference.npz")
        """
    )
    np.savez(folder / "reference.npz", x=np.linspace(0, 1, 7), u=np.linspace(0, 1, 7) ** 2, other=np.zeros(7))
    problem = load_problem(folder)
    assert problem.reference.targets == ["u"]
    points = evaluation_points(folder, problem)
    assert list(points) == ["x"] and points["x"][-1] == 1.0
    assert problem.reference.values(points)["u"][3] == pytest.approx(0.25)
    assert not (folder / EVALUATION_FILE).exists()


def test_the_evaluation_set_covers_the_domain_by_measure(project_with):
    """An initial-condition line (t fixed) gets no evaluation point; a wider subdomain gets more of them."""
    from engine.results.evaluation import sample_domain

    folder = project_with(
        """
        from cfg import *
        [x, t], [u] = p.add_neural_network(name="NN", inputs=["x", "t"], outputs=["u"])
        wide, narrow = p.Line1D("wide", 0, 3), p.Line1D("narrow", 3, 4)
        p.add_constraint("pde_wide", enforce(equation=Eq(u.diff(t), 0), on_domain=p.add_interior_subdomain("w", geom=wide, params={t: (0, 1)})))
        p.add_constraint("pde_narrow", enforce(equation=Eq(u.diff(t), 0), on_domain=p.add_interior_subdomain("n", geom=narrow, params={t: (0, 1)})))
        p.add_constraint("start", enforce(equation=Eq(u, x), on_domain=p.add_interior_subdomain("t0", geom=wide, params={t: (0, 0)})))
        p.set_reference(u=x)
        """
    )
    points = sample_domain(load_problem(folder), 4000)
    assert np.count_nonzero(points["t"] == 0) == 0  # rule 1 put half of the points on the t = 0 line
    in_wide = np.count_nonzero(points["x"] < 3)
    assert in_wide == pytest.approx(3 * (len(points["x"]) - in_wide), rel=0.01)
