"""How a stage computes its loss terms each step: the derivative path and, on the forward path, torch.compile.

:func:`choose_path` reads ``training.derivatives`` and ``training.compile`` once, at stage
start, and says why; :class:`LossStep` is what :class:`~engine.train.loop.StepClosure` calls
for the stacked losses. A compiled step that fails at run time falls back, with one
warning, to the same forward path uncompiled.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..compile import NetworkBinding
from ..compile.forward import ForwardPlan, NotCovered, unsupported_layer
from ..config import ProblemOutline
from ..errors import MtcError
from ..nets import build_network, correction_config
from .checkpoint import restore_rng, rng_state
from .terms import LossTerm

if TYPE_CHECKING:
    from .loop import LoopState
    from .stage import StageHooks

COMPILE_MODE = "default"
"""torch.compile mode, chosen by measurement (benchmarks/speed.py; docs/benchmarks.md)."""
COMPILE_MIN_WORK = 1e10
"""``training.compile=auto`` compiles a stage whose steps x points x parameters reach this (minutes of
uncompiled CPU time): smaller ones do not repay a warm-up of tens of seconds."""
COMPILE_MIN_TIME = 300.0
"""``training.compile=auto`` does not compile a stage whose ``training.max_time`` is below this (seconds):
the warm-up, counted in its time, would take much of it."""

Batches = Sequence[Mapping[str, torch.Tensor]]


def stacked_losses(terms: Sequence[Any], bindings: Mapping[str, NetworkBinding], batches: Batches) -> torch.Tensor:
    """Every term's loss on its batch, stacked."""
    return torch.stack([t.loss(bindings, b) for t, b in zip(terms, batches)])


Plans = tuple[ForwardPlan | None, ...]
"""Per loss term, in order: its forward plan (None for an integral term, which keeps nested autograd)."""


@dataclass(frozen=True)
class PathChoice:
    """The derivative path (``forward`` or ``autograd``), whether the step is compiled, and why.

    ``plans``: on the forward path, each term's plan, built once when the path was chosen."""

    derivatives: str
    compiled: bool
    reason: str
    plans: Plans = ()


def forward_plans(bindings: Mapping[str, NetworkBinding], terms: Sequence[Any]) -> Plans | str:
    """Each term's forward plan, or what the forward path does not cover in these networks and terms
    (a layer or a derivative)."""
    for name, binding in bindings.items():
        layer = unsupported_layer(binding.module) if isinstance(binding.module, torch.nn.Module) else "a plain function"
        if layer is not None:
            return f"network {name!r} has layer {layer}"
    plans: list[ForwardPlan | None] = []
    for term in terms:
        try:
            plans.append(ForwardPlan.build(bindings, term_requests(term)) if isinstance(term, LossTerm) else None)
        except NotCovered as exc:
            return f"constraint {term.name!r} asks for {exc.what}"
    return tuple(plans)


def term_requests(term: LossTerm) -> list[tuple[str, tuple[str, ...]]]:
    """The network outputs and derivatives a term's residual and weight read."""
    weight = [] if isinstance(term.weight, float) else list(term.weight.requests)
    return [*term.residual.requests, *weight]


def compiler_missing() -> str | None:
    """Why torch.compile cannot build CPU kernels here (no C++ compiler), or None."""
    return None if any(shutil.which(c) for c in ("g++", "c++", "clang++")) else "no C++ compiler (g++) is installed"


def choose_path(
    training: Mapping[str, Any],
    optimizer: str,
    bindings: Mapping[str, NetworkBinding],
    terms: Sequence[Any],
    work: float = 0.0,
    term_gradients: bool = False,
) -> PathChoice:
    """The stage's derivative path and compile setting; MtcError when ``forward`` is set on what it does not cover.

    ``work`` is the stage's steps x points per step x trainable parameters (``training.compile=auto``);
    ``term_gradients``: the stage's balancer differentiates each term's loss apart (never compiled).
    """
    asked = training["derivatives"]
    plans = () if asked == "autograd" else forward_plans(bindings, terms)
    if asked == "forward" and isinstance(plans, str):
        raise MtcError(f"training.derivatives=forward: {plans}; set training.derivatives=auto or autograd")
    if isinstance(plans, str):
        return PathChoice("autograd", False, f"nested autograd (training.derivatives=auto and {plans}); not compiled")
    if asked == "autograd":
        return PathChoice("autograd", False, "nested autograd (training.derivatives=autograd); not compiled")
    return _compile_choice(training, optimizer, work, plans, term_gradients)


