"""`mtc init-conf`, `mtc stage ...`, `mtc show training`, `mtc clean`, `mtc export`, `mtc db upgrade`.

The user workflows run as real `mtc` processes (`run_mtc`). Each process spends
about 2 s importing, so the long table of refusals calls the same entry point,
`engine.cli.main.main`, in-process (same parser, handlers and error printing).
"""

from __future__ import annotations

import io
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_mtc
from engine.cli.main import main
from engine.project import create_project
from engine.stages import StageBook, stage_folder
from engine.store import database_url, head_revision, open_storage, upgrade

EXTRA_NETWORK = """
[x], [v] = p.add_neural_network(name="NN2", inputs=["x"], outputs=["v"])
p.add_constraint("extra", enforce(equation=Eq(v, 0), on_domain=boundary))
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """hello-world with stage1 (default), stage2 (a child of stage1) and `ran` (done)."""
    folder = create_project(tmp_path / "hw", example="hello-world")
    with StageBook(folder) as book:
        book.init_conf()
        book.new_child("stage1")
        book.new_branch("ran")
        book.storage.set_status("ran", "done")
    return folder


def stages(project: Path):
    storage = open_storage(project)
    try:
        return storage.list_stages()
    finally:
        storage.dispose()


def in_process(capsys, project: Path, *args: str) -> tuple[int, str, str]:
    code = main(["-C", str(project), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def in_parallel(*commands: tuple[Path, tuple[str, ...]]) -> list:
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return list(pool.map(lambda command: run_mtc(*command[1], cwd=command[0]), commands))


# -- the seed 002 workflow, end to end --------------------------------------------


def test_seed_002_multi_stage_workflow(tmp_path: Path):
    assert run_mtc("create", "multi-stage", "--example", "heat-interface", cwd=tmp_path).returncode == 0
    folder = tmp_path / "multi-stage"

    init = run_mtc("init-conf", cwd=folder)
    assert init.returncode == 0, init.stderr
    assert "created stage1 (Default stage) with the default settings" in init.stdout

    branch = run_mtc("stage", "new", "--set", "training.max_steps=4000", cwd=folder)
    assert branch.returncode == 0, branch.stderr
    assert "created stage2: a new training branch" in branch.stdout

    child = run_mtc(
        "stage", "child", "stage1",
        "--set", "nets.metalNN.trainable=false", "--set", "constraints.interface_eq.include=false",
        cwd=folder,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    assert "created stage3: a child of stage1" in child.stdout

    text, as_json = in_parallel((folder, ("show", "training")), (folder, ("show", "training", "--json")))
    assert text.returncode == 0 and as_json.returncode == 0, text.stderr + as_json.stderr
    assert "  stage1  [draft]  Default stage\n    stage3  [draft]\n  stage2  [draft]\n" in text.stdout
    stage2_block = text.stdout.split("stage2 (training branch, draft)")[1]
    assert "steps = 4,000" in stage2_block.split("=" * 40)[0]
    stage3_block = text.stdout.split("stage3 (child of stage1, draft)")[1].split("=" * 40)[0]
    assert "[frozen]   metalNN: fully_connected 512x6, silu" in stage3_block
    assert "[training] paperNN" in stage3_block
    assert "interface_eq | excluded" in stage3_block
    assert "interface_flux | batch_size = 1,000 | weight = 1.0" in stage3_block

    shown = {stage["name"]: stage for stage in json.loads(as_json.stdout)["stages"]}
    assert list(shown) == ["stage1", "stage3", "stage2"]
    assert shown["stage2"]["parent"] is None and shown["stage2"]["max_steps"] == 4000
    assert shown["stage3"]["parent"] == "stage1" and shown["stage1"]["children"] == ["stage3"]
    assert shown["stage3"]["networks"]["metalNN"]["trainable"] is False
    assert shown["stage3"]["networks"]["paperNN"]["trainable"] is True
    assert shown["stage3"]["constraints"]["interface_eq"]["include"] is False
    assert shown["stage1"]["optimizer"]["lr"] == 0.005 and shown["stage3"]["max_steps"] == 1000


# -- init-conf merges, --reset backs up ---------------------------------------------


def test_init_conf_merges_edits_and_reset_backs_up(tmp_path: Path):
    folder = create_project(tmp_path / "hw", example="hello-world")
    assert run_mtc("init-conf", cwd=folder).returncode == 0
    with StageBook(folder) as book:
        book.edit("stage1", ["training.max_steps=777", "constraints.diffusion.weight=3"])
    with (folder / "problem.py").open("a") as problem:
        problem.write(EXTRA_NETWORK)

    merged = run_mtc("init-conf", cwd=folder)
    assert merged.returncode == 0, merged.stderr
    assert "merged the settings of 1 stage(s) with problem.py:" in merged.stdout
    assert "  stage1: added network NN2, constraint extra" in merged.stdout
    (stage1,) = stages(folder)
    assert stage1.config["training"]["max_steps"] == 777
    assert stage1.config["constraints"]["diffusion"]["weight"] == 3.0
    assert stage1.config["constraints"]["extra"]["batch_size"] == 1000
    assert stage1.config["nets"]["NN2"]["layer_size"] == 512

    reset = run_mtc("init-conf", "--reset", cwd=folder)
    assert reset.returncode == 0, reset.stderr
    backup = folder / reset.stdout.split("backed up the database to ")[1].splitlines()[0]
    assert backup.parent == folder / ".mtc" / "backups" and backup.is_file()
    with sqlite3.connect(backup) as saved:
        (config,) = saved.execute("SELECT config FROM stage WHERE name = 'stage1'").fetchone()
    assert json.loads(config)["training"]["max_steps"] == 777
    (fresh,) = stages(folder)
    assert fresh.config["training"]["max_steps"] == 1000 and "extra" in fresh.config["constraints"]


# -- bad input: real processes, then the whole table in-process ------------------------------


def test_bad_input_from_real_processes_writes_nothing(project: Path, tmp_path: Path):
    empty = create_project(tmp_path / "empty", example="hello-world")
    broken = create_project(tmp_path / "broken", example="hello-world")
    (broken / "problem.py").write_text("from cfg import *\nundefined_name\n")
    before = stages(project)
    results = in_parallel(
        (project, ("stage", "set", "ran", "training.max_steps=5")),
        (project, ("stage", "new", "--set", "training.max_step=5")),
        (empty, ("stage", "list")),
        (broken, ("init-conf",)),
    )
    expected = [
        "mtc: error: stage 'ran' has already run (status done): make a child (`mtc stage child ran`) "
        "or a copy (`mtc stage new --from ran`)",
        "mtc: error: training.max_step: unknown setting; did you mean training.max_steps",
        "run `mtc init-conf`",
        "mtc: error: problem.py:2: NameError: name 'undefined_name' is not defined",
    ]
    for result, message in zip(results, expected):
        assert (result.returncode, result.stdout) == (1, ""), result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
    assert stages(project) == before
    assert not (empty / ".mtc").exists() and not (broken / ".mtc").exists()


REFUSED = [
    (("stage", "set", "stage1", "training.max_steps=10", "optimizer.lr=-1"), "optimizer.lr: -1.0 is not allowed; expected a number > 0"),
    (("stage", "set", "stage1", "training.max_steps=ten"), "training.max_steps: \"ten\" is not an integer"),
    (("stage", "set", "stage1", "nets.NN.activation=swish"), "nets.NN.activation: \"swish\" is not allowed"),
    (("stage", "set", "stage1"), "nothing to change"),
    (("stage", "new", "--set", "optimizer.name=adamax"), "optimizer.name: \"adamax\" is not allowed"),
    (("stage", "new", "--from", "stage9"), "no stage named 'stage9': did you mean"),
    (("stage", "new", "../x"), "invalid stage name '../x'"),
    (("stage", "new", "stage1"), "a stage named 'stage1' already exists"),
    (("stage", "child", "stage1", "--set", "constraints.ends.batch_size=0"), "constraints.ends.batch_size: 0 is not allowed"),
    (("stage", "child", "nope"), "no stage named 'nope'"),
    (("stage", "rename", "stage1", "stage2"), "a stage named 'stage2' already exists"),
    (("stage", "rename", "stage1", "a/b"), "invalid stage name 'a/b'"),
    (("stage", "rm", "stage1"), "has child stages (stage2): delete them with it (`mtc stage rm stage1 --recursive`)"),
    (("stage", "rm", "ghost"), "no stage named 'ghost'"),
    (("clean", "--stage", "ghost"), "no stage named 'ghost'"),
    (("export", "--stage", "stage1", "--format", "parquet"), "parquet is a binary format: give a file to write with --output FILE"),
    (("export", "--stage", "ghost"), "no stage named 'ghost'"),
]


@pytest.mark.parametrize("args, message", REFUSED, ids=[" ".join(args) for args, _ in REFUSED])
def test_bad_input_is_refused_with_a_message(project: Path, capsys, args, message):
    before = stages(project)
    code, out, err = in_process(capsys, project, *args)
    assert (code, out) == (1, "")
    assert err.startswith("mtc: error: ") and message in err, err
    assert stages(project) == before


def test_running_stages_cannot_be_deleted_or_cleaned(project: Path, capsys):
    with StageBook(project) as book:
        book.storage.set_status("ran", "running")
    before = stages(project)
    for args in (("stage", "rm", "ran"), ("clean", "--stage", "ran"), ("clean",), ("init-conf", "--reset")):
        code, _, err = in_process(capsys, project, *args)
        assert code == 1 and "stage 'ran' is running: cancel it first" in err
    assert stages(project) == before
    assert not (project / ".mtc" / "backups").exists()


# -- tree commands --------------------------------------------------------------------


def test_stage_tree_commands(project: Path, capsys):
    assert in_process(capsys, project, "stage", "new", "b", "--from", "stage2", "--description", "copy")[0] == 0
    assert in_process(capsys, project, "stage", "set", "b", "optimizer.lr=0.01", "--description", "faster")[0] == 0
    assert in_process(capsys, project, "stage", "child", "b", "--set", "training.max_steps=50")[1] == (
        "created stage3: a child of b (continues from its weights)\n"
    )
    stage_folder(project, "ran").mkdir(parents=True)
    assert in_process(capsys, project, "stage", "rename", "ran", "done-run")[1] == "renamed ran to done-run\n"
    assert stage_folder(project, "done-run").is_dir()
    assert in_process(capsys, project, "stage", "rm", "stage1", "--recursive")[1] == "deleted stage2, stage1\n"

    code, out, _ = in_process(capsys, project, "stage", "list", "--json")
    assert code == 0
    assert json.loads(out) == [
        {"name": "done-run", "parent": None, "kind": "standard", "status": "done", "description": "", "max_steps": 1000, "optimizer": "adam"},
        {"name": "b", "parent": None, "kind": "standard", "status": "draft", "description": "faster", "max_steps": 1000, "optimizer": "adam"},
        {"name": "stage3", "parent": "b", "kind": "standard", "status": "draft", "description": "", "max_steps": 50, "optimizer": "adam"},
    ]
    code, out, _ = in_process(capsys, project, "stage", "list")
    assert out.splitlines()[0].split() == ["NAME", "PARENT", "KIND", "STATUS", "MAX_STEPS", "OPTIMIZER", "DESCRIPTION"]
    assert out.splitlines()[3].split() == ["stage3", "b", "standard", "draft", "50", "adam"]
    assert stages(project)[1].config["optimizer"]["lr"] == 0.01
    assert in_process(capsys, project, "stage", "new")[1].startswith("created stage4:")  # max N + 1, not count + 1


# -- results: export and clean ------------------------------------------------------------


def test_export_and_clean(project: Path, tmp_path: Path):
    with StageBook(project) as book:
        book.storage.add_loss_rows("ran", 0, [(step, step / 10, key, 1 / (step + 1)) for step in range(3) for key in ("total", "lr")])
        book.storage.add_loss_rows("stage1", 0, [(0, 0.0, "total", 9.0)])
    stage_folder(project, "ran").mkdir(parents=True)
    (stage_folder(project, "ran") / "model.pt").write_text("weights")
    parquet = tmp_path / "loss.parquet"

    as_csv, as_parquet = in_parallel(
        (project, ("export", "--stage", "ran")),
        (project, ("export", "--stage", "ran", "--format", "parquet", "--output", str(parquet))),
    )
    assert as_csv.returncode == 0 and as_parquet.returncode == 0, as_csv.stderr + as_parquet.stderr
    table = pd.read_csv(io.StringIO(as_csv.stdout))
    assert list(table.columns) == ["stage", "attempt", "step", "wall_time", "key", "value"]
    assert len(table) == 6 and set(table["stage"]) == {"ran"}
    assert table[["step", "key"]].values.tolist()[:2] == [[0, "lr"], [0, "total"]]
    from_file = pd.read_parquet(parquet)
    assert from_file.shape == (6, 6) and from_file["value"].tolist() == table["value"].tolist()
    assert f"wrote 6 loss rows of ran to {parquet} (parquet)" in as_parquet.stdout

    clean = run_mtc("clean", "--stage", "ran", cwd=project)
    assert clean.returncode == 0, clean.stderr
    assert "deleted the results of ran" in clean.stdout
    assert not stage_folder(project, "ran").exists()
    with StageBook(project) as book:
        assert book.storage.loss_rows("ran") == [] and book.stage("ran").status == "draft"
        assert len(book.storage.loss_rows("stage1")) == 1
        assert [s.name for s in book.stages()] == ["stage1", "stage2", "ran"]


def test_db_upgrade_prints_the_revisions(tmp_path: Path):
    (tmp_path / ".mtc").mkdir()
    upgrade(database_url(tmp_path), "0001")
    result = run_mtc("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"schema revision 0001 -> {head_revision()}" in result.stdout
