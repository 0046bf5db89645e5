"""Where the shipped templates and example projects live (the repository beside ``engine/``)."""

from __future__ import annotations

from pathlib import Path

from .errors import MtcError

ROOT = Path(__file__).resolve().parent.parent


def _shipped(name: str) -> Path:
    path = ROOT / name
    if not path.is_dir():
        raise MtcError(f"mtc's {name}/ folder is missing at {path}: install mtc from its repository with `pip install -e .`")
    return path


def templates_dir() -> Path:
    """The folder holding ``configurator.ipynb`` and the project file templates."""
    return _shipped("templates")


def examples_dir() -> Path:
    """The folder of shipped example projects, one sub-folder each."""
    return _shipped("projects")
