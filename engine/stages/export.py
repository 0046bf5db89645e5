"""``mtc export``: a stage's loss history as a tidy pandas table, written as CSV or parquet.

Imported on demand (pandas is slow to import), not by ``engine.stages`` itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

import pandas as pd

from engine.errors import MtcError
from engine.store import Storage

COLUMNS = {
    "stage": "str", "attempt": "int64", "step": "int64", "wall_time": "float64", "key": "str", "value": "float64",
}  # fmt: skip
FORMATS = ("csv", "parquet")
PARQUET_SUFFIXES = (".parquet", ".pq")


def loss_table(storage: Storage, stage: str) -> pd.DataFrame:
    """One row per logged value: stage, attempt, step, wall_time, key, value (NaN/inf kept)."""
    frame = pd.DataFrame(storage.loss_rows(stage), columns=list(COLUMNS)).astype(COLUMNS)
    return frame.sort_values(["attempt", "step", "key"], kind="stable").reset_index(drop=True)


def export_format(fmt: str | None, output: str | os.PathLike[str] | None) -> str:
    """The format to write: ``fmt`` if given, else parquet for a ``.parquet``/``.pq`` output, else CSV.

    Parquet is binary, so it needs an output file.
    """
    if fmt is None:
        fmt = "parquet" if output is not None and Path(output).suffix in PARQUET_SUFFIXES else "csv"
    if fmt not in FORMATS:
        raise MtcError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "parquet" and output is None:
        raise MtcError(
            "parquet is a binary format: give a file to write with --output FILE (e.g. --output loss.parquet)"
        )
    return fmt


def write_table(frame: pd.DataFrame, fmt: str, output: str | os.PathLike[str] | None, stream: TextIO) -> None:
    """Write ``frame`` as ``fmt`` to ``output``, or CSV to ``stream`` when there is no output file."""
    if fmt == "parquet":
        frame.to_parquet(output, index=False)
    else:
        frame.to_csv(output if output is not None else stream, index=False)
