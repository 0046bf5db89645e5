"""``set_values``: apply ``KEY=VALUE`` edits to a config, returning a new validated dict."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from engine.config.describe import FieldDescriptor, describe_fields
from engine.config.errors import ConfigError
from engine.config.introspect import union_for_section
from engine.config.outline import ProblemOutline
from engine.config.paths import coerce, set_path, show, split_key
from engine.config.switch import switch_variant
from engine.config.validate import unknown_key_error, validate_config


def parse_assignments(assignments: Mapping[str, Any] | list[str] | tuple[str, ...] | str) -> list[tuple[str, Any]]:
    """``["a.b=1"]`` or ``{"a.b": 1}`` -> ``[("a.b", "1")]`` / ``[("a.b", 1)]`` (order kept)."""
    if isinstance(assignments, Mapping):
        return [(str(k).strip(), v) for k, v in assignments.items()]
    if isinstance(assignments, str):
        assignments = [assignments]
    pairs = []
    for item in assignments:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(
                f"{show(item)}: expected KEY=VALUE, e.g. training.max_steps=4000", value=item
            )
        key, _, value = item.partition("=")
        pairs.append((key.strip(), value))
    return pairs


def set_values(
    config: Mapping[str, Any],
    assignments: Mapping[str, Any] | list[str] | tuple[str, ...] | str,
    outline: ProblemOutline,
) -> dict[str, Any]:
    """Return a new, validated config with ``assignments`` applied; ``config`` is not modified.

    Strings are parsed with the field's type (see :func:`engine.config.paths.coerce`);
    other values (from the UI) are used as given and validated.  Variant selectors
    (``optimizer.name``, ``scheduler.name``, ``nets.<NET>.arch``) are applied first,
    following the rule in :mod:`engine.config.switch`, so ``optimizer.name=sgd`` and
    ``optimizer.momentum=0.5`` can be given together in any order.  Later
    assignments to the same key win.
    """
    pairs = parse_assignments(assignments)
    descriptors = describe_fields(outline)
    selectors = {d.key for d in descriptors if d.discriminator}
    ordered = [p for p in pairs if p[0] in selectors] + [p for p in pairs if p[0] not in selectors]
    new: dict[str, Any] = copy.deepcopy(dict(config))
    for key, raw in ordered:
        split_key(key)
        descriptor = _descriptor(key, new, descriptors)
        value = coerce(raw, descriptor) if isinstance(raw, str) else copy.deepcopy(raw)
        if descriptor.discriminator:
            _switch(new, key, value, descriptor)
        else:
            set_path(new, key, value)
    return validate_config(new, outline)


def _descriptor(key: str, config: Mapping[str, Any], descriptors: list[FieldDescriptor]) -> FieldDescriptor:
    candidates = [d for d in descriptors if d.key == key]
    for d in candidates:
        if d.active(config):
            return d
    raise unknown_key_error(key, config, descriptors)


def _switch(config: dict[str, Any], key: str, tag: Any, descriptor: FieldDescriptor) -> None:
    if tag not in (descriptor.choices or ()):
        allowed = descriptor.allowed()
        raise ConfigError(f"{key}: {show(tag)} is not allowed; expected {allowed}", key=key, value=tag, allowed=allowed)
    parts = split_key(key)
    union = union_for_section(parts[0])
    assert union is not None
    parent_key = ".".join(parts[:-1])
    parent: Any = config
    for part in parts[:-1]:
        parent = parent.get(part) if isinstance(parent, Mapping) else None
    set_path(config, parent_key, switch_variant(parent, tag, union))
