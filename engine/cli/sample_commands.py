"""``mtc sample``, ``mtc hdf5-info`` and ``mtc version`` (MTC's commands of the same names)."""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..errors import MtcError
from ..stages import StageBook

DEFAULT_MULTIPLE = 10


def register(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser("sample", help="sample every subdomain once into samples/<subdomain>.hdf5")
    sample.add_argument("--stage", default="stage1", metavar="S", help="whose batch sizes to use (default stage1)")
    sample.add_argument(
        "--multiple", type=int, default=DEFAULT_MULTIPLE, metavar="N",
        help=f"points per subdomain = N times its largest batch size (default {DEFAULT_MULTIPLE})",
    )  # fmt: skip
    sample.set_defaults(handler=run_sample)

    info = commands.add_parser("hdf5-info", help="the datasets (shape, type) and attributes of an HDF5 file")
    info.add_argument("file", type=Path)
    info.set_defaults(handler=run_hdf5_info)

    shown = commands.add_parser("version", help="print mtc's version")
    shown.set_defaults(handler=run_version)


def run_sample(args: argparse.Namespace) -> int:
    from ..config.adaptive import base_sampler
    from ..problem import load_problem
    from ..samples import integral_groups, subdomain_sizes, write_samples

    project = Path(args.project).resolve()
    problem = load_problem(project)
    with StageBook(project) as book:
        config = book.stage(args.stage).config
    sizes = subdomain_sizes(problem, config, args.multiple)
    if not sizes:
        raise MtcError(f"stage {args.stage!r} includes no constraint: nothing to sample")
    training = config["training"]
    groups = integral_groups(problem, config, args.multiple)
    for path, rows in write_samples(project, problem, sizes, training["seed"], base_sampler(training), groups).items():
        per_value = f" at {groups[path.stem]} parameter values" if path.stem in groups else ""
        print(f"wrote {rows:,} points to {path.relative_to(project)}{per_value}")
    print("next: `mtc train --sampled` draws the batches from these files")
    return 0


def run_hdf5_info(args: argparse.Namespace) -> int:
    from ..samples import describe_hdf5

    print("\n".join(describe_hdf5(args.file)))
    return 0


def run_version(args: argparse.Namespace) -> int:
    try:
        print(f"mtc {version('mtc')}")
    except PackageNotFoundError:
        raise MtcError("mtc is not installed (pip install -e .): its version is unknown") from None
    return 0
