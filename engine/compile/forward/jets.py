"""Jets: a batch of values with the partial derivatives one plan asks for, and the rules that carry them.

A jet holds ``value`` (N, W) and ``parts``: multi-index -> (N, W) tensor (or a (1, W) row
that broadcasts), where a multi-index is a sorted tuple of input positions, ``(0, 0)`` for
d^2/dx_0^2. A missing part is zero. Its :class:`Tables` say which multi-indices it carries
(closed under sub-multisets: Faa di Bruno and Leibniz need the lower ones) and hold their
chain- and product-rule terms, worked out once per plan, outside any compiled code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import reduce

import torch
import torch.nn.functional as F

Tensor = torch.Tensor
Index = tuple[int, ...]
Derivatives = Callable[[Tensor, int], Sequence[Tensor | None]]
"""``(z, order) -> [f(z), f'(z), ..., f^(order)(z)]`` of an elementwise function; None is zero."""


@dataclass(frozen=True)
class Tables:
    """The multi-indices a jet carries, its highest order, and their chain- and product-rule terms."""

    indices: tuple[Index, ...]
    order: int
    chain: dict[Index, tuple[tuple[int, int, tuple[Index, ...]], ...]]
    product: dict[Index, tuple[tuple[int, Index, Index], ...]]

    @classmethod
    def of(cls, indices: tuple[Index, ...]) -> Tables:
        """The tables of ``indices`` (a closed set, by order)."""
        order = len(indices[-1]) if indices else 0
        return cls(indices, order, {i: chain_terms(i) for i in indices}, {i: product_terms(i) for i in indices})


@dataclass
class Jet:
    """Values and the planned partial derivatives of a (N, W) batch."""

    value: Tensor
    tables: Tables
    parts: dict[Index, Tensor] = field(default_factory=dict)

    def full(self, index: Index) -> Tensor:
        """The (N, W) part ``index`` (zeros when it is zero)."""
        part = self.parts.get(index)
        return torch.zeros_like(self.value) if part is None else part.expand_as(self.value)


def closure(requested: Iterable[Index]) -> tuple[Index, ...]:
    """Every non-empty sub-multiset of the requested multi-indices, by order then position."""
    found = set()
    for index in requested:
        for mask in range(1, 2 ** len(index)):
            found.add(tuple(sorted(index[p] for p in range(len(index)) if mask >> p & 1)))
    return tuple(sorted(found, key=lambda index: (len(index), index)))


def input_jet(x: Tensor, tables: Tables) -> Jet:
    """The jet of the inputs themselves: d x / d x_i is the unit row e_i, higher parts are zero."""
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    return Jet(x, tables, {index: eye[index[0]].unsqueeze(0) for index in tables.indices if len(index) == 1})


def _partitions(items: list[int]) -> Iterator[list[list[int]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _partitions(rest):
        yield [[first], *partition]
        for i in range(len(partition)):
            yield [*partition[:i], [first, *partition[i]], *partition[i + 1 :]]


def chain_terms(index: Index) -> tuple[tuple[int, int, tuple[Index, ...]], ...]:
    """Faa di Bruno for D^index f(z): (count, order m of f, the m parts of z multiplied)."""
    counts: Counter[tuple[int, tuple[Index, ...]]] = Counter()
    for partition in _partitions(list(range(len(index)))):
        blocks = tuple(sorted(tuple(sorted(index[p] for p in block)) for block in partition))
        counts[(len(partition), blocks)] += 1
    return tuple((count, order, blocks) for (order, blocks), count in sorted(counts.items()))


def product_terms(index: Index) -> tuple[tuple[int, Index, Index], ...]:
    """Leibniz for D^index (a b): (count, part of a, part of b)."""
    counts: Counter[tuple[Index, Index]] = Counter()
    for mask in range(2 ** len(index)):
        left = tuple(index[p] for p in range(len(index)) if mask >> p & 1)
        right = tuple(index[p] for p in range(len(index)) if not mask >> p & 1)
        counts[(left, right)] += 1
    return tuple((count, left, right) for (left, right), count in sorted(counts.items()))


def _accumulate(total: Tensor | None, count: int, term: Tensor) -> Tensor:
    term = term if count == 1 else count * term
    return term if total is None else total + term


def _times_parts(derivative: Tensor, factors: list[Tensor]) -> Tensor:
    return reduce(torch.mul, factors, derivative)


def chain_rule(
    jet: Jet, d: Sequence[Tensor | None], times: Callable[[Tensor, list[Tensor]], Tensor] = _times_parts
) -> dict[Index, Tensor]:
    """Faa di Bruno per multi-index of ``f(jet)``: the sum over ``m`` of ``times(d[m], jet's parts)`` (by default
    their product, left to right), ``d[m]`` the ``m``-th derivative of ``f`` at ``jet.value`` (None: zero)."""
    parts = {}
    for index in jet.tables.indices:
        total = None
        for count, m, blocks in jet.tables.chain[index]:
            factors = [jet.parts.get(block) for block in blocks]
            if d[m] is None or any(f is None for f in factors):
                continue
            total = _accumulate(total, count, times(d[m], factors))
        if total is not None:
            parts[index] = total
    return parts


def elementwise(jet: Jet, derivatives: Derivatives) -> Jet:
    """``f(jet)`` for an elementwise ``f`` given its derivatives (Faa di Bruno per multi-index)."""
    d = derivatives(jet.value, jet.tables.order)
    assert d[0] is not None
    return Jet(d[0], jet.tables, chain_rule(jet, d))


def _part(jet: Jet, index: Index) -> Tensor | None:
    return jet.value if not index else jet.parts.get(index)


def multiply(a: Jet, b: Jet) -> Jet:
    """``a * b`` elementwise (Leibniz per multi-index)."""
    parts = {}
    for index in a.tables.indices:
        total = None
        for count, left, right in a.tables.product[index]:
            x, y = _part(a, left), _part(b, right)
            if x is not None and y is not None:
                total = _accumulate(total, count, x * y)
        if total is not None:
            parts[index] = total
    return Jet(a.value * b.value, a.tables, parts)


def add(a: Jet, b: Jet) -> Jet:
    """``a + b``."""
    parts = dict(a.parts)
    for index, part in b.parts.items():
        parts[index] = part if index not in parts else parts[index] + part
    return Jet(a.value + b.value, a.tables, parts)


def scale(jet: Jet, factor: Tensor | float, shift: Tensor | float = 0.0) -> Jet:
    """``factor * jet + shift`` for a constant (or per-feature constant) ``factor``."""
    parts = {index: factor * part for index, part in jet.parts.items()}
    return Jet(factor * jet.value + shift, jet.tables, parts)


def linear(jet: Jet, weight: Tensor, bias: Tensor | None) -> Jet:
    """``jet @ weight.T + bias``: the parts are mapped by ``weight`` alone."""
    parts = {index: F.linear(part, weight) for index, part in jet.parts.items()}
    return Jet(F.linear(jet.value, weight, bias), jet.tables, parts)


def concat(jets: Sequence[Jet]) -> Jet:
    """The jets side by side along the feature dimension."""
    value = torch.cat([jet.value for jet in jets], dim=-1)
    parts = {
        index: torch.cat([jet.full(index) for jet in jets], dim=-1)
        for index in jets[0].tables.indices
        if any(index in jet.parts for jet in jets)
    }
    return Jet(value, jets[0].tables, parts)


def columns(jet: Jet, start: int, stop: int) -> Jet:
    """Features ``start:stop`` of ``jet``."""
    parts = {index: part[:, start:stop] for index, part in jet.parts.items()}
    return Jet(jet.value[:, start:stop], jet.tables, parts)
