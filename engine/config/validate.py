"""Whole-config validation against the schema and the problem outline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import ValidationError

from engine.config.balancing import check_balancing
from engine.config.adaptive import check_sampler
from engine.config.describe import FieldDescriptor, describe_fields
from engine.config.errors import ConfigError
from engine.config.introspect import all_tags, collections
from engine.config.outline import ProblemOutline
from engine.config.paths import close_matches, did_you_mean, show
from engine.config.schema import StageConfig
from engine.config.weights import WeightError, parse_weight, weight_values


def outline_names(outline: ProblemOutline, section: str) -> list[str]:
    """Entry names the outline defines for a collection section (``nets`` -> network names)."""
    return list(getattr(outline, collections()[section].outline_attr))


def default_config(outline: ProblemOutline) -> dict[str, Any]:
    """The default stage config for ``outline``: every section, network, constraint and data entry."""
    skeleton = {section: {name: {} for name in outline_names(outline, section)} for section in collections()}
    return StageConfig.model_validate(skeleton).model_dump(mode="json")


def validate_config(config: Mapping[str, Any], outline: ProblemOutline) -> dict[str, Any]:
    """Check ``config`` and return it normalised (defaults filled in, numbers typed, outline order).

    Raises :class:`ConfigError` naming the first bad dotted key: entries for names
    the problem does not define, missing entries, unknown keys, values of the wrong
    type or out of range, and constraint weights using symbols the constraint lacks.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"the stage config must be a JSON object, not {show(config)}", value=config)
    check_names(config, outline)
    try:
        model = StageConfig.model_validate(dict(config))
    except ValidationError as exc:
        raise translate(exc, config, outline) from None
    data = model.model_dump(mode="json")
    for section in collections():
        data[section] = {name: data[section][name] for name in outline_names(outline, section)}
    check_weights(data, outline)
    check_hard(data, outline)
    check_balancing(data)
    check_sampler(data, outline)
    return data


def check_names(config: Mapping[str, Any], outline: ProblemOutline) -> None:
    """Entries of nets/constraints/data must be exactly the outline's names."""
    for section, coll in collections().items():
        names = outline_names(outline, section)
        entries = config.get(section, {})
        if not isinstance(entries, Mapping):
            continue  # the schema reports the wrong type
        for name in entries:
            if name not in names:
                matches = close_matches(str(name), names)
                known = ", ".join(names) or "(none)"
                raise ConfigError(
                    f"{section}.{name}: the problem has no {coll.noun} {show(name)}; "
                    f"its {coll.noun}s are: {known}{did_you_mean([f'{section}.{m}' for m in matches])}",
                    key=f"{section}.{name}",
                    value=name,
                    allowed=known,
                    suggestions=[f"{section}.{m}" for m in matches],
                )
        for name in names:
            if name not in entries:
                raise ConfigError(
                    f"{section}.{name}: missing; the problem defines {coll.noun} {show(name)} but the config "
                    f"has no entry for it (run `mtc init-conf` to add its defaults)",
                    key=f"{section}.{name}",
                )


def check_weights(config: Mapping[str, Any], outline: ProblemOutline) -> None:
    """Constraint weight expressions may use only their constraint's symbols."""
    for name, settings in config.get("constraints", {}).items():
        weight = settings.get("weight")
        if not isinstance(weight, str):
            continue
        spec = outline.constraints[name]
        key = f"constraints.{name}.weight"
        allowed = f"a number >= 0 or an expression in {', '.join(sorted(spec.symbols)) or '(no symbols)'}"
        try:
            parse_weight(weight, spec.symbols, kind=spec.domain_kind)
        except WeightError as exc:
            raise ConfigError(f"{key}: {exc}", key=key, value=weight, allowed=allowed) from None
        if spec.probe:
            values = weight_values(weight, spec.probe)
            low, high = float(np.nanmin(values)), float(np.nanmax(values))
            if not np.isfinite(values).all() or low < 0:
                raise ConfigError(
                    f"{key}: {weight} takes values in [{low:.3g}, {high:.3g}] on {len(values)} sampled points of "
                    f"{spec.domain_kind} subdomain {spec.subdomain!r}"
                    f"{'' if np.isfinite(values).all() else ' (and is not finite on some)'}: a weight must be >= 0 "
                    f"everywhere, e.g. Abs({weight}) or ({weight})**2",
                    key=key, value=weight, allowed=allowed,
                )  # fmt: skip


def check_hard(config: Mapping[str, Any], outline: ProblemOutline) -> None:
    """Constraints set ``hard`` must be Dirichlet conditions on boundaries with a distance function, and agree."""
    names = hard_constraints(config)
    if not names or outline.hard_check is None:
        return
    refused = outline.hard_check(names)
    if refused is not None:
        name, reason = refused
        key = f"constraints.{name}.hard"
        raise ConfigError(f"{key}: {name!r} cannot be imposed exactly: {reason}", key=key, value=True)


