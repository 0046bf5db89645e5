"""Dotted keys over plain JSON dicts, and parsing of CLI strings into typed values."""

from __future__ import annotations

import copy
import difflib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from engine.config.errors import ConfigError

TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
FALSE_WORDS = frozenset({"false", "no", "0", "off"})
NULL_WORDS = frozenset({"null", "none", "off", ""})


def split_key(key: str) -> list[str]:
    """``"optimizer.lr"`` -> ``["optimizer", "lr"]``; empty parts are an error."""
    if not isinstance(key, str):
        raise ConfigError(f"{show(key)}: a setting key must be a dotted string such as training.max_steps", key=str(key))
    parts = key.strip().split(".")
    if not key.strip() or any(not p.strip() for p in parts):
        raise ConfigError(f"{show(key)}: not a valid key; use a dotted path such as training.max_steps", key=key)
    return [p.strip() for p in parts]


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The dotted-key view of a nested config: ``{"optimizer.lr": 0.001, ...}``.

    Lists (``optimizer.betas``) are leaf values; empty sections produce no keys.
    """
    out: dict[str, Any] = {}
    for name, value in config.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            out.update(flatten(value, key + "."))
        else:
            out[key] = copy.deepcopy(value)
    return out


def close_matches(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Close spellings of ``word`` among ``candidates``, also comparing only the last part."""
    candidates = list(dict.fromkeys(candidates))
    lowered: dict[str, str] = {}
    for c in candidates:
        lowered.setdefault(c.lower(), c)
    found = [lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.75)]
    last = word.rsplit(".", 1)[-1]
    by_last = [c for c in candidates if c.rsplit(".", 1)[-1] == last and c not in found]
    if not found:
        tails = {c.rsplit(".", 1)[-1] for c in candidates}
        near = set(difflib.get_close_matches(last, sorted(tails), n=n, cutoff=0.75))
        by_last += [c for c in candidates if c.rsplit(".", 1)[-1] in near and c not in by_last]
    return (found + by_last)[: max(n, len(found))]


def did_you_mean(matches: list[str]) -> str:
    return f"; did you mean {' or '.join(matches)}?" if matches else ""


def get_value(config: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted ``key`` (a copy for sections); ConfigError with suggestions if absent."""
    node: Any = config
    parts = split_key(key)
    for i, part in enumerate(parts):
        if not isinstance(node, Mapping) or part not in node:
            known = list(flatten(config)) + _inner_keys(config)
            where = ".".join(parts[:i]) or "the config"
            raise ConfigError(
                f"{key}: no such setting ({show(part)} is not in {where}){did_you_mean(close_matches(key, known))}",
                key=key,
                suggestions=close_matches(key, known),
            )
        node = node[part]
    return copy.deepcopy(node)


def _inner_keys(config: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for name, value in config.items():
        if isinstance(value, Mapping):
            out.append(prefix + name)
            out += _inner_keys(value, f"{prefix}{name}.")
    return out


def set_path(config: dict[str, Any], key: str, value: Any) -> None:
    """Set ``value`` at a dotted ``key`` in place, creating (or replacing non-dict) parents."""
    parts = split_key(key)
    node = config
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {} if not isinstance(child, Mapping) else dict(child)
            node[part] = child
        node = child
    node[parts[-1]] = value


def show(value: Any) -> str:
    """A value as it would be written in JSON (``"abc"``, ``-1``, ``null``)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _bad(key: str, raw: str, what: str, allowed: str) -> ConfigError:
    return ConfigError(f"{key}: {show(raw)} is not {what}; expected {allowed}", key=key, value=raw, allowed=allowed)


def _float(text: str, key: str, raw: str, allowed: str) -> float:
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise _bad(key, raw, "a number", allowed) from None
    if not math.isfinite(value):
        raise _bad(key, raw, "a finite number", allowed)
    return value


def coerce(raw: str, descriptor: Any) -> Any:
    """Parse the CLI/UI string ``raw`` into the type of ``descriptor`` (a FieldDescriptor).

    Only the type is checked here; bounds are checked by the schema on the whole
    config.  int: ``4000`` or ``4e3``; float: ``1e-3``; bool: true/false, yes/no,
    1/0, on/off; nullable fields: null/none/off (or empty); choice: any case;
    floatlist: ``0.9,0.999`` or JSON ``[0.9, 0.999]``; expression: a number, else
    the string (checked against the constraint's symbols later); text: as given.
    """
    key, allowed = descriptor.key, descriptor.allowed()
    text = raw.strip()
    if descriptor.nullable and text.lower() in NULL_WORDS:
        return None
    kind = descriptor.type
    if kind == "bool":
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise _bad(key, raw, "a boolean", "true/false, yes/no, 1/0 or on/off")
    if kind == "int":
        try:
            return int(text.replace("_", ""))
        except ValueError:
            pass
        try:
            value = float(text.replace("_", "")) if text else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not value.is_integer():
            raise _bad(key, raw, "an integer", allowed)
        return int(value)
    if kind == "float":
        if not text:
            raise _bad(key, raw, "a number", allowed)
        return _float(text, key, raw, allowed)
    if kind == "choice":
        choices = list(descriptor.choices or ())
        for choice in choices:
            if text.lower() == str(choice).lower():
                return choice
        matches = difflib.get_close_matches(text.lower(), choices, n=2, cutoff=0.5)
        raise ConfigError(
            f"{key}: {show(raw)} is not allowed; expected {allowed}{did_you_mean(matches)}",
            key=key,
            value=raw,
            allowed=allowed,
            suggestions=matches,
        )
    if kind == "floatlist":
        if text[:1] in "[(":
            try:
                items = json.loads("[" + text[1:-1] + "]" if text[-1:] in "])" else text)
            except json.JSONDecodeError:
                raise _bad(key, raw, "a list of numbers", allowed) from None
            if not isinstance(items, list) or any(isinstance(i, (bool, str, list, dict)) or i is None for i in items):
                raise _bad(key, raw, "a list of numbers", allowed)
            return [float(i) for i in items]
        try:
            return [float(part.strip().replace("_", "")) for part in text.split(",")] if text else []
        except ValueError:
            raise _bad(key, raw, "a list of numbers", allowed) from None
    if kind == "expression":
        try:
            return _float(text, key, raw, allowed)
        except ConfigError:
            return text
    return text
