"""``mtc compare``: one row per stage with its run, its losses, its errors and the settings that differ.

Columns: stage, status, kind, parent, steps, wall_s, steps_per_s, device; ``final.<key>`` and
``best.<key>`` for every logged loss key (``total`` and each constraint); ``unknown.<k>``, the last
learned value of each unknown constant (``p.add_unknown``), when the problem has them; ``l2_rel.<target>`` and
``max_abs.<target>`` for every target of the reference solution; then only the settings (dotted
config keys) whose values are not the same in every compared stage, like a diff.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import MtcError
from engine.problem.unknowns import ROW_PREFIX
from engine.store import StageRecord, Storage

RUN_COLUMNS = ("stage", "status", "kind", "parent", "steps", "wall_s", "steps_per_s", "device")
NOT_LOSSES = ("lr",)


@dataclass(frozen=True)
class CompareTable:
    """The rows (dicts keyed by column) and the column order."""

    columns: list[str]
    rows: list[dict[str, Any]]
    settings: list[str]

    def sorted_by(self, key: str) -> CompareTable:
        """Rows by ``key`` ascending (a leading ``-`` for descending); empty cells last."""
        descending = key.startswith("-")
        column = key.removeprefix("-")
        if column not in self.columns:
            raise MtcError(f"unknown sort key {column!r}: use one of the columns {', '.join(self.columns)}")
        present = [row for row in self.rows if _sortable(row.get(column))]
        missing = [row for row in self.rows if not _sortable(row.get(column))]
        present.sort(key=lambda row: _order(row[column]), reverse=descending)
        return CompareTable(self.columns, present + missing, self.settings)

    def to_json(self) -> str:
        """The rows as a JSON list (non-finite numbers as null)."""
        return json.dumps([{c: _json_value(row.get(c)) for c in self.columns} for row in self.rows], indent=2)

    def to_csv(self) -> str:
        """The table as CSV with a header row."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({c: "" if row.get(c) is None else row[c] for c in self.columns})
        return out.getvalue()

    def to_text(self) -> str:
        """An aligned text table (numbers in 4 significant digits, empty cells as ``-``)."""
        cells = [[format_cell(row.get(c)) for c in self.columns] for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(self.columns, widths)).rstrip()]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
        return "\n".join(lines) + "\n"


def compare_stages(storage: Storage, names: Sequence[str] = (), tag: str | None = None) -> CompareTable:
    """The compare table of ``names`` (default: every stage; with ``tag``, the stages tagged so)."""
    records = storage.list_stages()
    if names:
        by_name = {r.name: r for r in records}
        records = [by_name[n] if n in by_name else storage.get_stage(n) for n in names]
    if tag is not None:
        records = [r for r in records if tag in (r.tags or [])]
        if not records:
            raise MtcError(f"no stage is tagged {tag!r}: sweeps are named sweep1, sweep2, ... (`mtc stage list`)")
    losses = {r.name: loss_summary(storage.loss_rows(r.name)) for r in records}
    logged = _union(list(summary) for summary in losses.values())
    keys = [k for k in logged if k not in NOT_LOSSES and not k.startswith(ROW_PREFIX)]
    unknowns = [k.removeprefix(ROW_PREFIX) for k in logged if k.startswith(ROW_PREFIX)]
    targets = _union(list((r.errors or {}).get("outputs", {})) for r in records)
    settings = differing_settings([r.config for r in records])
    rows = [_row(r, losses[r.name], settings) for r in records]
    columns = [
        *RUN_COLUMNS, *(f"{which}.{k}" for k in keys for which in ("final", "best")), *(f"unknown.{k}" for k in unknowns),
        *(f"{measure}.{t}" for t in targets for measure in ("l2_rel", "max_abs")), *settings,
    ]  # fmt: skip
    return CompareTable(columns, rows, settings)


def loss_summary(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per loss key: the value at the last step (``final``), the smallest finite one (``best``), and
    the last step and its wall time (``step``, ``wall``)."""
    summary: dict[str, dict[str, float]] = {}
    for row in sorted(rows, key=lambda r: (r["step"], r["id"])):
        entry = summary.setdefault(row["key"], {"best": math.inf})
        entry.update(final=row["value"], step=row["step"], wall=row["wall_time"])
        if math.isfinite(row["value"]):
            entry["best"] = min(entry["best"], row["value"])
    return summary


def differing_settings(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The dotted setting keys whose values are not all equal across ``configs`` (config order)."""
    flat = [flatten(config) for config in configs]
    keys = _union(list(f) for f in flat)
    return [k for k in keys if len({json.dumps(f.get(k), sort_keys=True) for f in flat}) > 1]


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"optimizer": {"lr": 0.01}}`` -> ``{"optimizer.lr": 0.01}``."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def format_cell(value: Any) -> str:
    """A table cell: ``-`` for nothing, 4 significant digits for floats."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _row(record: StageRecord, losses: Mapping[str, Mapping[str, float]], settings: Sequence[str]) -> dict[str, Any]:
    total = losses.get("total")
    steps = None if record.last_step is None else record.last_step + 1
    wall = total["wall"] if total else None
    row: dict[str, Any] = {
        "stage": record.name, "status": record.status, "kind": record.kind, "parent": record.parent,
        "steps": steps, "wall_s": wall, "steps_per_s": steps / wall if steps and wall else None,
        "device": record.device,
    }  # fmt: skip
    for key, entry in losses.items():
        if key.startswith(ROW_PREFIX):
            row[f"unknown.{key.removeprefix(ROW_PREFIX)}"] = entry["final"]
        elif key not in NOT_LOSSES:
            row[f"final.{key}"] = entry["final"]
            row[f"best.{key}"] = entry["best"] if math.isfinite(entry["best"]) else None
    for target, errors in (record.errors or {}).get("outputs", {}).items():
        row.update({f"{measure}.{target}": value for measure, value in errors.items()})
    flat = flatten(record.config)
    row.update({key: flat.get(key) for key in settings})
    return row


def _union(lists: Iterable[list[str]]) -> list[str]:
    seen: dict[str, None] = {}
    for items in lists:
        seen.update(dict.fromkeys(items))
    return list(seen)


def _sortable(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, str(value))


def _json_value(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value
