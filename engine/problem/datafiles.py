"""Tables of measured values for data constraints: CSV, NPZ or HDF5 columns by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ProblemError

SUFFIXES = {".csv": "csv", ".npz": "npz", ".h5": "hdf5", ".hdf5": "hdf5", ".hdf": "hdf5"}


def _format(path: Path) -> str:
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ProblemError(
            f"data file {path.name!r} has an unknown format: use .csv, .npz, .h5 or .hdf5"
        )
    if not path.is_file():
        raise ProblemError(f"data file {str(path)!r} does not exist: check data_fname")
    return fmt


def column_names(path: Path) -> tuple[list[str], int]:
    """Column names of a data file and its number of rows, without loading the values."""
    fmt = _format(path)
    if fmt == "csv":
        import pandas as pd

        header = pd.read_csv(path, nrows=0).columns
        with path.open("rb") as f:
            rows = max(sum(1 for _ in f) - 1, 0)
        return [str(c).strip() for c in header], rows
    if fmt == "npz":
        with np.load(path) as npz:
            names = list(npz.files)
            return names, int(np.asarray(npz[names[0]]).reshape(-1).shape[0]) if names else 0
    import h5py

    with h5py.File(path, "r") as h5:
        names = list(h5.keys())
        return names, int(np.prod(h5[names[0]].shape)) if names else 0


def load_columns(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    """Read the named columns of a data file as flat float64 arrays."""
    fmt = _format(path)
    if fmt == "csv":
        import pandas as pd

        frame = pd.read_csv(path, skipinitialspace=True)
        frame.columns = [str(c).strip() for c in frame.columns]
        return {n: frame[n].to_numpy(dtype=np.float64) for n in names}
    if fmt == "npz":
        with np.load(path) as npz:
            return {n: np.asarray(npz[n], dtype=np.float64).reshape(-1) for n in names}
    import h5py

    with h5py.File(path, "r") as h5:
        return {n: np.asarray(h5[n], dtype=np.float64).reshape(-1) for n in names}
