"""The stage API (`engine.stages.StageBook`) on real project folders and SQLite files."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from pathlib import Path

import pytest

from engine.config import ConfigError, default_config
from engine.errors import MtcError, ProblemError
from engine.project import create_project
from engine.stages import StageBook, StageError, format_training, stage_folder, upgrade_database
from engine.stages.export import export_format, loss_table
from engine.store import (
    DuplicateStageError,
    NoDatabaseError,
    StageHasChildrenError,
    StoreError,
    UnknownStageError,
    database_url,
    head_revision,
    init_database,
    open_url,
    upgrade,
)

EXTRA_NETWORK = """
[x], [v] = p.add_neural_network(name="NN2", inputs=["x"], outputs=["v"])
p.add_constraint("extra", enforce(equation=Eq(v, 0), on_domain=boundary))
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return create_project(tmp_path / "hw", example="hello-world")


@pytest.fixture
def book(project: Path):
    with StageBook(project) as stages:
        stages.init_conf()
        yield stages


def names(records) -> list[str]:
    return [record.name for record in records]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_text().encode()).hexdigest()


# -- init-conf --------------------------------------------------------------------


def test_first_init_conf_creates_the_database_and_stage1(project: Path):
    with StageBook(project) as book:
        report = book.init_conf()
        assert report.database_created and report.changes == [] and report.backup is None
        (stage,) = book.stages()
    assert (project / ".mtc" / "mtc.db").is_file()
    assert (stage.name, stage.description, stage.parent, stage.status) == ("stage1", "Default stage", None, "draft")
    outline_config = stage.config
    assert set(outline_config["nets"]) == {"NN"} and set(outline_config["constraints"]) == {"diffusion", "ends"}
    assert outline_config["training"]["max_steps"] == 1000
    assert stage.problem_hash == sha256(project / "problem.py")


def test_init_conf_with_a_broken_problem_writes_nothing(project: Path):
    (project / "problem.py").write_text("from cfg import *\np.add_neural_network(name='NN', inputs=['x'])\n")
    with StageBook(project) as book, pytest.raises(ProblemError, match="problem.py:2"):
        book.init_conf()
    assert not (project / ".mtc").exists()


def test_init_conf_merges_every_stage_with_the_edited_problem(book: StageBook, project: Path):
    book.edit("stage1", ["training.max_steps=777", "constraints.diffusion.weight=2*sdf"])
    book.new_child("stage1", assignments=["nets.NN.layer_size=1024"])
    with (project / "problem.py").open("a") as problem:
        problem.write(EXTRA_NETWORK)

    report = book.init_conf()

    assert not report.database_created and report.created is None
    assert [(c.stage, c.added, c.removed) for c in report.changes] == [
        ("stage1", {"nets": ["NN2"], "constraints": ["extra"]}, {}),
        ("stage2", {"nets": ["NN2"], "constraints": ["extra"]}, {}),
    ]
    assert report.changes[0].describe() == "added network NN2, constraint extra"
    stage1, stage2 = book.stages()
    assert stage1.config["training"]["max_steps"] == 777
    assert stage1.config["constraints"]["diffusion"]["weight"] == "2*sdf"
    assert stage1.config["nets"]["NN2"] == default_config(book.problem()[0])["nets"]["NN2"]
    assert stage1.config["constraints"]["extra"] == {"include": True, "batch_size": 1000, "weight": 1.0, "integral_batches": 1, "hard": False}
    assert stage2.config["nets"]["NN"]["layer_size"] == 1024 and stage2.parent == "stage1"
    assert {stage1.problem_hash, stage2.problem_hash} == {sha256(project / "problem.py")}

    source = (project / "problem.py").read_text()
    (project / "problem.py").write_text(source.replace('p.add_constraint("ends"', '# p.add_constraint("ends"'))
    report = book.init_conf()
    assert [c.describe() for c in report.changes] == ["removed constraint ends"] * 2
    assert all("ends" not in stage.config["constraints"] for stage in book.stages())
    assert book.stage("stage1").config["training"]["max_steps"] == 777
    assert [c.describe() for c in book.init_conf().changes] == ["no change"] * 2


def test_init_conf_refuses_a_stage_that_no_longer_fits(book: StageBook, project: Path):
    book.edit("stage1", ["constraints.ends.weight=normal_x**2"])
    source = (project / "problem.py").read_text()
    (project / "problem.py").write_text(source.replace("on_domain=boundary", "on_domain=interior"))
    before = book.stages()
    with pytest.raises(StageError, match="stage 'stage1' does not fit the edited problem.py: constraints.ends.weight"):
        book.init_conf()
    assert book.stages() == before


