"""End to end from the command line: train, status, logs, infer on the shipped examples (CPU)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from engine.store import open_storage

from conftest import run_mtc, wait_until

HELLO_STAGE1 = [
    "nets.NN.layer_size=32", "nets.NN.nr_layers=2", "training.max_steps=3000", "optimizer.lr=0.01",
    "scheduler.decay_rate=0.8", "training.precision=float64", "constraints.diffusion.batch_size=128",
    "constraints.ends.batch_size=16", "training.log_every=50",
]  # fmt: skip


def mtc_ok(*args, cwd):
    result = run_mtc(*args, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def sets(assignments):
    return [arg for a in assignments for arg in ("--set", a)]


def relative_error(folder, stage, tmp_path):
    x = np.linspace(0, 1, 501)
    pd.DataFrame({"x": x}).to_csv(tmp_path / "points.csv", index=False)
    mtc_ok("infer", "--stage", stage, "--input", str(tmp_path / "points.csv"), "--output", str(tmp_path / "out.csv"), cwd=folder)
    out = pd.read_csv(tmp_path / "out.csv")
    exact = x * (1 - x) / 2
    return np.linalg.norm(out["u"] - exact) / np.linalg.norm(exact)


@pytest.mark.slow
def test_hello_world_adam_then_lbfgs_child(tmp_path):
    mtc_ok("create", "hello", "--example", "hello-world", cwd=tmp_path)
    folder = tmp_path / "hello"
    mtc_ok("init-conf", cwd=folder)
    mtc_ok("stage", "set", "stage1", *HELLO_STAGE1, cwd=folder)
    mtc_ok("train", cwd=folder)
    adam = relative_error(folder, "stage1", tmp_path)
    assert adam < 1e-3
    mtc_ok("stage", "child", "stage1", *sets(["optimizer.name=lbfgs", "training.max_steps=30", "training.resample_every=1000"]), cwd=folder)
    mtc_ok("train", "--stage", "stage2", cwd=folder)
    assert relative_error(folder, "stage2", tmp_path) < adam / 2
    status = {row["name"]: row for row in json.loads(mtc_ok("status", "--json", cwd=folder).stdout)}
    assert status["stage1"]["status"] == status["stage2"]["status"] == "done"
    assert status["stage1"]["step"] == 3000 and status["stage2"]["parent"] == "stage1"
    with open_storage(folder) as storage:
        assert storage.get_stage("stage2").step_offset == 3000
    assert "checkpoint at step 3000" in mtc_ok("logs", "stage1", cwd=folder).stdout
    again = mtc_ok("train", "--stage", "stage1", cwd=folder)
    assert "stage1 is already done" in again.stdout


@pytest.mark.slow
def test_heat_interface_trains_both_networks_then_a_frozen_child(tmp_path):
    mtc_ok("create", "heat", "--example", "heat-interface", cwd=tmp_path)
    folder = tmp_path / "heat"
    mtc_ok("init-conf", cwd=folder)
    small = [f"nets.{n}.{k}" for n in ("metalNN", "paperNN") for k in ("layer_size=32", "nr_layers=2")]
    small += [f"constraints.{c}.batch_size=128" for c in ("metal_diff", "paper_diff")]
    small += ["training.max_steps=800", "optimizer.lr=0.01", "training.precision=float64", "training.log_every=20"]
    mtc_ok("stage", "set", "stage1", *small, cwd=folder)
    mtc_ok("stage", "child", "stage1", *sets(["nets.metalNN.trainable=false", "constraints.interface_eq.include=false", "training.max_steps=50"]), cwd=folder)
    mtc_ok("train", "--stage", "stage2", cwd=folder)  # trains stage1 first: it is stage2's unfinished parent
    with open_storage(folder) as storage:
        keys1 = {r["key"] for r in storage.loss_rows("stage1")}
        keys2 = {r["key"] for r in storage.loss_rows("stage2")}
        totals = [r["value"] for r in storage.loss_rows("stage1", keys=["total"])]
    assert keys1 == {"total", "lr", "grad_norm", "metal_diff", "paper_diff", "interface_eq", "interface_flux"}
    assert "interface_eq" not in keys2 and "interface_flux" in keys2
    assert totals[-1] < totals[0] / 1000
    x = np.linspace(0, 1, 401)
    a, b = 25.0125 / 500.5, -12.5 / 500.5
    exact = np.where(x < 0.5, -(x**2) / 20 + a * x, b * (x - 1))
    from engine.inference import load_stage

    predicted = load_stage(folder, "stage1").predict({"x": x})["T"]
    assert np.linalg.norm(predicted - exact) / np.linalg.norm(exact) < 0.1
    first = torch.load(folder / "training" / "stage1" / "checkpoint.pt", weights_only=False)["networks"]
    second = torch.load(folder / "training" / "stage2" / "checkpoint.pt", weights_only=False)["networks"]
    assert all(torch.equal(v, second["metalNN"][k]) for k, v in first["metalNN"].items())
    assert not all(torch.equal(v, second["paperNN"][k]) for k, v in first["paperNN"].items())


@pytest.fixture
def small_hello(tmp_path):
    mtc_ok("create", "hello", "--example", "hello-world", cwd=tmp_path)
    folder = tmp_path / "hello"
    mtc_ok("init-conf", cwd=folder)
    mtc_ok("stage", "set", "stage1", "nets.NN.layer_size=8", "nets.NN.nr_layers=2", "training.max_steps=20", cwd=folder)
    return folder


def test_bad_train_and_infer_requests(small_hello, tmp_path):
    folder = small_hello
    cases = [
        (["train", "--stage", "nope"], "no stage named 'nope'"),
        (["train", "--workers", "0"], "--workers must be at least 1"),
        (["infer", "--stage", "stage1", "--input", "missing.csv", "--output", "o.csv"], "does not exist"),
        (["infer", "--stage", "stage1", "--input", str(folder / "problem.py"), "--output", "o.csv"], "no checkpoint"),
        (["cancel"], "name a stage to cancel"),
    ]
    if not torch.cuda.is_available():
        cases.append((["train", "--device", "cuda"], "no CUDA device"))
    for args, message in cases:
        result = run_mtc(*args, cwd=folder)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)
    mtc_ok("train", cwd=folder)
    pd.DataFrame({"y": [0.5]}).to_csv(tmp_path / "bad.csv", index=False)
    result = run_mtc("infer", "--stage", "stage1", "--input", str(tmp_path / "bad.csv"), "--output", "o.csv", cwd=folder)
    assert result.returncode == 1 and "inputs lack the column(s) ['x']" in result.stderr
    assert not (folder / "o.csv").exists()


def test_child_with_a_different_depth_is_refused_when_made_and_when_queued(small_hello):
    folder = small_hello
    result = run_mtc("stage", "child", "stage1", "--set", "nets.NN.nr_layers=3", cwd=folder)
    assert result.returncode == 1 and "nr_layers 2 -> 3 changes the depth" in result.stderr
    mtc_ok("stage", "child", "stage1", cwd=folder)
    with open_storage(folder) as storage:  # made incompatible behind mtc's back (an older mtc, a script)
        config = storage.get_stage("stage2").config
        storage.update_config("stage2", {**config, "nets": {"NN": {**config["nets"]["NN"], "nr_layers": 3}}})
    result = run_mtc("train", "--stage", "stage2", cwd=folder)
    assert result.returncode == 1 and "nr_layers 2 -> 3 changes the depth" in result.stderr
    with open_storage(folder) as storage:
        assert {s.status for s in storage.list_stages()} == {"draft"}


def test_child_of_a_failed_parent_is_refused(small_hello):
    folder = small_hello
    (folder / "problem.py").write_text((folder / "problem.py").read_text().replace("Eq(u, 0)", "Eq(log(u - 10), 0)"))
    result = run_mtc("train", cwd=folder)
    assert result.returncode == 1 and "non-finite loss at step 0" in result.stderr
    mtc_ok("stage", "child", "stage1", cwd=folder)
    result = run_mtc("train", "--stage", "stage2", cwd=folder)
    assert result.returncode == 1 and "its ancestor 'stage1' failed" in result.stderr


def test_detached_training_outlives_the_command(small_hello):
    folder = small_hello
    result = mtc_ok("train", "--detach", cwd=folder)
    assert "training in the background" in result.stdout
    # the command has returned; the stage finishes later, in the background (ceiling, not a speed)
    wait_until(lambda: json.loads(mtc_ok("status", "--json", cwd=folder).stdout)[0]["status"] == "done", 300, "stage1 to finish")
    assert json.loads(mtc_ok("status", "--json", cwd=folder).stdout)[0]["loss"] is not None
