"""Switching a variant (optimizer, scheduler, architecture) while keeping the user's edits.

Rule: the new variant starts from its own defaults; a parameter of the old variant
is carried over only if (1) the user changed it (its value differs from the old
variant's default), (2) the new variant has a parameter of that name, and (3) the
value is valid there.  So ``adam`` with ``lr=0.01`` -> ``sgd`` keeps ``lr=0.01``,
but an untouched adam ``lr`` (1e-3) -> ``lbfgs`` gives lbfgs' own default 1.0;
``tanh`` activation -> ``siren`` is dropped because SIREN only allows ``sin``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from engine.config.introspect import TaggedUnion


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json")


def switch_variant(current: Mapping[str, Any] | None, new_tag: str, union: TaggedUnion) -> dict[str, Any]:
    """The settings dict for variant ``new_tag`` derived from ``current`` by the rule above."""
    current = dict(current) if isinstance(current, Mapping) else {}
    old_tag = current.get(union.discriminator, union.default)
    if old_tag == new_tag:
        return current
    new_model = union.variants[new_tag]
    result = _dump(new_model())
    old_model = union.variants.get(old_tag)
    if old_model is None:  # unknown old variant: nothing to carry over
        return result
    old_defaults = _dump(old_model())
    try:
        old = _dump(old_model.model_validate(current))
    except ValidationError:
        old = current  # compare raw values; invalid ones are dropped below
    for name, value in old.items():
        if name == union.discriminator or name not in new_model.model_fields:
            continue
        if name in old_defaults and value == old_defaults[name]:
            continue
        try:
            result = _dump(new_model.model_validate({**result, name: value}))
        except ValidationError:
            continue
    return result
