"""Network outputs and their derivatives on a batch, from one forward pass of jets per network.

Same interface as :class:`engine.compile.BatchFields` (``derivative``, ``output``, ``column``,
``size``, ``dtype``, ``device``), but the derivatives come from propagating jets through the
layers (:mod:`.modules`), so the loss is an ordinary forward graph: one backward pass gives
the parameters' gradient, and ``torch.compile`` can fuse it. A :class:`ForwardPlan`, made
once per loss term, says which derivative components each network propagates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch

from ..fields import ColumnFields, NetworkBinding, Tensor
from .activations import MAX_ORDER
from .jets import Index, Jet, Tables, closure, input_jet
from .modules import NotCovered, module_jet

Request = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class ForwardPlan:
    """Per network name: the multi-indices (of its input positions) its jets carry, with their rule tables."""

    tables: Mapping[str, Tables]

    @classmethod
    def build(cls, networks: Mapping[str, NetworkBinding], requests: Iterable[Request]) -> ForwardPlan:
        """The smallest plan giving every requested derivative (a Laplacian carries the diagonal only).

        Raises :class:`NotCovered` for a derivative above :data:`MAX_ORDER`.
        """
        owner = {out: name for name, binding in networks.items() for out in binding.outputs}
        wanted: dict[str, set[Index]] = {name: set() for name in networks}
        for output, wrt in requests:
            binding = networks[owner[output]]
            if len(wrt) > MAX_ORDER:
                raise NotCovered(f"d^{len(wrt)}{output} (order above {MAX_ORDER})")
            if wrt and all(v in binding.inputs for v in wrt):
                wanted[owner[output]].add(tuple(sorted(binding.inputs.index(v) for v in wrt)))
        return cls({name: Tables.of(closure(found)) for name, found in wanted.items()})


class ForwardFields(ColumnFields):
    """Lazily evaluates each network's jet on a batch; a derivative is then a lookup."""

    def __init__(self, networks: Mapping[str, NetworkBinding], columns: Mapping[str, Tensor], plan: ForwardPlan):
        super().__init__(columns)
        self.networks = networks
        self.plan = plan
        self._owner = {out: (name, i) for name, binding in networks.items() for i, out in enumerate(binding.outputs)}
        self._jets: dict[str, Jet] = {}

    def derivative(self, name: str, wrt: tuple[str, ...]) -> Tensor:
        """d^k output / d wrt[0] ... d wrt[k-1] (zero for a variable the network does not take)."""
        network, k = self._owner[name]
        binding = self.networks[network]
        jet = self._jet(network)
        if not all(v in binding.inputs for v in wrt):
            return torch.zeros_like(jet.value[:, k])
        index = tuple(sorted(binding.inputs.index(v) for v in wrt))
        if index and index not in jet.tables.chain:
            raise KeyError(f"d{name}/d{''.join(wrt)} was not planned for the forward path")
        return jet.value[:, k] if not index else jet.full(index)[:, k]

    def _jet(self, network: str) -> Jet:
        jet = self._jets.get(network)
        if jet is None:
            binding = self.networks[network]
            x = torch.stack([self.columns[v].detach() for v in binding.inputs], dim=1)
            jet = self._jets[network] = module_jet(binding.module, input_jet(x, self.plan.tables[network]))
        return jet
