"""``merge_with_problem``: bring a stored config in line with an edited problem (``mtc init-conf``)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from engine.config.errors import ConfigError
from engine.config.introspect import collections
from engine.config.outline import ProblemOutline
from engine.config.paths import show
from engine.config.validate import default_config, outline_names, validate_config


def merge_with_problem(config: Mapping[str, Any], outline: ProblemOutline) -> dict[str, Any]:
    """Networks, constraints and data entries new in ``outline`` get defaults, removed ones
    are dropped, and every other setting is kept exactly; the result is validated.

    A kept setting that the new problem makes invalid (e.g. a weight using a symbol
    the constraint no longer has) raises :class:`ConfigError` naming it.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"the stage config must be a JSON object, not {show(config)}", value=config)
    defaults = default_config(outline)
    merged = copy.deepcopy(dict(config))
    for section in collections():
        entries = merged.get(section)
        if not isinstance(entries, Mapping):
            entries = {}
        merged[section] = {
            name: entries[name] if name in entries else defaults[section][name]
            for name in outline_names(outline, section)
        }
    return validate_config(merged, outline)
