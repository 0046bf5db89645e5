"""A correction stage's interior batch, sized from its parent's residual spectrum.

A correction learns the parent's error at the low frequency ``f_d``; in an interior equation of
order k that error shows as a residual of about ``rho = c (2 pi f_d)^k E`` (``E`` the error the
residual implies). The parent's residual also has a high-frequency part that stands for almost
no error but, sampled on N random points, projects onto a low-frequency fit as noise of about
``RMS(r) / sqrt(N)``. With ``ratio = RMS(r) / rho`` the noise stays below :data:`NOISE_SHARE` of
the signal for ``N >= (ratio / NOISE_SHARE)^2``. On precision-1d's second correction the ratio
was 27 and 256 points made the correction fit noise (0.58x); 1024 points gained 3.9x, 4096 6.6x
(docs/precision.md).

The rule: an interior equation's ``batch_size`` grows to that N, at most :data:`MAX_GROWTH` times
its parent's and :data:`MAX_POINTS` in all (points cost time linearly), and never shrinks. Stage
configs are stored whole, so an explicit setting is told from an inherited one by comparing with
the parent: a ``constraints.<C>.batch_size`` that differs from the parent's is the user's choice
on the correction stage and is kept as set; one equal to the parent's (inherited, or set to the
same value) is sized by the rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .correction import OutputCorrection
from .correction_weights import amplification

NOISE_SHARE = 0.1
"""The sampling noise of the parent's residual may be at most this share of the error's signal at f_d."""
MAX_GROWTH = 4
"""A correction's interior batch is at most this many times its parent's."""
MAX_POINTS = 16384
"""... and at most this many points."""


@dataclass(frozen=True)
class BatchSize:
    """One interior equation's batch in a correction stage, and why."""

    constraint: str
    parent: int  # the parent's batch_size
    set: int  # the correction stage's own constraints.<C>.batch_size
    used: int  # what the stage trains with
    ratio: float  # RMS(parent's residual) / the residual its implied error shows at f_d
    wanted: int  # (ratio / NOISE_SHARE)^2
    note: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def wanted_points(ratio: float) -> int:
    """Points for which a residual ``ratio`` times the signal is sampling noise of NOISE_SHARE of it."""
    return int(math.ceil((ratio / NOISE_SHARE) ** 2))


def grown(parent: int, wanted: int) -> int:
    """``parent`` points grown towards ``wanted``, at most MAX_GROWTH times and MAX_POINTS, never below ``parent``."""
    return max(parent, min(wanted, MAX_GROWTH * parent, MAX_POINTS))


def batch_sizes(
    corrections: Mapping[str, OutputCorrection], config: Mapping[str, Any], parent_config: Mapping[str, Any]
) -> dict[str, BatchSize]:
    """The batch of every interior equation measured on a grid (the largest ratio over the outputs it involves)."""
    ratios: dict[str, float] = {}
    for correction in corrections.values():
        for m in correction.measured:
            signal = amplification(m, correction) * (m.error_rms or 0.0)
            if m.error_rms is None or not signal > 0 or not math.isfinite(signal):
                continue
            ratios[m.constraint] = max(ratios.get(m.constraint, 0.0), m.rms / signal)
    sizes = {}
    for name, ratio in ratios.items():
        mine = int(config["constraints"][name]["batch_size"])
        parents = parent_config.get("constraints", {}).get(name, {}).get("batch_size", mine)
        wanted = wanted_points(ratio)
        if mine != parents:
            used, note = mine, f"constraints.{name}.batch_size is set on this stage ({mine}; the parent's {parents}): kept"
        else:
            used = grown(mine, wanted)
            note = (
                f"the parent's residual is {ratio:.3g} times the residual its implied error shows at f_d, so "
                f"{wanted} points keep its sampling noise under {NOISE_SHARE:g} of that signal; "
                f"{mine} -> {used} (at most {MAX_GROWTH}x the parent's and {MAX_POINTS} points)"
            )
        sizes[name] = BatchSize(name, int(parents), mine, used, ratio, wanted, note)
    return sizes


def sized_config(config: Mapping[str, Any], sizes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``config`` with each sized constraint's batch_size set to what the correction trains with."""
    result = {**config, "constraints": dict(config["constraints"])}
    for name, size in sizes.items():
        if name in result["constraints"]:
            result["constraints"][name] = {**result["constraints"][name], "batch_size": int(size["used"])}
    return result