def test_reset_backs_up_then_starts_over(book: StageBook, project: Path):
    book.edit("stage1", ["training.max_steps=5"])
    book.new_branch("mine")
    book.storage.add_loss_rows("mine", 0, [(0, 0.0, "total", 1.0)])
    stage_folder(project, "mine").mkdir(parents=True)

    report = book.init_conf(reset=True)

    assert report.deleted == ["stage1", "mine"] and report.created.name == "stage1"
    assert report.backup.parent == project / ".mtc" / "backups"
    assert report.backup.name.startswith("mtc-") and report.backup.suffix == ".db"
    with sqlite3.connect(report.backup) as saved:
        rows = dict(saved.execute("SELECT name, config FROM stage").fetchall())
    assert set(rows) == {"stage1", "mine"} and json.loads(rows["stage1"])["training"]["max_steps"] == 5
    (fresh,) = book.stages()
    assert fresh.config == default_config(book.problem()[0]) and fresh.description == "Default stage"
    assert not stage_folder(project, "mine").exists()
    assert book.init_conf(reset=True).backup != report.backup  # two backups in one second do not collide


def test_reset_dumps_stages_as_json_for_other_databases(pg_database: str, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MTC_DB_URL", pg_database)
    book = StageBook(create_project(tmp_path / "on-pg", example="hello-world"))
    book.init_conf()
    report = book.init_conf(reset=True)
    assert report.backup.suffix == ".json"
    dumped = json.loads(report.backup.read_text())
    assert [stage["name"] for stage in dumped["stages"]] == ["stage1"]


# -- creating, editing, the tree ----------------------------------------------------------


def test_branches_children_and_copies(book: StageBook, project: Path):
    with (project / "problem.py").open("a") as problem:
        problem.write(EXTRA_NETWORK)
    book.init_conf()
    branch = book.new_branch(assignments=["training.max_steps=4000"], description="longer")
    assert (branch.name, branch.parent, branch.description) == ("stage2", None, "longer")
    assert branch.config["training"]["max_steps"] == 4000
    child = book.new_child("stage2", assignments={"nets.NN.trainable": False})
    assert (child.name, child.parent) == ("stage3", "stage2")
    assert child.config["training"]["max_steps"] == 4000 and child.config["nets"]["NN"]["trainable"] is False
    copy = book.new_branch("copy", source="stage3")
    assert copy.parent is None and copy.config == child.config
    assert {stage.problem_hash for stage in book.stages()} == {book.problem()[1]}


def test_next_free_name_skips_gaps(book: StageBook):
    for name in ("stage2", "stage5", "other"):
        book.new_branch(name)
    book.remove("stage2")
    assert book.new_branch().name == "stage6"
    assert book.new_child("stage1").name == "stage7"


def test_edit_applies_all_or_nothing(book: StageBook):
    updated = book.edit("stage1", ["optimizer.name=sgd", "optimizer.momentum=0.5"], description="sgd run")
    assert updated.config["optimizer"]["momentum"] == 0.5 and updated.description == "sgd run"
    before = book.stages()
    with pytest.raises(ConfigError, match="optimizer.lr"):
        book.edit("stage1", ["training.max_steps=10", "optimizer.lr=0"])
    assert book.stages() == before


def test_rename_moves_the_training_folder(book: StageBook, project: Path):
    book.new_child("stage1", "kid")
    folder = stage_folder(project, "stage1")
    folder.mkdir(parents=True)
    (folder / "log.txt").write_text("x")
    book.storage.add_loss_rows("stage1", 0, [(0, 0.0, "total", 1.0)])
    book.storage.set_status("stage1", "done")
    assert book.rename("stage1", "base").name == "base"
    assert (stage_folder(project, "base") / "log.txt").read_text() == "x" and not folder.exists()
    assert book.stage("kid").parent == "base" and len(book.storage.loss_rows("base")) == 1


def test_remove_recursive_deletes_folders(book: StageBook, project: Path):
    book.new_child("stage1", "a")
    book.new_child("a", "a1")
    book.new_branch("keep")
    stage_folder(project, "a1").mkdir(parents=True)
    assert book.remove("stage1", recursive=True) == ["a1", "a", "stage1"]
    assert names(book.stages()) == ["keep"] and not stage_folder(project, "a1").exists()


# -- refusals: a clear message and nothing written ----------------------------------------


def _done(book: StageBook, name: str = "stage1") -> None:
    book.storage.set_status(name, "done")


def _running(book: StageBook, name: str = "stage1") -> None:
    book.storage.set_status(name, "running")


def _with_child(book: StageBook) -> None:
    book.new_child("stage1", "kid")


def _with_artifact(book: StageBook) -> None:
    book.storage.add_artifact("stage1", "checkpoint", "training/stage1/model.pt")


REFUSALS = {
    "unknown key": (None, lambda b: b.edit("stage1", ["training.max_step=5"]), ConfigError, "did you mean training.max_steps"),
    "wrong type": (None, lambda b: b.edit("stage1", ["training.max_steps=many"]), ConfigError, "training.max_steps"),
    "lr <= 0": (None, lambda b: b.new_branch(assignments=["optimizer.lr=0"]), ConfigError, "optimizer.lr: 0.0 is not allowed; expected a number > 0"),
    "batch size < 1": (None, lambda b: b.new_child("stage1", assignments=["constraints.ends.batch_size=0"]), ConfigError, "constraints.ends.batch_size"),
    "unknown optimizer": (None, lambda b: b.edit("stage1", ["optimizer.name=adamax"]), ConfigError, "optimizer.name: \"adamax\" is not allowed"),
    "one bad of several": (None, lambda b: b.edit("stage1", ["training.max_steps=9", "nets.NN.layer_size=-1"]), ConfigError, "nets.NN.layer_size"),
    "not KEY=VALUE": (None, lambda b: b.new_branch(assignments=["training.max_steps"]), ConfigError, "expected KEY=VALUE"),
    "unknown stage": (None, lambda b: b.new_child("stage9"), UnknownStageError, "no stage named 'stage9': did you mean 'stage1'"),
    "unknown source": (None, lambda b: b.new_branch(source="nope"), UnknownStageError, "no stage named 'nope'"),
    "duplicate": (None, lambda b: b.new_branch("stage1"), DuplicateStageError, "'stage1' already exists"),
    "path trick": (None, lambda b: b.new_branch("../x"), StoreError, "invalid stage name '../x'"),
    "bad rename": (None, lambda b: b.rename("stage1", "a/b"), StoreError, "invalid stage name 'a/b'"),
    "nothing to set": (None, lambda b: b.edit("stage1"), StageError, "nothing to change"),
    "edit a done stage": (
        _done, lambda b: b.edit("stage1", ["training.max_steps=5"]), StageError,
        r"stage 'stage1' has already run \(status done\): make a child \(`mtc stage child stage1`\) "
        r"or a copy \(`mtc stage new --from stage1`\)",
    ),
    "edit a running stage": (_running, lambda b: b.edit("stage1", description="x"), StageError, "'stage1' is running"),
    "rm with children": (_with_child, lambda b: b.remove("stage1"), StageHasChildrenError, r"child stages \(kid\).*--recursive"),
    "rm running": (_running, lambda b: b.remove("stage1"), StageError, "'stage1' is running: cancel it first"),
    "clean running": (_running, lambda b: b.clean(), StageError, "'stage1' is running: cancel it first"),
    "reset running": (_running, lambda b: b.init_conf(reset=True), StageError, "'stage1' is running"),
    "rename running": (_running, lambda b: b.rename("stage1", "x"), StageError, "'stage1' is running"),
    "rename with artifacts": (_with_artifact, lambda b: b.rename("stage1", "x"), StageError, "clean it first"),
    "child changes depth": (
        None, lambda b: b.new_child("stage1", "deep", ["nets.NN.nr_layers=3"]), StageError,
        r"stage 'deep' cannot continue from 'stage1': nets.NN: nr_layers 6 -> 3 changes the depth",
    ),
    "child set to another arch": (
        _with_child, lambda b: b.edit("kid", ["nets.NN.arch=siren"]), StageError,
        r"stage 'kid' cannot continue from 'stage1': nets.NN: arch fully_connected -> siren changes the architecture",
    ),
    "child all frozen": (
        None, lambda b: b.new_child("stage1", "ice", ["nets.NN.trainable=false"]), StageError,
        r"every network of stage 'ice' is frozen, so it has nothing to train",
    ),
    "set all frozen": (
        None, lambda b: b.edit("stage1", ["nets.NN.trainable=false"]), StageError, "every network of stage 'stage1' is frozen",
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refusals_write_nothing(book: StageBook, project: Path, case: str):
    prepare, action, error, message = REFUSALS[case]
    if prepare is not None:
        prepare(book)
    before = book.stages()
    backups = project / ".mtc" / "backups"
    with pytest.raises(error, match=message) as raised:
        action(book)
    assert isinstance(raised.value, MtcError)
    assert book.stages() == before
    assert not backups.exists()


def test_no_database_is_reported_and_nothing_created(project: Path):
    with StageBook(project) as book, pytest.raises(NoDatabaseError, match="run `mtc init-conf`"):
        book.new_branch()
    assert not (project / ".mtc").exists()


def test_rename_refuses_an_existing_target_folder(book: StageBook, project: Path):
    stage_folder(project, "taken").mkdir(parents=True)
    with pytest.raises(StageError, match="already exists: remove that folder"):
        book.rename("stage1", "taken")
    assert names(book.stages()) == ["stage1"]


# -- results: clean and export --------------------------------------------------------


def test_clean_deletes_results_but_keeps_stages(book: StageBook, project: Path):
    book.new_branch("other")
    for name in ("stage1", "other"):
        book.storage.add_loss_rows(name, 0, [(0, 0.0, "total", 1.0)])
        stage_folder(project, name).mkdir(parents=True)
        (stage_folder(project, name) / "model.pt").write_text("w")
        book.storage.add_artifact(name, "checkpoint", f"training/{name}/model.pt")
        book.storage.set_status(name, "done")
    assert book.clean("stage1") == ["stage1"]
    assert book.storage.loss_rows("stage1") == [] and book.storage.artifacts("stage1") == []
    assert book.stage("stage1").status == "draft" and not stage_folder(project, "stage1").exists()
    assert book.stage("other").status == "done" and stage_folder(project, "other").exists()
    assert book.clean() == ["stage1", "other"]
    assert names(book.stages()) == ["stage1", "other"] and not stage_folder(project, "other").exists()


def test_loss_table_is_tidy(book: StageBook):
    book.storage.add_loss_rows("stage1", 0, [(1, 0.2, "total", 0.5), (0, 0.1, "total", math.inf), (0, 0.1, "lr", 1e-3)])
    book.storage.add_loss_rows("stage1", 1, [(0, 5.0, "total", math.nan)])
    table = loss_table(book.storage, "stage1")
    assert list(table.columns) == ["stage", "attempt", "step", "wall_time", "key", "value"]
    assert table[["attempt", "step", "key"]].values.tolist() == [[0, 0, "lr"], [0, 0, "total"], [0, 1, "total"], [1, 0, "total"]]
    assert table["value"].iloc[1] == math.inf and math.isnan(table["value"].iloc[3])
    assert loss_table(book.storage, "stage1").shape == (4, 6)
    empty = loss_table(book.storage, book.new_branch().name)
    assert empty.empty and list(empty.columns) == list(table.columns)


def test_export_format_rules():
    assert export_format(None, None) == "csv"
    assert export_format(None, "loss.parquet") == "parquet"
    assert export_format("csv", "loss.parquet") == "csv"
    with pytest.raises(MtcError, match="parquet is a binary format: give a file to write with --output FILE"):
        export_format("parquet", None)
    with pytest.raises(MtcError, match="unknown export format 'xlsx'"):
        export_format("xlsx", "a.xlsx")


# -- show training, db upgrade --------------------------------------------------------


def test_training_summary_tree_and_text(book: StageBook, project: Path):
    with (project / "problem.py").open("a") as problem:
        problem.write(EXTRA_NETWORK)
    book.init_conf()
    book.new_branch("b2", assignments=["optimizer.name=lbfgs"])
    book.new_child("stage1", "c1", assignments=["nets.NN.trainable=false", "constraints.ends.include=false"])
    book.new_child("c1", "c2")
    summary = book.summary()
    assert [(s["name"], s["depth"], s["parent"]) for s in summary["stages"]] == [
        ("stage1", 0, None), ("c1", 1, "stage1"), ("c2", 2, "c1"), ("b2", 0, None)
    ]
    c1 = summary["stages"][1]
    assert c1["children"] == ["c2"] and c1["networks"]["NN"]["trainable"] is False
    assert c1["constraints"]["ends"]["include"] is False
    text = format_training(summary)
    assert "  stage1  [draft]  Default stage\n    c1  [draft]\n      c2  [draft]\n  b2  [draft]\n" in text
    assert "[  optimizer] lbfgs, lr = 1.0, steps = 1,000" in text
    assert "[   networks] [frozen]   NN: fully_connected 512x6, silu" in text
    assert "ends | excluded" in text and "diffusion | batch_size = 1,000 | weight = 1.0" in text
    assert json.loads(json.dumps(summary)) == summary


def test_upgrade_database_reports_revisions(tmp_path: Path):
    url = database_url(tmp_path)
    with pytest.raises(NoDatabaseError, match="run `mtc init-conf`"):
        upgrade_database(tmp_path)
    init_database(url)
    assert upgrade_database(tmp_path) == (head_revision(), head_revision())
    (tmp_path / ".mtc" / "mtc.db").unlink()
    upgrade(url, "0001")
    before, after = upgrade_database(tmp_path)
    assert before == "0001" and after == head_revision()
    open_url(url).dispose()
