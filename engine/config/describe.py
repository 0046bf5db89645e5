"""Field descriptors for generating the stage-config UI, derived from the pydantic models."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from pydantic import BaseModel

from engine.config.introspect import (
    LeafSpec,
    TaggedUnion,
    collections,
    is_model,
    leaf_spec,
    tagged_union,
    unwrap,
)
from engine.config.outline import ProblemOutline
from engine.config.schema import StageConfig

_MISSING = object()


@dataclass(frozen=True)
class Condition:
    """A field exists only while the discriminator at ``key`` has one of ``values``.

    ``default`` is the discriminator's default, assumed when a config omits ``key``.
    """

    key: str
    values: tuple[str, ...]
    default: str

    def holds(self, config: Mapping[str, Any]) -> bool:
        node: Any = config
        for part in self.key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                node = _MISSING
                break
            node = node[part]
        if node is _MISSING:
            node = self.default
        return node in self.values


@dataclass(frozen=True)
class FieldDescriptor:
    """One editable setting, enough to build its widget and validate it client-side.

    ``type`` is one of int, float, bool, choice, text, expression, floatlist.
    Bounds (``minimum``/``maximum``, exclusive when flagged) apply to numbers, to
    each item of a floatlist and to the numeric form of an expression.  ``nullable``
    fields also take ``None``, shown as ``null_label`` (e.g. "off").  ``depends_on``
    is set for fields that exist only for some optimizers/schedulers/architectures;
    the same key then appears once per distinct variant spec (``optimizer.lr`` has
    one descriptor for adam/adamw, one for sgd and one, default 1.0, for lbfgs).
    ``discriminator`` marks the variant selectors (``optimizer.name``,
    ``nets.<NET>.arch``).  ``symbols`` lists the names a constraint weight may use.
    """

    key: str
    section: str
    type: str
    default: Any
    label: str
    help: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    nullable: bool = False
    null_label: str | None = None
    length: int | None = None
    pattern: str | None = None
    allowed_hint: str | None = None
    symbols: tuple[str, ...] | None = None
    depends_on: Condition | None = None
    discriminator: bool = False

    def __hash__(self) -> int:  # defaults may be lists; key + condition identify a descriptor
        return hash((self.key, self.depends_on))

    def active(self, config: Mapping[str, Any]) -> bool:
        """Whether this field applies to ``config`` (its variant is the selected one)."""
        return self.depends_on is None or self.depends_on.holds(config)

    def allowed(self) -> str:
        """Human description of the allowed values, used in error messages and tooltips."""
        if self.allowed_hint:
            text = self.allowed_hint
        elif self.type == "bool":
            text = "true or false"
        elif self.type == "choice":
            text = "one of " + ", ".join(self.choices or ())
        elif self.type == "text":
            text = f"text matching {self.pattern}" if self.pattern else "text"
        elif self.type == "int":
            text = "an integer" + self._range()
        elif self.type == "float":
            text = "a number" + self._range()
        elif self.type == "floatlist":
            count = f"{self.length} numbers" if self.length else "a list of numbers"
            text = count + (f", each{self._range()}" if self._range() else "") + " (e.g. 0.9,0.999)"
        elif self.type == "expression":
            names = ", ".join(self.symbols) if self.symbols is not None else "the constraint's symbols"
            text = f"a number{self._range()} or an expression in {names or '(no symbols)'}"
        else:  # pragma: no cover - introspect rejects other types
            text = self.type
        if self.nullable:
            label = self.null_label or "null"
            text = f"{label} (null) or {text}" if label != "null" else f"null or {text}"
        return text

    def _range(self) -> str:
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None:
            left = "(" if self.exclusive_minimum else "["
            right = ")" if self.exclusive_maximum else "]"
            return f" in {left}{_num(lo)}, {_num(hi)}{right}"
        if lo is not None:
            return f" {'>' if self.exclusive_minimum else '>='} {_num(lo)}"
        if hi is not None:
            return f" {'<' if self.exclusive_maximum else '<='} {_num(hi)}"
        return ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists, the condition a dict, plus ``allowed``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Condition):
                value = {"key": value.key, "values": list(value.values), "default": value.default}
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        out["allowed"] = self.allowed()
        return out


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _from_spec(spec: LeafSpec, key: str, section: str, **more: Any) -> FieldDescriptor:
    data = asdict(spec)
    data.pop("name")
    data["section"] = spec.section or section
    return FieldDescriptor(key=key, **data, **more)


def _describe_model(model: type[BaseModel], prefix: str, section: str, entry: Any) -> list[FieldDescriptor]:
    out: list[FieldDescriptor] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}.{name}"
        union = tagged_union(field.annotation, field.metadata)
        if union:
            out += _describe_union(union, key, section, entry)
        elif is_model(unwrap(field.annotation)[0]):
            out += _describe_model(unwrap(field.annotation)[0], key, section, entry)
        else:
            out.append(_leaf(model, name, key, section, entry))
    return out


def _leaf(model: type[BaseModel], name: str, key: str, section: str, entry: Any, **more: Any) -> FieldDescriptor:
    spec = leaf_spec(model, name)
    if spec.type == "expression" and entry is not None and hasattr(entry, "symbols"):
        more["symbols"] = tuple(sorted(entry.symbols))
    return _from_spec(spec, key, section, **more)


def _describe_union(union: TaggedUnion, prefix: str, section: str, entry: Any) -> list[FieldDescriptor]:
    disc_key = f"{prefix}.{union.discriminator}"
    default_model = union.variants[union.default]
    selector = replace(
        _leaf(default_model, union.discriminator, disc_key, section, entry),
        type="choice",
        choices=tuple(union.variants),
        default=union.default,
        discriminator=True,
    )
    # Group each field's variants by identical spec: one descriptor per distinct spec.
    groups: dict[str, list[tuple[LeafSpec, list[str], type[BaseModel]]]] = {}
    for tag, model in union.variants.items():
        for name in model.model_fields:
            if name == union.discriminator:
                continue
            spec = leaf_spec(model, name)
            for group in groups.setdefault(name, []):
                if group[0] == spec:
                    group[1].append(tag)
                    break
            else:
                groups[name].append((spec, [tag], model))
    out = [selector]
    for name, variants in groups.items():
        for spec, tags, model in variants:
            condition = None
            if len(tags) < len(union.variants):
                condition = Condition(disc_key, tuple(tags), union.default)
            out.append(_leaf(model, name, f"{prefix}.{name}", section, entry, depends_on=condition))
    return out


def describe_fields(outline: ProblemOutline | None = None) -> list[FieldDescriptor]:
    """Every setting of a stage config for ``outline``, grouped by UI section.

    Keys are concrete (``nets.metalNN.layer_size``); without an outline, collection
    entries use placeholders (``nets.<NET>.layer_size``), which is what the docs list.
    Sections, in order (``section_order`` on ``StageConfig``): Training, Scheduler,
    Optimizer, "[<NET>] NN Architecture" (one per network), Equation Constraints,
    Neural Networks (the ``trainable`` flags), Data Constraints.
    """
    out: list[FieldDescriptor] = []
    colls = collections()
    for section_name, field in StageConfig.model_fields.items():
        title = field.title or section_name.capitalize()
        coll = colls.get(section_name)
        if coll is None:
            union = tagged_union(field.annotation, field.metadata)
            if union:
                out += _describe_union(union, section_name, title, None)
            else:
                out += _describe_model(unwrap(field.annotation)[0], section_name, title, None)
            continue
        if outline is None:
            entries: list[tuple[str, Any]] = [(coll.placeholder, None)]
        else:
            source = getattr(outline, coll.outline_attr)
            entries = [(name, source[name] if isinstance(source, Mapping) else None) for name in source]
        for name, entry in entries:
            prefix, section = f"{section_name}.{name}", title.format(name=name)
            union = tagged_union(coll.value_annotation)
            if union:
                out += _describe_union(union, prefix, section, entry)
            else:
                out += _describe_model(unwrap(coll.value_annotation)[0], prefix, section, entry)
    return sorted(out, key=_section_rank(out))


def _section_rank(descriptors: list[FieldDescriptor]) -> Any:
    """Sort key: the schema's ``section_order`` (templates allowed), then first appearance."""
    extra = StageConfig.model_config.get("json_schema_extra") or {}
    templates = list(extra.get("section_order", [])) if isinstance(extra, dict) else []
    patterns = [re.compile("^" + re.escape(t).replace(re.escape("{name}"), ".+") + "$") for t in templates]
    first: dict[str, int] = {}
    for d in descriptors:
        first.setdefault(d.section, len(first))

    def rank(d: FieldDescriptor) -> tuple[int, int]:
        index = next((i for i, p in enumerate(patterns) if p.match(d.section)), len(patterns))
        return index, first[d.section]

    return rank
