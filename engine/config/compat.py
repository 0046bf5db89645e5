"""Which architecture changes a child training stage may make and still start from its parent's weights.

Torch-free (pydantic only): queueing a stage checks its lineage with ``check_compatible``
without importing the networks; ``engine.nets`` re-exports both functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

from pydantic import TypeAdapter, ValidationError

from engine.config.errors import ConfigError
from engine.config.schema import Fourier, FullyConnected, Kan, ModifiedFourier, NetConfig, Siren
from engine.errors import MtcError

NetSettings = Union[FullyConnected, Fourier, ModifiedFourier, Siren, Kan]

_ADAPTER: TypeAdapter[Any] = TypeAdapter(NetConfig)


def net_settings(config: Mapping[str, Any]) -> NetSettings:
    """``config`` (a stored ``nets.<NET>`` entry) validated, with its variant's defaults filled in."""
    try:
        return _ADAPTER.validate_python(dict(config))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"][1:])  # loc[0] is the variant's tag
        if not field:
            raise ConfigError(f"network config: {error['msg']}", key="arch") from None
        message = f"network config: {field}: {error['msg']} (given {error['input']!r})"
        raise ConfigError(message, key=field, value=error["input"]) from None


_CHANGES = {
    "arch": "changes the architecture",
    "nr_layers": "changes the depth",
    "layer_size": "narrows the layers",
    "activation": "changes the activation",
    "skip_connections": "changes the skip connections",
    "frequencies": "changes the number of Fourier features",
    "sigma": "changes the Fourier feature scale",
    "omega0": "changes the SIREN frequency scale",
    "grid": "shrinks the KAN grid",
    "spline_order": "changes the B-spline order",
    "grid_range": "changes the KAN input range",
}
TRAINING_ONLY = ("trainable", "init", "l1", "entropy", "node_th", "edge_th")
"""Network settings that change how a stage trains, not the network: a child may change them freely."""


def architecture_signature(config: Mapping[str, Any]) -> dict[str, Any]:
    """What defines the network given its weights: every architecture setting (defaults filled in) but
    ``trainable`` and ``init`` (how fresh weights are drawn: a child may change it; a widening child
    draws its new units by its own ``init``).

    That is the parameter shapes (``arch``, ``nr_layers``, ``layer_size``,
    ``frequencies``) plus the fixed choices a stored state cannot carry
    (``activation``, ``skip_connections``, ``sigma``, ``omega0``); a KAN's ``width``, ``grid``,
    ``spline_order`` and ``grid_range`` too, but not its sparsity and pruning weights.
    """
    settings = net_settings(config)
    return settings.model_dump(mode="json", exclude={k for k in TRAINING_ONLY if k in type(settings).model_fields})


def _grows(key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether ``key`` changes in a way a child may make: a wider MLP-type network, a KAN grid split evenly."""
    if new["arch"] == "kan":
        return key == "grid" and new[key] > old[key] and new[key] % old[key] == 0
    return key == "layer_size" and new[key] > old[key]


def check_compatible(parent: Mapping[str, Any], child: Mapping[str, Any], *, name: str | None = None) -> None:
    """Return if ``child`` can start from ``parent``'s weights (same signature, or only a wider ``layer_size``,
    or for a KAN only a ``grid`` that is a multiple of the parent's).

    Otherwise raise :class:`MtcError` naming every setting that differs; ``name``
    (the network's name) prefixes the message as ``nets.<name>:``.
    """
    old, new = architecture_signature(parent), architecture_signature(child)
    changed = ["arch"] if old["arch"] != new["arch"] else [key for key in old if old[key] != new[key]]
    problems = [
        f"{key} {_show(old[key])} -> {_show(new[key])} {_change(key, new['arch'], old[key], new[key])}"
        for key in changed
        if not _grows(key, old, new)
    ]
    if problems and new["arch"] == "kan" and old["arch"] == "kan":
        prefix = f"nets.{name}: " if name else ""
        raise MtcError(
            f"{prefix}{'; '.join(problems)}; a KAN child can only keep the architecture or refine its grid "
            f"(grid {old['grid']} -> {2 * old['grid']}); prune it with a prune child, or start a new training branch"
        )
    if problems:
        prefix = f"nets.{name}: " if name else ""
        width = old["layer_size"]
        raise MtcError(
            f"{prefix}{'; '.join(problems)}; a child can only keep the architecture or widen it "
            f"(layer_size {width} -> {2 * width}); start a new training branch instead"
        )


def _change(key: str, arch: str, old: Any, new: Any) -> str:
    """What changing ``key`` from ``old`` to ``new`` does to a network of ``arch``."""
    if arch == "kan" and key in ("layer_size", "nr_layers", "width"):
        return "changes the KAN layer widths"
    if key == "grid" and new > old:
        return f"is no multiple of {old} (a finer grid splits every interval evenly, so the splines carry over exactly)"
    return _CHANGES[key]


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
