"""Which architecture changes a child training stage may make and still start from its parent's weights.

Torch-free (pydantic only): queueing a stage checks its lineage with ``check_compatible``
without importing the networks; ``engine.nets`` re-exports both functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

from pydantic import TypeAdapter, ValidationError

from engine.config.errors import ConfigError
from engine.config.schema import Fourier, FullyConnected, ModifiedFourier, NetConfig, Siren
from engine.errors import MtcError

NetSettings = Union[FullyConnected, Fourier, ModifiedFourier, Siren]

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
}


def architecture_signature(config: Mapping[str, Any]) -> dict[str, Any]:
    """What defines the network given its weights: every architecture setting (defaults filled in) but
    ``trainable`` and ``init`` (how fresh weights are drawn: a child may change it; a widening child
    draws its new units by its own ``init``).

    That is the parameter shapes (``arch``, ``nr_layers``, ``layer_size``,
    ``frequencies``) plus the fixed choices a stored state cannot carry
    (``activation``, ``skip_connections``, ``sigma``, ``omega0``).
    """
    return net_settings(config).model_dump(mode="json", exclude={"trainable", "init"})


def check_compatible(parent: Mapping[str, Any], child: Mapping[str, Any], *, name: str | None = None) -> None:
    """Return if ``child`` can start from ``parent``'s weights (same signature, or only a wider ``layer_size``).

    Otherwise raise :class:`MtcError` naming every setting that differs; ``name``
    (the network's name) prefixes the message as ``nets.<name>:``.
    """
    old, new = architecture_signature(parent), architecture_signature(child)
    changed = ["arch"] if old["arch"] != new["arch"] else [key for key in old if old[key] != new[key]]
    problems = [
        f"{key} {_show(old[key])} -> {_show(new[key])} {_CHANGES[key]}"
        for key in changed
        if not (key == "layer_size" and new[key] > old[key])
    ]
    if problems:
        prefix = f"nets.{name}: " if name else ""
        width = old["layer_size"]
        raise MtcError(
            f"{prefix}{'; '.join(problems)}; a child can only keep the architecture or widen it "
            f"(layer_size {width} -> {2 * width}); start a new training branch instead"
        )


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
