"""Typed stage configuration: defaults, validation, CLI edits, variants, merge, UI descriptors."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import pytest

from engine.config import (
    ConfigError,
    ConstraintOutline,
    NetworkOutline,
    ProblemOutline,
    config_json_schema,
    default_config,
    describe_fields,
    flatten,
    get_value,
    merge_with_problem,
    set_values,
    validate_config,
)
from engine.config.docs_table import BEGIN, END, key_table
from engine.config.introspect import union_for_section
from engine.errors import MtcError

XY = ("x", "y")
INTERIOR = ConstraintOutline("interior", frozenset({"x", "y", "sdf"}))
BOUNDARY = ConstraintOutline("boundary", frozenset({"x", "y", "normal_x", "normal_y"}))


def seed_outline(data: tuple[str, ...] = ()) -> ProblemOutline:
    """The seed example: metal and paper with an interface between them."""
    return ProblemOutline(
        networks={"metalNN": NetworkOutline(XY, ("T_metal",)), "paperNN": NetworkOutline(XY, ("T_paper",))},
        constraints={
            "metal_diff": INTERIOR,
            "paper_diff": INTERIOR,
            "interface_eq": BOUNDARY,
            "interface_flux": BOUNDARY,
        },
        data=data,
    )


@pytest.fixture
def outline() -> ProblemOutline:
    return seed_outline()


@pytest.fixture
def cfg(outline: ProblemOutline) -> dict:
    return default_config(outline)


def raises_on(key: str, *fragments: str):
    """Context manager: a ConfigError whose key and message name ``key`` (and ``fragments``)."""

    class _Check:
        def __enter__(self):
            self._ctx = pytest.raises(ConfigError)
            self.info = self._ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self._ctx.__exit__(*exc)
            err = self.info.value
            assert err.key == key, str(err)
            assert str(err).startswith(key + ":"), str(err)
            for fragment in fragments:
                assert fragment in str(err), f"{fragment!r} not in {str(err)!r}"
            return handled

    return _Check()


# ----------------------------------------------------------------------------- defaults


def test_defaults_for_two_network_outline(cfg: dict, outline: ProblemOutline) -> None:
    assert list(cfg) == ["training", "scheduler", "optimizer", "nets", "constraints", "data", "unknowns"]
    assert cfg["training"] == {
        "max_steps": 1000,
        "precision": "float32",
        "device": "auto",
        "seed": 0,
        "log_every": 10,
        "checkpoint_every": 500,
        "grad_clip": None,
        "target_loss": None,
        "resample_every": 1,
        "sampler": "uniform",
        "sampled": False,
        "correction_frequency": "error",
        "then_lbfgs_steps": 0,
        "then_lm_steps": 0,
        "loss_balancing": "none",
        "balance_every": 10,
        "balance_alpha": 0.1,
        "balance_lr": 0.025,
        "gradnorm_alpha": 1.5,
        "relobralo_temperature": 0.1,
        "relobralo_rho": 0.999,
        "stop_on_plateau": False,
        "plateau_patience": 20,
        "plateau_min_delta": 0.001,
        "rad": {"k": 1.0, "c": 1.0, "pool": 10000, "pool_sampler": "sobol", "add": 100, "max_growth": 2.0},
        "derivatives": "auto",
        "compile": "auto",
        "max_time": None,
        "correction_resample_every": 0,
    }
    assert cfg["scheduler"] == {"name": "exponential", "decay_rate": 0.95, "decay_steps": 200}
    assert cfg["optimizer"] == {"name": "adam", "lr": 5e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}
    assert list(cfg["nets"]) == ["metalNN", "paperNN"]
    for net in cfg["nets"].values():
        assert net == {
            "arch": "fully_connected",
            "trainable": True,
            "layer_size": 512,
            "nr_layers": 6,
            "activation": "silu",
            "skip_connections": False,
            "init": "default",
        }
    assert list(cfg["constraints"]) == ["metal_diff", "paper_diff", "interface_eq", "interface_flux"]
    for c in cfg["constraints"].values():
        assert c == {"include": True, "batch_size": 1000, "weight": 1.0, "integral_batches": 1, "hard": False}
    assert cfg["data"] == {}
    assert json.loads(json.dumps(cfg)) == cfg
    assert validate_config(cfg, outline) == cfg


def test_data_defaults() -> None:
    cfg = default_config(seed_outline(data=("thermocouples",)))
    assert cfg["data"] == {"thermocouples": {"include": True, "batch_size": 1000, "weight": 1.0}}


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("optimizer.name=adamw", {"name": "adamw", "lr": 5e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 1e-2}),
        ("optimizer.name=sgd", {"name": "sgd", "lr": 1e-3, "momentum": 0.9, "weight_decay": 0.0}),
        (
            "optimizer.name=lbfgs",
            {"name": "lbfgs", "lr": 1.0, "max_iter": 20, "history_size": 100, "line_search": "strong_wolfe"},
        ),
        ("scheduler.name=constant", {"name": "constant"}),
        ("scheduler.name=step", {"name": "step", "step_size": 1000, "gamma": 0.5}),
        ("scheduler.name=cosine", {"name": "cosine", "t_max": None, "eta_min": 0.0}),
        (
            "scheduler.name=plateau",
            {"name": "plateau", "factor": 0.5, "patience": 10, "threshold": 1e-4, "min_lr": 0.0},
        ),
    ],
)
def test_variant_defaults(cfg: dict, outline: ProblemOutline, assignment: str, expected: dict) -> None:
    section = assignment.split(".")[0]
    assert set_values(cfg, [assignment], outline)[section] == expected


@pytest.mark.parametrize(
    ("arch", "extra"),
    [
        ("fourier", {"frequencies": 32, "sigma": 1.0, "activation": "silu"}),
        ("modified_fourier", {"frequencies": 32, "sigma": 1.0, "activation": "silu"}),
        ("siren", {"omega0": 30.0, "activation": "sin"}),
    ],
)
def test_arch_defaults(cfg: dict, outline: ProblemOutline, arch: str, extra: dict) -> None:
    net = set_values(cfg, [f"nets.metalNN.arch={arch}"], outline)["nets"]["metalNN"]
    assert net["arch"] == arch and net["layer_size"] == 512 and net["nr_layers"] == 6
    assert {k: net[k] for k in extra} == extra


def test_json_schema_is_available() -> None:
    schema = config_json_schema()
    assert "training" in schema["properties"] and "$defs" in schema


# ----------------------------------------------------------------------- set_values


def test_set_values_example_from_the_cli(cfg: dict, outline: ProblemOutline) -> None:
    new = set_values(
        cfg,
        ["training.max_steps=4000", "nets.metalNN.trainable=false", "constraints.interface_eq.include=false"],
        outline,
    )
    assert new["training"]["max_steps"] == 4000
    assert new["nets"]["metalNN"]["trainable"] is False
    assert new["constraints"]["interface_eq"]["include"] is False
    changed = {k for k, v in flatten(new).items() if flatten(cfg)[k] != v}
    assert changed == {"training.max_steps", "nets.metalNN.trainable", "constraints.interface_eq.include"}


def test_set_values_does_not_mutate_its_input(cfg: dict, outline: ProblemOutline) -> None:
    before = copy.deepcopy(cfg)
    new = set_values(cfg, ["optimizer.name=sgd", "optimizer.momentum=0.5", "nets.paperNN.arch=siren"], outline)
    assert cfg == before
    assert new is not cfg and new["optimizer"] is not cfg["optimizer"]
    with pytest.raises(ConfigError):
        set_values(cfg, ["training.max_steps=5", "optimizer.lr=-1"], outline)
    assert cfg == before
    new["nets"]["metalNN"]["layer_size"] = 3  # the result shares nothing with the input
    assert cfg == before


def test_set_values_accepts_a_mapping_of_typed_values(cfg: dict, outline: ProblemOutline) -> None:
    new = set_values(cfg, {"training.max_steps": 250, "optimizer.betas": [0.5, 0.6], "training.grad_clip": 2}, outline)
    assert new["training"]["max_steps"] == 250
    assert new["optimizer"]["betas"] == [0.5, 0.6]
    assert new["training"]["grad_clip"] == 2.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [(w, True) for w in ("true", "True", "yes", "1", "on", "ON")]
    + [(w, False) for w in ("false", "FALSE", "no", "0", "off")],
)
def test_bool_words(cfg: dict, outline: ProblemOutline, text: str, expected: bool) -> None:
    assert set_values(cfg, [f"nets.paperNN.skip_connections={text}"], outline)["nets"]["paperNN"]["skip_connections"] is expected


@pytest.mark.parametrize(
    ("assignment", "key", "expected"),
    [
        ("training.max_steps=4e3", "training.max_steps", 4000),
        ("training.max_steps= 4_000 ", "training.max_steps", 4000),
        ("optimizer.lr=1e-2", "optimizer.lr", 0.01),
        ("optimizer.lr=1", "optimizer.lr", 1.0),
        ("training.grad_clip=1.5", "training.grad_clip", 1.5),
        ("training.grad_clip=off", "training.grad_clip", None),
        ("training.target_loss=1e-4", "training.target_loss", 1e-4),
        ("training.target_loss=none", "training.target_loss", None),
        ("training.target_loss=null", "training.target_loss", None),
        ("optimizer.betas=0.8,0.99", "optimizer.betas", [0.8, 0.99]),
        ("optimizer.betas=[0.8, 0.99]", "optimizer.betas", [0.8, 0.99]),
        ("optimizer.betas=(0.8, 0.99)", "optimizer.betas", [0.8, 0.99]),
        ("training.precision=FLOAT64", "training.precision", "float64"),
        ("training.sampler=sobol", "training.sampler", "sobol"),
        ("training.device=cuda:1", "training.device", "cuda:1"),
        ("training.device=CPU", "training.device", "cpu"),
        ("constraints.metal_diff.weight=2.5", "constraints.metal_diff.weight", 2.5),
        ("constraints.metal_diff.weight=2*pi", "constraints.metal_diff.weight", pytest.approx(6.283185307)),
        ("constraints.metal_diff.weight=sdf", "constraints.metal_diff.weight", "sdf"),
        ("constraints.metal_diff.weight=2*sdf", "constraints.metal_diff.weight", "2*sdf"),
        ("constraints.interface_eq.weight=1 + normal_x^2", "constraints.interface_eq.weight", "1 + normal_x^2"),
        ("nets.metalNN.activation=tanh", "nets.metalNN.activation", "tanh"),
    ],
)
def test_cli_strings_are_parsed_with_the_field_type(
    cfg: dict, outline: ProblemOutline, assignment: str, key: str, expected: object
) -> None:
    assert get_value(set_values(cfg, [assignment], outline), key) == expected


def test_optional_setting_round_trip(cfg: dict, outline: ProblemOutline) -> None:
    on = set_values(cfg, ["training.grad_clip=1.0"], outline)
    assert set_values(on, ["training.grad_clip=off"], outline)["training"]["grad_clip"] is None
    # "off" stored in hand-edited JSON is accepted too
    hand = copy.deepcopy(cfg)
    hand["training"]["grad_clip"] = "off"
    assert validate_config(hand, outline)["training"]["grad_clip"] is None


# ----------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("assignment", "key", "fragments"),
    [
        ("optimizer.lr=0", "optimizer.lr", ["0.0", "> 0"]),
        ("optimizer.lr=-1e-3", "optimizer.lr", ["-0.001", "> 0"]),
        ("constraints.metal_diff.batch_size=0", "constraints.metal_diff.batch_size", ["0", ">= 1"]),
        ("data.thermocouples.batch_size=0", "data.thermocouples.batch_size", [">= 1"]),
        ("optimizer.name=nadam", "optimizer.name", ["nadam", "adam, adamw, sgd, lbfgs", "did you mean adam"]),
        ("scheduler.name=linear", "scheduler.name", ["constant, exponential, step, cosine, plateau"]),
        ("nets.metalNN.arch=resnet", "nets.metalNN.arch", ["fully_connected, fourier, modified_fourier, siren"]),
        ("training.max_step=10", "training.max_step", ["unknown setting", "did you mean training.max_steps"]),
        ("optimizer.learning_rate=0.1", "optimizer.learning_rate", ["unknown setting"]),
        ("training.max_steps=abc", "training.max_steps", ['"abc"', "an integer >= 1"]),
        ("training.max_steps=1.5", "training.max_steps", ["an integer >= 1"]),
        ("training.max_steps=0", "training.max_steps", [">= 1"]),
        ("training.seed=-1", "training.seed", [">= 0"]),
        ("optimizer.betas=0.9,1.0", "optimizer.betas", ["1.0", "[0, 1)"]),
        ("optimizer.betas=-0.1,0.9", "optimizer.betas", ["-0.1", "[0, 1)"]),
        ("optimizer.betas=0.9", "optimizer.betas", ["2 numbers"]),
        ("optimizer.betas=0.9,0.99,0.999", "optimizer.betas", ["2 numbers"]),
        ("optimizer.betas=a,b", "optimizer.betas", ["a list of numbers"]),
        ("optimizer.eps=0", "optimizer.eps", ["> 0"]),
        ("optimizer.weight_decay=-0.1", "optimizer.weight_decay", [">= 0"]),
        ("optimizer.momentum=0.5", "optimizer.momentum", ["optimizer.name", "sgd"]),
        ("scheduler.t_max=100", "scheduler.t_max", ["cosine"]),
        ("scheduler.decay_rate=0", "scheduler.decay_rate", ["(0, 1]"]),
        ("scheduler.decay_rate=1.5", "scheduler.decay_rate", ["(0, 1]"]),
        ("scheduler.decay_steps=0", "scheduler.decay_steps", [">= 1"]),
        ("training.precision=float16", "training.precision", ["float32, float64"]),
        ("training.sampler=grid", "training.sampler", ["uniform, sobol, halton"]),
        ("training.device=gpu", "training.device", ["auto, cpu, cuda or cuda:N"]),
        ("training.grad_clip=0", "training.grad_clip", ["off", "> 0"]),
        ("training.grad_clip=abc", "training.grad_clip", ["off", "> 0"]),
        ("training.target_loss=-1", "training.target_loss", ["> 0"]),
        ("nets.metalNN.trainable=maybe", "nets.metalNN.trainable", ["maybe", "true/false"]),
        ("nets.metalNN.layer_size=0", "nets.metalNN.layer_size", [">= 1"]),
        ("nets.metalNN.activation=swish", "nets.metalNN.activation", ["tanh, silu, gelu, sin, relu"]),
        ("nets.metalNN.omega0=10", "nets.metalNN.omega0", ["siren"]),
        ("nets.fooNN.layer_size=64", "nets.fooNN.layer_size", ["no network", "metalNN, paperNN"]),
        ("nets.metalnn.layer_size=64", "nets.metalnn.layer_size", ["did you mean metalNN"]),
        ("constraints.inlet.include=false", "constraints.inlet.include", ["no constraint"]),
        ("data.probes.weight=2", "data.probes.weight", ["no data constraint", "thermocouples"]),
        ("data.thermocouples.weight=sdf", "data.thermocouples.weight", ['"sdf"', "a number >= 0"]),
        ("constraints.metal_diff.weight=foo*sdf", "constraints.metal_diff.weight", ['"foo"', "sdf, x, y"]),
        ("constraints.metal_diff.weight=normal_x", "constraints.metal_diff.weight", ["normal_x", "interior"]),
        ("constraints.interface_eq.weight=2*sdf", "constraints.interface_eq.weight", ["sdf", "normal_x, normal_y, x, y"]),
        ("constraints.metal_diff.weight=-1", "constraints.metal_diff.weight", [">= 0"]),
        ("constraints.metal_diff.weight=2*(sdf", "constraints.metal_diff.weight", ["not a valid expression"]),
        ("constraints.metal_diff.weight=__import__('os')", "constraints.metal_diff.weight", ["not a valid expression"]),
        ("constraints.metal_diff.weight=sdf.func", "constraints.metal_diff.weight", ["not a valid expression"]),
        ("constraints.metal_diff.weight=log(-1)", "constraints.metal_diff.weight", ["not a real number"]),
        ("constraints.metal_diff.batch_size=many", "constraints.metal_diff.batch_size", ["an integer >= 1"]),
        ("nets.metalNN=3", "nets.metalNN", ["a section", "nets.metalNN.layer_size"]),
        ("bogus.key=1", "bogus.key", ["unknown setting", "training"]),
    ],
)
def test_bad_assignments_name_the_key(assignment: str, key: str, fragments: list[str]) -> None:
    outline = seed_outline(data=("thermocouples",))
    cfg = default_config(outline)
    with raises_on(key, *fragments):
        set_values(cfg, [assignment], outline)


def test_config_error_is_a_user_facing_error() -> None:
    assert issubclass(ConfigError, MtcError)


def test_siren_rejects_other_activations(cfg: dict, outline: ProblemOutline) -> None:
    with raises_on("nets.metalNN.activation", "one of sin"):
        set_values(cfg, ["nets.metalNN.arch=siren", "nets.metalNN.activation=tanh"], outline)


def test_malformed_assignment(cfg: dict, outline: ProblemOutline) -> None:
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        set_values(cfg, ["training.max_steps"], outline)


@pytest.mark.parametrize(
    ("mutate", "key", "fragment"),
    [
        (lambda c: c["nets"].update(inkNN={}), "nets.inkNN", "no network"),
        (lambda c: c["nets"].pop("paperNN"), "nets.paperNN", "missing"),
        (lambda c: c["constraints"].pop("interface_flux"), "constraints.interface_flux", "init-conf"),
        (lambda c: c.update(version=2), "version", "unknown setting"),
        (lambda c: c["training"].update(epochs=3), "training.epochs", "unknown setting"),
        (lambda c: c["optimizer"].update(momentum=0.5), "optimizer.momentum", "sgd"),
        (lambda c: c["training"].update(max_steps="abc"), "training.max_steps", "an integer >= 1"),
        (lambda c: c["optimizer"].update(lr=0), "optimizer.lr", "> 0"),
        (lambda c: c["optimizer"].update(name="nadam"), "optimizer.name", "adam, adamw, sgd, lbfgs"),
        (lambda c: c["optimizer"].update(betas=[0.9, 1.5]), "optimizer.betas", "item 2"),
        (lambda c: c["nets"]["metalNN"].update(arch="resnet"), "nets.metalNN.arch", "siren"),
        (lambda c: c["nets"]["metalNN"].update(sigma=2.0), "nets.metalNN.sigma", "fourier"),
        (lambda c: c["constraints"]["metal_diff"].update(weight="normal_y*2"), "constraints.metal_diff.weight", "normal_y"),
        (lambda c: c["constraints"]["metal_diff"].update(weight=True), "constraints.metal_diff.weight", "true"),
        (lambda c: c["constraints"]["metal_diff"].update(batch_size=0), "constraints.metal_diff.batch_size", ">= 1"),
        (lambda c: c.update(training=5), "training", "JSON object"),
        (lambda c: c["training"].update(grad_clip=float("inf")), "training.grad_clip", "> 0"),
    ],
)
def test_bad_stored_configs_name_the_key(cfg: dict, outline: ProblemOutline, mutate, key: str, fragment: str) -> None:
    bad = copy.deepcopy(cfg)
    mutate(bad)
    with raises_on(key, fragment):
        validate_config(bad, outline)


def test_validate_fills_missing_settings_and_discriminators(cfg: dict, outline: ProblemOutline) -> None:
    sparse = {
        "optimizer": {"lr": 0.01},  # no name: the default optimizer
        "nets": {"metalNN": {"layer_size": 64}, "paperNN": {}},
        "constraints": {name: {} for name in outline.constraints},
    }
    full = validate_config(sparse, outline)
    assert full["optimizer"]["name"] == "adam" and full["optimizer"]["lr"] == 0.01
    assert full["nets"]["metalNN"]["arch"] == "fully_connected" and full["nets"]["metalNN"]["layer_size"] == 64
    assert full["training"] == cfg["training"]


def test_validate_orders_entries_like_the_outline(cfg: dict, outline: ProblemOutline) -> None:
    shuffled = copy.deepcopy(cfg)
    shuffled["nets"] = dict(reversed(list(shuffled["nets"].items())))
    assert list(validate_config(shuffled, outline)["nets"]) == ["metalNN", "paperNN"]


# -------------------------------------------------------------------- variant switch


def test_switch_to_lbfgs_uses_its_defaults(cfg: dict, outline: ProblemOutline) -> None:
    new = set_values(cfg, ["optimizer.name=lbfgs"], outline)["optimizer"]
    assert new == {"name": "lbfgs", "lr": 1.0, "max_iter": 20, "history_size": 100, "line_search": "strong_wolfe"}


def test_switch_keeps_edits_the_new_optimizer_accepts(cfg: dict, outline: ProblemOutline) -> None:
    edited = set_values(cfg, ["optimizer.lr=0.01", "optimizer.betas=0.8,0.9", "optimizer.weight_decay=1e-4"], outline)
    sgd = set_values(edited, ["optimizer.name=sgd"], outline)["optimizer"]
    assert sgd == {"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}  # betas: sgd has none
    lbfgs = set_values(edited, ["optimizer.name=lbfgs"], outline)["optimizer"]
    assert lbfgs["lr"] == 0.01 and "betas" not in lbfgs and "weight_decay" not in lbfgs
    adamw = set_values(edited, ["optimizer.name=adamw"], outline)["optimizer"]
    assert adamw["betas"] == [0.8, 0.9] and adamw["weight_decay"] == 1e-4


def test_switch_does_not_carry_untouched_defaults(cfg: dict, outline: ProblemOutline) -> None:
    adamw = set_values(cfg, ["optimizer.name=adamw"], outline)["optimizer"]
    assert adamw["weight_decay"] == 1e-2  # adam's default 0 was not an edit
    back = set_values({**cfg, "optimizer": adamw}, ["optimizer.name=adam"], outline)["optimizer"]
    assert back["weight_decay"] == 0.0  # adamw's default 1e-2 was not an edit either


def test_switch_to_same_name_changes_nothing(cfg: dict, outline: ProblemOutline) -> None:
    edited = set_values(cfg, ["optimizer.lr=0.05"], outline)
    assert set_values(edited, ["optimizer.name=adam"], outline) == edited


def test_selector_is_applied_first_in_any_order(cfg: dict, outline: ProblemOutline) -> None:
    a = set_values(cfg, ["optimizer.momentum=0.5", "optimizer.name=sgd"], outline)
    b = set_values(cfg, ["optimizer.name=sgd", "optimizer.momentum=0.5"], outline)
    assert a == b and a["optimizer"]["momentum"] == 0.5
    c = set_values(cfg, ["optimizer.lr=0.5", "optimizer.name=lbfgs"], outline)
    assert c["optimizer"]["lr"] == 0.5


def test_scheduler_switch(cfg: dict, outline: ProblemOutline) -> None:
    new = set_values(cfg, ["scheduler.name=cosine", "scheduler.t_max=3000"], outline)["scheduler"]
    assert new == {"name": "cosine", "t_max": 3000, "eta_min": 0.0}


def test_architecture_switch(cfg: dict, outline: ProblemOutline) -> None:
    edited = set_values(
        cfg, ["nets.metalNN.layer_size=128", "nets.metalNN.activation=tanh", "nets.metalNN.trainable=no"], outline
    )
    fourier = set_values(edited, ["nets.metalNN.arch=fourier"], outline)["nets"]["metalNN"]
    assert fourier["layer_size"] == 128 and fourier["activation"] == "tanh" and fourier["trainable"] is False
    assert fourier["frequencies"] == 32
    siren = set_values(edited, ["nets.metalNN.arch=siren"], outline)["nets"]["metalNN"]
    assert siren["activation"] == "sin" and siren["layer_size"] == 128 and siren["omega0"] == 30.0
    # siren's forced sin is its default, so it does not follow the net back
    fc = set_values({**edited, "nets": {**edited["nets"], "metalNN": siren}}, ["nets.metalNN.arch=fully_connected"], outline)
    assert fc["nets"]["metalNN"]["activation"] == "silu" and "omega0" not in fc["nets"]["metalNN"]
    assert edited["nets"]["paperNN"] == cfg["nets"]["paperNN"]


# ----------------------------------------------------------------------------- merge


def test_merge_keeps_edits_adds_and_drops(outline: ProblemOutline) -> None:
    cfg = set_values(
        default_config(outline),
        [
            "training.max_steps=4000",
            "optimizer.name=sgd",
            "optimizer.lr=0.02",
            "nets.metalNN.arch=siren",
            "nets.metalNN.trainable=false",
            "constraints.metal_diff.weight=2*sdf",
            "constraints.interface_eq.include=false",
        ],
        outline,
    )
    new_outline = ProblemOutline(
        networks={"metalNN": NetworkOutline(XY, ("T_metal",)), "inkNN": NetworkOutline(XY, ("T_ink",))},
        constraints={"metal_diff": INTERIOR, "interface_eq": BOUNDARY, "ink_diff": INTERIOR},
        data=("thermocouples",),
    )
    merged = merge_with_problem(cfg, new_outline)
    defaults = default_config(new_outline)
    assert list(merged["nets"]) == ["metalNN", "inkNN"]
    assert merged["nets"]["metalNN"] == cfg["nets"]["metalNN"]
    assert merged["nets"]["inkNN"] == defaults["nets"]["inkNN"]
    assert list(merged["constraints"]) == ["metal_diff", "interface_eq", "ink_diff"]
    assert merged["constraints"]["metal_diff"] == {"include": True, "batch_size": 1000, "weight": "2*sdf", "integral_batches": 1, "hard": False}
    assert merged["constraints"]["interface_eq"]["include"] is False
    assert merged["constraints"]["ink_diff"] == defaults["constraints"]["ink_diff"]
    assert merged["data"] == defaults["data"]
    for section in ("training", "optimizer", "scheduler"):
        assert merged[section] == cfg[section]
    assert validate_config(merged, new_outline) == merged


def test_merge_of_empty_config_is_the_default(outline: ProblemOutline) -> None:
    assert merge_with_problem({}, outline) == default_config(outline)


def test_merge_reports_a_kept_setting_the_new_problem_rejects(cfg: dict, outline: ProblemOutline) -> None:
    cfg = set_values(cfg, ["constraints.interface_eq.weight=normal_x"], outline)
    now_interior = ProblemOutline(
        networks=outline.networks, constraints={**outline.constraints, "interface_eq": INTERIOR}, data=()
    )
    with raises_on("constraints.interface_eq.weight", "normal_x"):
        merge_with_problem(cfg, now_interior)


# --------------------------------------------------------------------------- describe


def _variant_configs(outline: ProblemOutline):
    """A config for every optimizer x scheduler and every architecture."""
    base = default_config(outline)
    opts = list(union_for_section("optimizer").variants)
    scheds = list(union_for_section("scheduler").variants)
    archs = list(union_for_section("nets").variants)
    for opt, sched, arch in itertools.zip_longest(opts, scheds, archs, fillvalue=None):
        edits = [f"optimizer.name={opt or opts[0]}", f"scheduler.name={sched or scheds[0]}"]
        edits += [f"nets.{net}.arch={arch or archs[0]}" for net in outline.networks]
        yield set_values(base, edits, outline)
    for opt, sched in itertools.product(opts, scheds):
        yield set_values(base, [f"optimizer.name={opt}", f"scheduler.name={sched}"], outline)


def test_describe_fields_covers_every_leaf_key() -> None:
    outline = seed_outline(data=("thermocouples",))
    fields = describe_fields(outline)
    configs = list(_variant_configs(outline))
    assert len(configs) >= 4 + 20
    for config in configs:
        flat = flatten(config)
        active = [d for d in fields if d.active(config)]
        active_keys = [d.key for d in active]
        assert len(active_keys) == len(set(active_keys)), "one active descriptor per key"
        assert set(active_keys) == set(flat), set(active_keys) ^ set(flat)
        for d in active:
            value = flat[d.key]
            if d.type == "choice":
                assert value in d.choices
            if d.depends_on:  # the variant's own defaults are described
                assert d.depends_on.holds(config)


def test_describe_defaults_match_default_config() -> None:
    outline = seed_outline(data=("thermocouples",))
    defaults = default_config(outline)
    flat = flatten(defaults)
    for d in describe_fields(outline):
        if d.active(defaults):
            assert flat[d.key] == d.default, d.key


def test_describe_fields_has_choices_bounds_sections_and_conditions() -> None:
    fields = describe_fields(seed_outline(data=("thermocouples",)))
    by_key: dict[str, list] = {}
    for d in fields:
        by_key.setdefault(d.key, []).append(d)
    (name,) = by_key["optimizer.name"]
    assert name.type == "choice" and name.choices == ("adam", "adamw", "sgd", "lbfgs", "lm", "engd") and name.discriminator
    (momentum,) = by_key["optimizer.momentum"]
    assert momentum.depends_on.key == "optimizer.name" and momentum.depends_on.values == ("sgd",)
    assert {d.default for d in by_key["optimizer.lr"]} == {5e-3, 1e-3, 1.0}  # adam/adamw, sgd, lbfgs
    lr = next(d for d in by_key["optimizer.lr"] if d.default == 5e-3)
    assert lr.minimum == 0 and lr.exclusive_minimum and lr.maximum is None
    (betas,) = by_key["optimizer.betas"]
    assert betas.type == "floatlist" and betas.length == 2
    assert (betas.minimum, betas.maximum, betas.exclusive_minimum, betas.exclusive_maximum) == (0, 1, False, True)
    (decay,) = by_key["scheduler.decay_rate"]
    assert (decay.minimum, decay.maximum, decay.exclusive_minimum, decay.exclusive_maximum) == (0, 1, True, False)
    (max_steps,) = by_key["training.max_steps"]
    assert max_steps.type == "int" and max_steps.minimum == 1 and max_steps.default == 1000 and max_steps.help
    (grad_clip,) = by_key["training.grad_clip"]
    assert grad_clip.nullable and grad_clip.null_label == "off" and grad_clip.type == "float"
    (sampler,) = by_key["training.sampler"]
    assert sampler.choices == ("uniform", "sobol", "halton", "rad", "rar_d")
    (weight,) = by_key["constraints.interface_eq.weight"]
    assert weight.type == "expression" and weight.symbols == ("normal_x", "normal_y", "x", "y")
    assert by_key["constraints.metal_diff.weight"][0].symbols == ("sdf", "x", "y")
    assert by_key["data.thermocouples.weight"][0].type == "float"
    assert by_key["nets.metalNN.trainable"][0].section == "Neural Networks"
    assert by_key["nets.metalNN.layer_size"][0].section == "[metalNN] NN Architecture"
    assert by_key["nets.paperNN.arch"][0].depends_on is None
    assert {d.depends_on.values for d in by_key["nets.metalNN.omega0"]} == {("siren",)}
    sections = list(dict.fromkeys(d.section for d in fields))
    assert sections == [
        "Training",
        "Scheduler",
        "Optimizer",
        "[metalNN] NN Architecture",
        "[paperNN] NN Architecture",
        "Equation Constraints",
        "Neural Networks",
        "Data Constraints",
    ]
    json.dumps([d.to_dict() for d in fields])
    assert by_key["optimizer.betas"][0].to_dict()["allowed"] == "2 numbers, each in [0, 1) (e.g. 0.9,0.999)"


def test_describe_without_outline_uses_placeholders() -> None:
    keys = {d.key for d in describe_fields()}
    assert {"nets.<NET>.layer_size", "constraints.<CONSTRAINT>.weight", "data.<DATA>.weight"} <= keys


# ------------------------------------------------------------------ paths and docs


def test_flatten_and_get_value(cfg: dict) -> None:
    flat = flatten(cfg)
    assert flat["optimizer.lr"] == 5e-3
    assert flat["nets.paperNN.layer_size"] == 512
    assert flat["optimizer.betas"] == [0.9, 0.999]
    assert get_value(cfg, "nets.metalNN.arch") == "fully_connected"
    section = get_value(cfg, "training")
    section["max_steps"] = 1
    assert cfg["training"]["max_steps"] == 1000
    with raises_on("training.max_stepz", "did you mean training.max_steps"):
        get_value(cfg, "training.max_stepz")


def test_docs_list_every_key() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "config.md").read_text()
    generated = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert generated == key_table().strip(), "regenerate with: python -m engine.config.docs_table"
    for d in describe_fields():
        assert f"`{d.key}`" in text
