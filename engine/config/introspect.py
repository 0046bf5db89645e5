"""Reading the pydantic models: leaf specs, tagged unions and collections.

This is the only module that looks inside annotations and ``FieldInfo`` objects;
:mod:`describe`, :mod:`switch` and the validators build on what it returns.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, BeforeValidator
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from engine.config.schema import DefaultTag, StageConfig


@dataclass(frozen=True)
class LeafSpec:
    """Everything about one leaf field except where it sits (its key)."""

    name: str
    type: str  # int | float | bool | choice | text | expression | floatlist
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
    section: str | None = None  # overrides the parent's section


@dataclass(frozen=True)
class TaggedUnion:
    """A discriminated union: the discriminator field, variants by tag (in order), default tag."""

    discriminator: str
    variants: dict[str, type[BaseModel]]
    default: str


@dataclass(frozen=True)
class Collection:
    """A ``StageConfig`` field holding one entry per outline name (nets, constraints, data)."""

    section: str
    outline_attr: str
    placeholder: str
    noun: str
    value_annotation: Any


def unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` layers, returning the bare type and the collected metadata."""
    meta: list[Any] = []
    while get_origin(annotation) is Annotated:
        args = get_args(annotation)
        annotation = args[0]
        meta.extend(args[1:])
    return annotation, meta


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def tagged_union(annotation: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> TaggedUnion | None:
    """The :class:`TaggedUnion` behind ``annotation`` (plus a field's ``metadata``), or None."""
    tp, meta = unwrap(annotation)
    meta = list(metadata) + meta
    if not _is_union(tp):
        return None
    fill = next(
        (m.func for m in meta if isinstance(m, BeforeValidator) and isinstance(m.func, DefaultTag)),
        None,
    )
    if fill is None:
        return None
    variants: dict[str, type[BaseModel]] = {}
    for model in get_args(tp):
        (tag,) = get_args(unwrap(model.model_fields[fill.discriminator].annotation)[0])
        variants[tag] = model
    return TaggedUnion(fill.discriminator, variants, fill.default)


@lru_cache(maxsize=None)
def collections() -> dict[str, Collection]:
    """``StageConfig`` fields keyed by outline entry names, by section name."""
    found = {}
    for section, field in StageConfig.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if "outline" in extra:
            found[section] = Collection(
                section,
                str(extra["outline"]),
                str(extra.get("placeholder", "<NAME>")),
                str(extra.get("noun", "entry")),
                get_args(unwrap(field.annotation)[0])[1],
            )
    return found


def union_for_section(section: str) -> TaggedUnion | None:
    """The tagged union at ``section`` (``optimizer``) or at each entry of a collection (``nets``)."""
    field = StageConfig.model_fields.get(section)
    if field is None:
        return None
    coll = collections().get(section)
    if coll:
        return tagged_union(coll.value_annotation)
    return tagged_union(field.annotation, field.metadata)


@lru_cache(maxsize=None)
def all_tags() -> frozenset[str]:
    """Every discriminator value of every union (they appear in pydantic error locations)."""
    tags: set[str] = set()
    for section in StageConfig.model_fields:
        union = union_for_section(section)
        if union:
            tags.update(union.variants)
    return frozenset(tags)


def _flatten_meta(meta: list[Any]) -> list[Any]:
    out: list[Any] = []
    for m in meta:
        if isinstance(m, FieldInfo):
            out.extend(_flatten_meta(list(m.metadata)))
        else:
            out.append(m)
    return out


def _bounds(meta: list[Any]) -> dict[str, Any]:
    b: dict[str, Any] = {}
    for m in _flatten_meta(meta):
        if isinstance(m, at.Gt):
            b.update(minimum=m.gt, exclusive_minimum=True)
        elif isinstance(m, at.Ge):
            b.update(minimum=m.ge, exclusive_minimum=False)
        elif isinstance(m, at.Lt):
            b.update(maximum=m.lt, exclusive_maximum=True)
        elif isinstance(m, at.Le):
            b.update(maximum=m.le, exclusive_maximum=False)
        elif getattr(m, "pattern", None):
            b["pattern"] = m.pattern
    return b


def _label(name: str, field: FieldInfo) -> str:
    return field.title or name.replace("_", " ").capitalize()


@lru_cache(maxsize=None)
def leaf_spec(model: type[BaseModel], name: str) -> LeafSpec:
    """Describe the leaf field ``name`` of ``model``; unsupported types raise ``TypeError``."""
    field = model.model_fields[name]
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    tp, meta = unwrap(field.annotation)
    meta = list(field.metadata) + meta
    nullable = False
    if _is_union(tp) and type(None) in get_args(tp):
        rest = [a for a in get_args(tp) if a is not type(None)]
        nullable = True
        if len(rest) == 1:
            tp, more = unwrap(rest[0])
            meta += more
    info: dict[str, Any] = {}
    if extra.get("ui") == "expression":
        kind = "expression"
        for member in get_args(tp):
            member_tp, member_meta = unwrap(member)
            if member_tp in (int, float):
                info.update(_bounds(member_meta))
    elif get_origin(tp) is Literal:
        kind, info["choices"] = "choice", tuple(get_args(tp))
    elif tp is bool:
        kind = "bool"
    elif tp is int:
        kind = "int"
    elif tp is float:
        kind = "float"
    elif tp is str:
        kind = "text"
    elif get_origin(tp) in (tuple, list):
        items = get_args(tp)
        if get_origin(tp) is tuple and items and items[-1] is not Ellipsis:
            info["length"] = len(items)
        item_tp, item_meta = unwrap(items[0]) if items else (float, [])
        if item_tp not in (int, float):
            raise TypeError(f"{model.__name__}.{name}: only lists of numbers are supported, not {tp}")
        kind = "floatlist"
        info.update(_bounds(item_meta))
    else:
        raise TypeError(f"{model.__name__}.{name}: no UI type for annotation {field.annotation!r}")
    if kind != "floatlist":
        info.update(_bounds(meta))
    return LeafSpec(
        name=name,
        type=kind,
        default=to_jsonable_python(field.get_default(call_default_factory=True)),
        label=_label(name, field),
        help=field.description or "",
        nullable=nullable,
        null_label=extra.get("null_label", "null") if nullable else None,
        allowed_hint=extra.get("allowed"),
        section=extra.get("section"),
        **info,
    )
