"""Evaluate a trained stage: network outputs, submodels, the piecewise model and constraint residuals."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from .compile import BatchFields, CompiledExpression, as_columns, compile_problem
from .config import hard_constraints
from .errors import MtcError
from .layout import stage_folder
from .problem import Problem, load_problem
from .train.checkpoint import load_checkpoint
from .train.device import resolve_device, resolve_dtype
from .train.networks import bind, restore_networks

CHUNK = 65536


class StageModel:
    """A trained stage, ready to evaluate on points given as named columns."""

    def __init__(
        self,
        problem: Problem,
        modules: Mapping[str, torch.nn.Module],
        dtype: torch.dtype,
        device: torch.device,
        hard: Sequence[str] = (),
    ):
        self.problem = problem
        self.dtype, self.device = dtype, device
        self._bindings = bind(problem, modules, hard)  # outputs with hard boundary values: g + phi * network
        compiled = compile_problem(problem)
        self._expressions: dict[str, CompiledExpression] = {
            **{out: CompiledExpression(fn) for net in problem.networks.values() for out, fn in zip(net.outputs, net.functions)},
            **compiled.submodels,
            **{f"residual_{name}": expr for name, expr in compiled.residuals.items()},
        }
        self._model = compiled.model
        self.correction: dict | None = None  # what a correction stage computed (eps, f_d per output)
        self.unknowns: dict[str, float] = {}  # the values the stage learned for p.add_unknown constants
        self.points: dict[str, dict[str, np.ndarray]] = {}  # training.sampler=rad|rar_d: each constraint's last batch

    @property
    def networks(self) -> dict[str, torch.nn.Module]:
        """The modules evaluated for each network (a correction stage's are composed ones)."""
        return {name: binding.module for name, binding in self._bindings.items()}  # type: ignore[misc]

    @property
    def variables(self) -> list[str]:
        """The input columns every network output needs."""
        return list(self.problem.variables)

    def _needs(self, expr: CompiledExpression) -> set[str]:
        nets = {self.problem.network_of(name).name for name, _ in expr.requests}
        return set(expr.variables) | {v for n in nets for v in self.problem.networks[n].inputs}

    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Every output that the given columns allow: network outputs, submodels, the model, residuals.

        A residual that needs a column not given (``sdf``, normals, a parameter) is left out.
        """
        columns = {k: np.array(v, dtype=np.float64).reshape(-1) for k, v in inputs.items()}
        size = len(next(iter(columns.values()), []))
        columns.update({name: np.full(size, value) for name, value in self.unknowns.items() if name not in columns})
        missing = [v for v in self.variables if v not in columns]
        if missing:
            raise MtcError(f"inputs lack the column(s) {missing}: give one column per variable {self.variables}")
        wanted = {name: e for name, e in self._expressions.items() if self._needs(e) <= set(columns)}
        rows = len(next(iter(columns.values())))
        parts: dict[str, list[np.ndarray]] = {name: [] for name in [*wanted, *([self._model.name] if self._model else [])]}
        grad = frozenset().union(*(e.grad_variables for e in wanted.values()))
        for start in range(0, rows, CHUNK):
            chunk = {k: v[start : start + CHUNK] for k, v in columns.items()}
            fields = BatchFields(self._bindings, as_columns(chunk, self.dtype, self.device, grad))
            for name, expr in wanted.items():
                parts[name].append(expr(fields).detach().cpu().numpy().astype(np.float64))
            if self._model is not None:
                parts[self._model.name].append(self._model(fields).detach().cpu().numpy().astype(np.float64))
        return {name: np.concatenate(chunks) if chunks else np.empty(0) for name, chunks in parts.items()}


def load_stage(project: str | Path, stage: str, device: str = "cpu", problem: Problem | None = None) -> StageModel:
    """The trained networks of ``stage`` (from its checkpoint), bound to the project's problem
    (``problem``, when the caller has loaded it already).

    A correction stage's networks are the whole composed model: its parent's (and their
    parents') frozen networks plus every ``eps``-scaled correction, as the checkpoint holds them.
    """
    project = Path(project)
    saved = load_checkpoint(stage_folder(project, stage), stage)
    problem = problem or load_problem(project)
    config = saved["config"]
    dtype = resolve_dtype(config["training"]["precision"])
    torch_device = resolve_device(device)
    missing = [n for n in problem.networks if n not in saved["networks"]]
    if missing:
        raise MtcError(f"stage {stage!r} was trained without network(s) {missing} that problem.py now defines")
    modules, _ = restore_networks(problem, saved, dtype, torch_device)
    for module in modules.values():
        module.eval()
    model = StageModel(problem, modules, dtype, torch_device, hard_constraints(config))
    model.correction = saved.get("correction")
    model.unknowns = dict(saved.get("unknowns") or {})
    model.points = {name: dict(draw["points"]) for name, draw in (saved.get("adaptive") or {}).get("draws", {}).items()}
    return model
