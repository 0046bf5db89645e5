"""``mtc stage cascade``: a ladder of widening children made in one go (all or nothing), trained in
order by ``mtc train --all``, each level's first loss equal to its parent's final model's loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import example_project, run_mtc
from engine.compile import compile_problem
from engine.inference import load_stage
from engine.problem import load_problem
from engine.stages import StageBook
from engine.stages.cascade import create_cascade
from engine.stages.errors import StageError
from engine.train.networks import bind
from engine.train.terms import build_terms

TINY = {
    "nets.NN.layer_size": 4, "nets.NN.nr_layers": 2, "nets.NN.activation": "tanh", "training.precision": "float64",
    "training.max_steps": 20, "training.log_every": 1, "training.resample_every": 1000, "optimizer.lr": 0.01,
    "scheduler.name": "constant",
}  # fmt: skip


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    return example_project(tmp_path / "hello", "hello-world", TINY)


def mtc(folder: Path, *args: str, code: int = 0) -> str:
    result = run_mtc("-C", str(folder), *args)
    assert result.returncode == code, result.stdout + result.stderr
    return result.stdout if code == 0 else result.stderr


def names(folder: Path) -> list[str]:
    with StageBook(folder) as book:
        return [record.name for record in book.stages()]


def test_cascade_creates_a_chain_of_wider_children(hello):
    out = mtc(hello, "stage", "cascade", "stage1", "--levels", "3", "--factor", "2", "--steps", "5,6,7")
    assert "created a 3-level cascade from stage1" in out
    with StageBook(hello) as book:
        levels = [book.stage(name) for name in ("stage1-x2", "stage1-x4", "stage1-x8")]
    assert [r.parent for r in levels] == ["stage1", "stage1-x2", "stage1-x4"]
    assert [r.config["nets"]["NN"]["layer_size"] for r in levels] == [8, 16, 32]
    assert [r.config["training"]["max_steps"] for r in levels] == [5, 6, 7]
    assert all(r.status == "draft" and r.kind == "standard" for r in levels)
    assert levels[2].description == "cascade level 3/3 from stage1: NN width 16 -> 32"
    # everything else is the parent's
    assert levels[0].config["optimizer"] == levels[2].config["optimizer"] and levels[2].config["training"]["seed"] == 0


@pytest.mark.parametrize(
    "args,message",
    [
        (["--levels", "3", "--steps", "5,5"], "--steps 5,5 gives 2 step count(s) for 3 level(s): give one per level"),
        (["--levels", "2", "--steps", "5,x"], "--steps '5,x': give whole numbers separated by commas"),
        (["--levels", "2", "--steps", "5,0"], "every level needs at least 1 step"),
        (["--factor", "1"], "--factor 1: each level must be wider than the one before"),
        (["--levels", "0"], "--levels 0: a cascade has 1 to 8 levels"),
    ],
)
def test_bad_cascades_are_refused_and_write_nothing(hello, args, message):
    err = mtc(hello, "stage", "cascade", "stage1", *args, code=1)
    assert err.startswith("mtc: error: ") and message in err
    assert names(hello) == ["stage1"]


def test_a_level_that_cannot_be_made_refuses_the_whole_cascade(hello):
    with StageBook(hello) as book:
        book.new_child("stage1", "stage1-x4")  # the second level's name is taken
        with pytest.raises(StageError, match="stage 'stage1-x4' exists already"):
            create_cascade(book, "stage1", levels=3)
        book.edit("stage1", {"optimizer.name": "lm", "optimizer.lm_max_dense": 200, "optimizer.lm_cg": False})
        book.remove("stage1-x4")
        with pytest.raises(StageError, match="lm_max_dense"):  # level 2 (545 parameters) is too big for a dense solve
            create_cascade(book, "stage1", levels=3)
    assert names(hello) == ["stage1"]
    err = mtc(hello, "stage", "cascade", "nosuch", code=1)
    assert "no stage named 'nosuch'" in err


def first_batch_loss(folder: Path, stage: str, model_of: str) -> float:
    """The total loss of ``model_of``'s final networks on ``stage``'s first batch (its seed draws the same points)."""
    problem = load_problem(folder)
    with StageBook(folder) as book:
        config = book.stage(stage).config
    terms = build_terms(problem, compile_problem(problem), config, np.random.default_rng(config["training"]["seed"]))
    bindings = bind(problem, load_stage(folder, model_of).networks)
    return sum(float(t.loss(bindings, t.columns(torch.float64, torch.device("cpu"))).detach()) for t in terms)


def test_train_all_trains_the_cascade_in_order_and_each_first_loss_chains_exactly(hello):
    mtc(hello, "stage", "cascade", "stage1", "--levels", "3", "--steps", "3,3,3")
    mtc(hello, "train", "--all")
    chain = ["stage1", "stage1-x2", "stage1-x4", "stage1-x8"]
    with StageBook(hello) as book:
        records = [book.stage(name) for name in chain]
        first = {name: book.storage.loss_rows(name, keys=["total"])[0] for name in chain[1:]}
    assert all(r.status == "done" for r in records)
    for parent, child in zip(records, records[1:]):
        assert child.started_at >= parent.finished_at  # a level waits for the one before
        assert child.step_offset == parent.step_offset + parent.config["training"]["max_steps"]
    for parent, child in zip(chain, chain[1:]):
        assert first[child]["step"] == 0  # its first logged loss, before its first update
        assert first[child]["value"] == pytest.approx(first_batch_loss(hello, child, parent), rel=1e-12, abs=1e-15)