def _compile_choice(
    training: Mapping[str, Any], optimizer: str, work: float, plans: Plans, term_gradients: bool = False
) -> PathChoice:
    setting = training["compile"]
    missing = compiler_missing()
    blocker = (
        "training.compile=off" if setting == "off"
        else f"optimizer {optimizer} computes its own residuals" if optimizer in ("lm", "engd")
        else f"training.loss_balancing={training.get('loss_balancing')} differentiates each term's loss apart, "
        "which a compiled backward does not allow" if term_gradients
        else missing if missing and setting == "auto"
        else f"training.compile=auto and steps x points x parameters = {work:.1e} < {COMPILE_MIN_WORK:.0e}: too little to repay a warm-up"
        if setting == "auto" and work < COMPILE_MIN_WORK
        else f"training.compile=auto and training.max_time={training.get('max_time'):g} s < {COMPILE_MIN_TIME:g} s: "
        "too short to repay a warm-up"
        if setting == "auto" and (training.get("max_time") or math.inf) < COMPILE_MIN_TIME
        else None
    )  # fmt: skip
    if blocker is None:
        return PathChoice("forward", True, f"forward derivatives, compiled (torch.compile mode {COMPILE_MODE})", plans)
    return PathChoice("forward", False, f"forward derivatives, not compiled ({blocker})", plans)


def with_forward_plans(terms: Sequence[Any], plans: Plans) -> list[Any]:
    """The terms, each plain loss term carrying its forward plan (integral terms keep nested autograd)."""
    return [t if plan is None else dataclasses.replace(t, forward=plan) for t, plan in zip(terms, plans, strict=True)]


class LossStep:
    """The stacked losses of a step: compiled when chosen, and uncompiled again (one warning) if that fails."""

    def __init__(self, compiled: bool, warn: Callable[[str], None]):
        self.compiled = compiled
        self.warn = warn
        if compiled:  # a stage starts from an empty cache: a worker's earlier stages would count toward its recompile limit
            torch._dynamo.reset()
        self._compiled = torch.compile(stacked_losses, mode=COMPILE_MODE) if compiled else None

    def __call__(self, terms: Sequence[Any], bindings: Mapping[str, NetworkBinding], batches: Batches) -> torch.Tensor:
        if self._compiled is None:
            return stacked_losses(terms, bindings, batches)
        try:
            return self._compiled(terms, bindings, batches)
        except (MtcError, KeyboardInterrupt):
            raise
        except Exception as exc:  # a compiler failure: the same forward path, uncompiled
            self._compiled, self.compiled = None, False
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self.warn(f"torch.compile failed ({type(exc).__name__}: {first}); training on uncompiled")
            return stacked_losses(terms, bindings, batches)


def warm_up(step: LossStep, terms: Sequence[Any], bindings: Mapping[str, NetworkBinding], draw: Callable[[], Batches],
            parameters: Sequence[torch.nn.Parameter], rng: np.random.Generator) -> float:
    """Compile ``step`` on a batch like the stage's first (the sampler's state restored after); returns seconds."""
    began = time.monotonic()
    saved = rng_state(rng)
    step(terms, bindings, draw()).sum().backward()
    restore_rng(rng, saved)
    for p in parameters:
        p.grad = None
    return time.monotonic() - began


def install(state: LoopState, training: Mapping[str, Any], rng: np.random.Generator, hooks: StageHooks,
            draw: Callable[[], Batches], points: int) -> PathChoice:
    """Put the chosen derivative path on ``state`` (forward plans on its terms, the loss step), say which
    and why in the stage log, and warm a compiled step up before the stage's clock starts.

    ``points``: the collocation points of one step, all terms together."""
    work = float(training["max_steps"]) * points * sum(p.numel() for p in state.parameters)
    choice = choose_path(
        training, state.optimizer_kind, state.bindings, state.terms, work, state.balancer.term_gradients
    )
    hooks.info(f"derivatives: {choice.reason}")
    if choice.derivatives == "forward":
        state.terms = with_forward_plans(state.terms, choice.plans)
        state.loss_step = LossStep(choice.compiled, hooks.warn)
    if choice.compiled:
        seconds = warm_up(state.loss_step, state.terms, state.bindings, draw, state.parameters, rng)
        hooks.info(f"compile warm-up took {seconds:.1f} s (not counted in the stage's time; counted in training.max_time)")
    return choice


def config_refusal(config: Mapping[str, Any], outline: ProblemOutline, kind: str) -> str | None:
    """Why ``training.derivatives=forward`` cannot apply to the networks ``config`` builds (naming the layer), or None."""
    if config["training"]["derivatives"] != "forward":
        return None
    for name, net in outline.networks.items():
        settings = config["nets"][name]
        built = [settings] + ([correction_config(settings, 1.0)] if kind == "correction" else [])
        for settings in built:
            with torch.device("meta"):
                layer = unsupported_layer(build_network(settings, len(net.inputs), len(net.outputs), seed=0))
            if layer is not None:
                return (
                    f"training.derivatives=forward: network {name!r} has layer {layer}, which the forward path "
                    "does not cover; set training.derivatives=auto (nested autograd for it) or autograd"
                )
    return None
