"""The loss as a least-squares problem: every loss term's weighted residuals stacked into one vector.

A term's loss is ``mean(w r^2)`` over its ``N`` points, so the stacked vector of
``r_i * sqrt(w_i / N)`` over every term has the total loss as its squared norm. Its Jacobian
with respect to the trainable parameters is computed per point through torch.func
(``vmap`` over points of ``jacrev`` of the residual at one point), once per step, and reused
by every solve and trial step of that step.

Terms that are not trained (a constraint imposed exactly, ``hard``: its residual is zero up to
rounding and carries no gradient) are left out of the vector and its Jacobian, which would
otherwise hold their rows of zeros; :meth:`StackedResiduals.losses` still reports them, for
their curves.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch.func import jacrev, vmap

from ...compile import BatchFields, CompiledExpression, NetworkBinding
from ..terms import LossTerm
from .point_fields import Params, PointFields

Tensor = torch.Tensor


class StackedResiduals:
    """The weighted residuals of ``terms`` on fixed ``batches`` as a function of ``parameters``."""

    def __init__(
        self,
        terms: Sequence[LossTerm],
        networks: Mapping[str, NetworkBinding],
        batches: Sequence[Mapping[str, Tensor]],
        parameters: Sequence[torch.nn.Parameter],
    ):
        pairs = list(zip(terms, batches))
        self.untrained = [(term, batch) for term, batch in pairs if not term.trained]
        self.terms = [term for term, _ in pairs if term.trained]
        batches = [batch for term, batch in pairs if term.trained]
        self.networks = networks
        self.parameters = list(parameters)
        self.keys = _parameter_keys(networks, self.parameters)
        self.points = [{k: v.detach() for k, v in batch.items()} for batch in batches]
        self.sizes = [_size(batch) for batch in self.points]
        self.scales = [_scale(t, networks, b, n) for t, b, n in zip(self.terms, batches, self.sizes)]

    @property
    def count(self) -> int:
        """How many residuals the vector has (the trained terms' points)."""
        return sum(self.sizes)

    def current(self) -> Params:
        """The trainable parameters' present values, as the per-network dictionaries torch.func takes."""
        params: dict[str, dict[str, Tensor]] = {}
        for (net, name), param in zip(self.keys, self.parameters):
            params.setdefault(net, {})[name] = param.detach()
        return params

    def shifted(self, delta: Tensor) -> Params:
        """The parameters moved by the flat vector ``delta`` (in ``parameters`` order)."""
        params: dict[str, dict[str, Tensor]] = {}
        offset = 0
        for (net, name), param in zip(self.keys, self.parameters):
            size = param.numel()
            params.setdefault(net, {})[name] = param.detach() + delta[offset : offset + size].view_as(param)
            offset += size
        return params

    def vector(self, params: Params | None = None) -> Tensor:
        """The stacked weighted residuals at ``params`` (default: the present parameters)."""
        params = self.current() if params is None else params
        with torch.no_grad():
            return torch.cat([scale * vmap(self._at_point(t), in_dims=(None, 0))(params, points)
                              for t, (scale, points) in enumerate(zip(self.scales, self.points))])  # fmt: skip

    def jacobian(self) -> tuple[Tensor, Tensor]:
        """The residual vector and its Jacobian ``(residuals, parameters)`` at the present parameters."""
        params = self.current()
        values, rows = [], []
        for t, (scale, points) in enumerate(zip(self.scales, self.points)):
            at_point = self._at_point(t)
            jac, value = vmap(jacrev(lambda p, x: (at_point(p, x),) * 2, has_aux=True), in_dims=(None, 0))(params, points)
            flat = torch.cat([jac[net][name].reshape(len(value), -1) for net, name in self.keys], dim=1)
            values.append(scale * value)
            rows.append(flat * (scale.unsqueeze(-1) if scale.dim() else scale))
        return torch.cat(values).detach(), torch.cat(rows).detach()

    def losses(self, vector: Tensor) -> dict[str, float]:
        """Each term's loss (its part of the vector, squared and summed; an untrained term's evaluated)."""
        parts = torch.split(vector, self.sizes)
        losses = {term.name: float(part.square().sum()) for term, part in zip(self.terms, parts)}
        losses.update({term.name: float(term.loss(self.networks, batch)) for term, batch in self.untrained})
        return losses

    def _at_point(self, index: int):  # noqa: ANN202  (a torch.func-transformable function)
        residual: CompiledExpression = self.terms[index].residual
        networks = self.networks

        def at_point(params: Params, point: Mapping[str, Tensor]) -> Tensor:
            fields = PointFields(networks, params, {k: v.reshape(1) for k, v in point.items()})
            return residual(fields).reshape(())  # type: ignore[arg-type]

        return at_point


def _parameter_keys(networks: Mapping[str, NetworkBinding], parameters: Sequence[torch.nn.Parameter]) -> list[tuple[str, str]]:
    """``(network, parameter name)`` of each parameter, as ``functional_call`` names it."""
    names = {}
    for net, binding in networks.items():
        module = binding.module
        if isinstance(module, torch.nn.Module):
            names.update({id(p): (net, name) for name, p in module.named_parameters()})
    missing = [i for i, p in enumerate(parameters) if id(p) not in names]
    if missing:
        raise ValueError(f"parameters {missing} belong to no network of the problem")
    return [names[id(p)] for p in parameters]


def _size(batch: Mapping[str, Tensor]) -> int:
    return int(next(iter(batch.values())).shape[0])


def _scale(term: LossTerm, networks: Mapping[str, NetworkBinding], batch: Mapping[str, Tensor], size: int) -> Tensor:
    """``sqrt(w / N)`` per point (an expression weight) or for the whole term (a number)."""
    first = next(iter(batch.values()))
    if isinstance(term.weight, CompiledExpression):
        weight = term.weight(BatchFields(networks, batch)).detach()
        return torch.sqrt(weight / size)
    return torch.tensor((term.weight / size) ** 0.5, dtype=first.dtype, device=first.device)
