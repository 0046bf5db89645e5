"""Typed stage configuration: what one training stage does, as validated JSON.

Keys are dotted paths, identical in the CLI (``--set KEY=VALUE``), the UI and the
stored JSON.  The pydantic models in :mod:`engine.config.schema` are the single
source of truth; everything here works on plain JSON dicts.

Public API::

    default_config(outline) -> dict
    validate_config(config, outline) -> dict            # normalised, or ConfigError
    get_value(config, key) -> Any
    set_values(config, assignments, outline) -> dict    # new dict, input untouched
    merge_with_problem(config, outline) -> dict         # for `mtc init-conf`
    describe_fields(outline=None) -> list[FieldDescriptor]
    flatten(config) -> dict[str, Any]
    config_json_schema() -> dict                        # JSON schema of a stage config
"""

from __future__ import annotations

from typing import Any

from engine.config.assign import set_values
from engine.config.describe import Condition, FieldDescriptor, describe_fields
from engine.config.errors import ConfigError
from engine.config.merge import merge_with_problem
from engine.config.outline import ConstraintOutline, NetworkOutline, ProblemOutline
from engine.config.paths import flatten, get_value
from engine.config.schema import StageConfig
from engine.config.steps import total_steps
from engine.config.validate import default_config, hard_constraints, validate_config


def config_json_schema() -> dict[str, Any]:
    """The JSON schema of a stage config (for editors and external tools)."""
    return StageConfig.model_json_schema()


__all__ = [
    "Condition",
    "ConfigError",
    "ConstraintOutline",
    "FieldDescriptor",
    "NetworkOutline",
    "ProblemOutline",
    "StageConfig",
    "config_json_schema",
    "default_config",
    "describe_fields",
    "flatten",
    "get_value",
    "hard_constraints",
    "merge_with_problem",
    "set_values",
    "total_steps",
    "validate_config",
]
