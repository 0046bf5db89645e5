"""Stages trained on the forward-derivative path: same loss curve as nested autograd, the path chosen and
said in the stage log, refusals by name, and a compile failure that falls back instead of failing."""

from __future__ import annotations

import pytest
import torch

from test_correction import config_for, one_thread  # noqa: F401  (one_thread: an autouse fixture)

from engine.compile import NetworkBinding
from engine.compile.forward import ForwardPlan
from engine.errors import MtcError
from engine.nets import build_network
from engine.problem import load_problem
from engine.project import create_project
from engine.stages import StageBook
from engine.train import StageHooks, StagePlan, train_stage
from engine.train.loss_step import choose_path

TRAINING = {"derivatives": "forward", "compile": "off", "max_steps": 10}


@pytest.fixture
def hello(tmp_path):
    return create_project(tmp_path / "hello", example="hello-world")


def curve(folder, stage, *assignments):
    rows, notes = [], []
    hooks = StageHooks(log=rows.extend, info=notes.append, warn=notes.append)
    config = config_for(folder, "training.max_steps=6", *assignments)
    train_stage(StagePlan(folder, stage, config), hooks)
    return [value for _, _, key, value in rows if key == "total"], notes


def test_a_stage_on_either_path_follows_the_same_loss_curve(hello):
    forward, notes = curve(hello, "fwd", "training.derivatives=forward", "training.compile=off")
    nested, nested_notes = curve(hello, "ag", "training.derivatives=autograd")
    assert len(forward) == 6
    assert forward == pytest.approx(nested, rel=1e-10)
    assert notes == ["derivatives: forward derivatives, not compiled (training.compile=off)"]
    assert nested_notes == ["derivatives: nested autograd (training.derivatives=autograd); not compiled"]
    auto_notes = curve(hello, "auto")[1]  # 6 steps of a 16x2 network: too little to repay a compile warm-up
    assert len(auto_notes) == 1
    assert auto_notes[0].startswith("derivatives: forward derivatives, not compiled (training.compile=auto and steps x points")


def test_a_stage_builds_each_terms_forward_plan_once(hello, monkeypatch):
    built = []
    build = ForwardPlan.build.__func__

    def counted(cls, networks, requests):
        built.append(list(requests))
        return build(cls, networks, requests)

    monkeypatch.setattr(ForwardPlan, "build", classmethod(counted))
    curve(hello, "once", "training.derivatives=forward", "training.compile=off")
    assert len(built) == len(load_problem(hello).constraints)  # one plan per loss term, none rebuilt at install


def uncovered_binding() -> dict[str, NetworkBinding]:
    net = build_network({"layer_size": 4, "nr_layers": 1}, 1, 1, seed=0, dtype=torch.float64)
    net.trunk.act = torch.nn.Softplus()
    return {"NN": NetworkBinding(("x",), ("u",), net)}


def test_an_uncovered_layer_is_refused_under_forward_and_falls_back_under_auto():
    with pytest.raises(MtcError, match=r"training.derivatives=forward: network 'NN' has layer trunk.act \(Softplus\)"):
        choose_path(TRAINING, "adam", uncovered_binding(), [])
    choice = choose_path({**TRAINING, "derivatives": "auto"}, "adam", uncovered_binding(), [])
    assert (choice.derivatives, choice.compiled) == ("autograd", False)
    assert "trunk.act (Softplus)" in choice.reason


@pytest.mark.slow
def test_a_compiled_stage_matches_and_a_compile_failure_falls_back_with_one_warning(hello, monkeypatch):
    nested, _ = curve(hello, "ag", "training.derivatives=autograd")
    compiled, notes = curve(hello, "on", "training.compile=on")
    assert compiled == pytest.approx(nested, rel=1e-9)
    assert notes[0] == "derivatives: forward derivatives, compiled (torch.compile mode default)"
    assert notes[1].startswith("compile warm-up took")
    torch._dynamo.reset()
    monkeypatch.setattr(torch._inductor.config.cpp, "cxx", ("no-such-compiler",))  # a real compile failure
    broken, notes = curve(hello, "broken", "training.compile=on")
    assert broken == pytest.approx(nested, rel=1e-9)
    warnings = [n for n in notes if n.startswith("torch.compile failed")]
    assert len(warnings) == 1


def test_a_kan_stage_on_either_path_follows_the_same_loss_curve(hello):
    """KAN layers have jet rules: training.derivatives=forward is accepted for a KAN and trains it as nested
    autograd does."""
    kan = ["nets.NN.arch=kan", "nets.NN.width=[4, 3]"]
    forward, notes = curve(hello, "fwd", *kan, "training.derivatives=forward", "training.compile=off")
    nested, _ = curve(hello, "ag", *kan, "training.derivatives=autograd")
    assert notes == ["derivatives: forward derivatives, not compiled (training.compile=off)"]
    assert len(forward) == 6 and forward == pytest.approx(nested, rel=1e-10)
    with StageBook(hello) as book:
        book.init_conf()
        book.edit("stage1", [*kan, "training.derivatives=forward"])