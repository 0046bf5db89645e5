"""Adaptive sampler names (``training.sampler``) -> builders of a constraint's batch source.

The names are the schema's :data:`engine.config.schema.ADAPTIVE_SAMPLERS`; importing this module
checks that both list the same names.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol

from ...config.schema import ADAPTIVE_SAMPLERS
from ..terms import Draw
from . import rad, rar_d
from .pool import ResidualPool, Rows


class AdaptiveDraw(Protocol):
    """A batch source that draws by residual and keeps what a checkpoint must carry."""

    points: Rows

    def __call__(self) -> Rows: ...

    def state(self) -> dict[str, Rows]: ...

    def restore(self, state: Mapping[str, Rows]) -> None: ...


Builder = Callable[[ResidualPool, Draw, int, Mapping[str, Any]], AdaptiveDraw]

SAMPLERS: dict[str, Builder] = {"rad": rad.build, "rar_d": rar_d.build}

if set(SAMPLERS) != set(ADAPTIVE_SAMPLERS):  # a new adaptive sampler needs both a builder and the schema's choice
    raise ImportError(f"adaptive sampler registry {sorted(SAMPLERS)} differs from the schema's {sorted(ADAPTIVE_SAMPLERS)}")
