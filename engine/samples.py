"""Stored samples (``mtc sample``): each subdomain sampled once into ``<project>/samples/<subdomain>.hdf5``.

Each file holds one dataset per column (the subdomain's variables, ``area``, ``sdf`` or the
normals) and the attributes ``problem_hash`` (of the problem.py it was sampled from),
``subdomain``, ``kind``, ``seed`` and ``sampler``. ``training.sampled=true`` draws each step's
batches from these rows instead of sampling the geometry (MTC's ``mtc sample`` +
``train --sampled``): useful when sampling is slow (STL, heavy criteria) and for exactly
reproducible points.

A subdomain with a parameter range that an included integral constraint integrates over is
sampled in groups, each at one parameter value (the column ``integral_group`` numbers them):
an integral batch then takes its rows from one group, as the geometry is integrated per value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import MtcError
from .problem import Problem
from .problem.entities import Subdomain
from .problem.integrals import GROUP, draw_integral_batches, varying_parameters
from .problem.sampling import sample_subdomain
from .stages.files import problem_hash

FOLDER = "samples"
SUFFIX = ".hdf5"


def sample_path(project: Path, subdomain: str) -> Path:
    """Where the samples of ``subdomain`` live."""
    return Path(project) / FOLDER / f"{subdomain}{SUFFIX}"


def subdomain_sizes(problem: Problem, config: Mapping[str, Any], multiple: int) -> dict[str, int]:
    """Points to store per subdomain: ``multiple`` times the largest batch an included constraint draws from it."""
    if multiple < 1:
        raise MtcError(f"--multiple must be at least 1, got {multiple}")
    sizes: dict[str, int] = {}
    for name, settings in config["constraints"].items():
        if settings["include"]:
            subdomain = problem.constraints[name].subdomain.name
            batch = settings["batch_size"] * settings.get("integral_batches", 1)
            sizes[subdomain] = max(sizes.get(subdomain, 0), batch * multiple)
    return sizes


def integral_groups(problem: Problem, config: Mapping[str, Any], multiple: int) -> dict[str, int]:
    """Subdomain -> how many parameter values to sample it at: ``multiple`` times the integral batches
    of each included integral constraint over a subdomain with a parameter range (the largest)."""
    groups: dict[str, int] = {}
    for name, settings in config["constraints"].items():
        constraint = problem.constraints[name]
        if settings["include"] and constraint.integrands and varying_parameters(constraint.subdomain):
            subdomain = constraint.subdomain.name
            groups[subdomain] = max(groups.get(subdomain, 0), settings.get("integral_batches", 1) * multiple)
    return groups


def write_samples(
    project: Path, problem: Problem, sizes: Mapping[str, int], seed: int, sampler: str, groups: Mapping[str, int] = {}
) -> dict[Path, int]:
    """Sample each subdomain of ``sizes`` (one in ``groups`` at that many parameter values, in groups of
    equal size, rounded up) and write its file; every file is sampled before any is written.

    Returns each file written and its number of rows."""
    import h5py

    rng = np.random.default_rng(seed)
    drawn = {}
    for name, size in sizes.items():
        sd = problem.subdomains[name]
        if name in groups:
            per_group = -(-size // groups[name])
            drawn[name] = draw_integral_batches(sd, groups[name], per_group, rng, sampler)
            drawn[name][GROUP] = np.repeat(np.arange(groups[name]), per_group)
        else:
            drawn[name] = sample_subdomain(sd.geometry, sd.kind, size, sd.params, sd.criteria, rng, sampler, name=name)
    digest = problem_hash(project)
    written = {}
    for name, columns in drawn.items():
        path = sample_path(project, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with h5py.File(partial, "w") as h5:
            for key, values in columns.items():
                h5.create_dataset(key, data=np.asarray(values, dtype=np.float64))
            attrs = {"problem_hash": digest, "subdomain": name, "kind": problem.subdomains[name].kind}
            h5.attrs.update({**attrs, "seed": seed, "sampler": sampler})
        os.replace(partial, path)
        written[path] = len(columns["area"])
    return written


def read_samples(problem: Problem, subdomain: Subdomain) -> dict[str, np.ndarray]:
    """The stored rows of ``subdomain``, refused when missing or sampled from another problem.py."""
    import h5py

    project = problem.base_dir
    path = sample_path(project, subdomain.name)
    if not path.is_file():
        raise MtcError(
            f"training.sampled is on but subdomain {subdomain.name!r} has no samples ({path} is missing): "
            "run `mtc sample` first"
        )
    with h5py.File(path, "r") as h5:
        if h5.attrs.get("problem_hash") != problem_hash(project):
            raise MtcError(f"{path} was sampled from an older problem.py: run `mtc sample` again")
        return {key: np.asarray(h5[key]) for key in h5.keys()}


def check_samples(problem: Problem, config: Mapping[str, Any]) -> None:
    """Refuse (before queueing) a sampled stage whose subdomains lack current samples."""
    names = dict.fromkeys(problem.constraints[c].subdomain.name for c, s in config["constraints"].items() if s["include"])
    for name in names:
        read_samples(problem, problem.subdomains[name])


def describe_hdf5(path: Path) -> list[str]:
    """One line per dataset (name, shape, dtype) and attribute of an HDF5 file (``mtc hdf5-info``)."""
    import h5py

    if not Path(path).is_file():
        raise MtcError(f"{path} does not exist")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise MtcError(f"{path} is not an HDF5 file ({exc})") from None
    lines = [f"{path}"]
    with h5:
        h5.visititems(lambda name, item: lines.append(
            f"  {name}: {item.shape} {item.dtype}" if isinstance(item, h5py.Dataset) else f"  {name}/"
        ))  # fmt: skip
        lines += [f"  @{key} = {value}" for key, value in h5.attrs.items()]
    return lines