def hard_constraints(config: Mapping[str, Any]) -> list[str]:
    """The included constraints of a (validated) config that are imposed exactly."""
    return [name for name, settings in config.get("constraints", {}).items() if settings.get("hard") and settings["include"]]


def loc_to_key(loc: tuple[Any, ...], config: Any) -> tuple[str, tuple[Any, ...]]:
    """Map a pydantic error location to a dotted key, skipping union tags.

    Returns the key and the rest of the location below the leaf (e.g. a list index).
    """
    parts: list[str] = []
    node = config
    tags = all_tags()
    for i, elem in enumerate(loc):
        if isinstance(node, Mapping):
            if elem in node:
                parts.append(str(elem))
                node = node[elem]
                continue
            if elem in tags:
                continue
            parts.append(str(elem))
            node = None
            continue
        if node is None and isinstance(elem, str) and elem not in tags:
            parts.append(elem)
            continue
        return ".".join(parts), tuple(loc[i:])
    return ".".join(parts), ()


def find_descriptor(key: str, config: Mapping[str, Any], descriptors: list[FieldDescriptor]) -> FieldDescriptor | None:
    """The descriptor for ``key`` that applies to ``config`` (first one with the key otherwise)."""
    candidates = [d for d in descriptors if d.key == key]
    active = [d for d in candidates if d.active(config)]
    return (active or candidates or [None])[0]


def unknown_key_error(key: str, config: Mapping[str, Any], descriptors: list[FieldDescriptor]) -> ConfigError:
    """A ConfigError for a key that is not a setting here, with the most useful hint."""
    candidates = [d for d in descriptors if d.key == key]
    if candidates:  # a setting of another optimizer / scheduler / architecture
        cond = candidates[0].depends_on
        assert cond is not None
        values = sorted({v for d in candidates if d.depends_on for v in d.depends_on.values})
        current = _current(config, cond.key, cond.default)
        return ConfigError(
            f"{key}: not a setting when {cond.key} is {show(current)}; it applies when {cond.key} is "
            f"{' or '.join(values)} (set {cond.key} first, or in the same command)",
            key=key,
            allowed=", ".join(values),
        )
    parts = key.split(".")
    inner = [d.key for d in descriptors if d.key.startswith(key + ".") and d.active(config)]
    if inner:
        shown = ", ".join(dict.fromkeys(inner))
        return ConfigError(f"{key}: a section, not a setting; its settings: {shown}", key=key, suggestions=inner[:3])
    colls = collections()
    if parts[0] in colls and len(parts) >= 2:
        names = sorted({d.key.split(".")[1] for d in descriptors if d.key.startswith(parts[0] + ".")})
        if parts[1] not in names:
            noun = colls[parts[0]].noun
            matches = close_matches(parts[1], names)
            return ConfigError(
                f"{key}: the problem has no {noun} {show(parts[1])}; its {noun}s are: "
                f"{', '.join(names) or '(none)'}{did_you_mean(matches)}",
                key=key,
                allowed=", ".join(names),
                suggestions=matches,
            )
    keys = list(dict.fromkeys(d.key for d in descriptors))
    matches = close_matches(key, keys)
    hint = did_you_mean(matches)
    if not hint:
        section = [k for k in keys if k.startswith(parts[0] + ".")]
        if section:
            hint = f"; settings in {parts[0]}: {', '.join(section)}"
        else:
            hint = f"; sections: {', '.join(StageConfig.model_fields)}"
    return ConfigError(f"{key}: unknown setting{hint}", key=key, suggestions=matches)


def _current(config: Mapping[str, Any], key: str, default: str) -> Any:
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def translate(exc: ValidationError, config: Mapping[str, Any], outline: ProblemOutline) -> ConfigError:
    """Turn the first pydantic error into a ConfigError naming the dotted key."""
    err = exc.errors(include_url=False)[0]
    key, rest = loc_to_key(tuple(err["loc"]), config)
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    descriptors = describe_fields(outline)
    if kind == "extra_forbidden":
        return unknown_key_error(key, config, descriptors)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        field = str(ctx.get("discriminator", "name")).strip("'")
        key = f"{key}.{field}"
        tag = ctx.get("tag")
        choices = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
        matches = close_matches(str(tag), choices)
        return ConfigError(
            f"{key}: {show(tag)} is not allowed; expected one of {', '.join(choices)}{did_you_mean(matches)}",
            key=key,
            value=tag,
            allowed=", ".join(choices),
            suggestions=matches,
        )
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return ConfigError(
            f"{key or 'the config'}: expected a JSON object of settings, got {show(value)}", key=key, value=value
        )
    if kind == "value_error" and "error" in ctx:
        return ConfigError(f"{key}: {ctx['error']}", key=key, value=value)
    descriptor = find_descriptor(key, config, descriptors)
    allowed = descriptor.allowed() if descriptor else err["msg"]
    where = f" (item {rest[0] + 1})" if rest and isinstance(rest[0], int) and kind != "missing" else ""
    return ConfigError(
        f"{key}: {show(value)}{where} is not allowed; expected {allowed}", key=key, value=value, allowed=allowed
    )
