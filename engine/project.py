"""Project folders: create one from the template or an example, list the shipped examples."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import MtcError
from .resources import examples_dir, templates_dir

PROJECT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TEMPLATE_FILES = ("cfg.py", "configurator.ipynb", "README.md", "problem.py")
SKIPPED = {"__pycache__", ".mtc", "training", "cfg.py", ".ipynb_checkpoints"}


@dataclass(frozen=True)
class Example:
    """A shipped example project and the first line of its README."""

    name: str
    path: Path
    description: str


def list_examples() -> list[Example]:
    """The example projects under ``projects/``, sorted by name."""
    examples = []
    for path in sorted(p for p in examples_dir().iterdir() if (p / "problem.py").is_file()):
        readme = path / "README.md"
        lines = readme.read_text().splitlines() if readme.is_file() else []
        description = next((ln.lstrip("# ").strip() for ln in lines if ln.strip()), "")
        examples.append(Example(path.name, path, description))
    return examples


def find_example(name: str) -> Example:
    """The example called ``name``, or an error listing the available ones."""
    examples = {e.name: e for e in list_examples()}
    if name not in examples:
        raise MtcError(f"unknown example {name!r}: choose one of {', '.join(examples)} (see `mtc examples`)")
    return examples[name]


def _render_template(source: Path, target: Path, project_name: str) -> None:
    if source.suffix in {".py", ".md"}:
        target.write_text(source.read_text().replace("%%projname%%", project_name))
    else:
        shutil.copy2(source, target)


def _fill(folder: Path, project_name: str, example: Example | None) -> None:
    templates = templates_dir()
    for name in TEMPLATE_FILES:
        _render_template(templates / name, folder / name, project_name)
    if example is not None:
        for item in example.path.iterdir():
            if item.name in SKIPPED:
                continue
            if item.is_dir():
                shutil.copytree(item, folder / item.name, dirs_exist_ok=True)
            else:
                shutil.copy2(item, folder / item.name)


def create_project(target: str | Path, example: str | None = None, force: bool = False) -> Path:
    """Write a new project folder (problem.py, cfg.py, configurator.ipynb, README.md).

    The files are written into a temporary folder first and moved in place at the end, so a
    failure leaves nothing half-written. ``force`` replaces those files in an existing folder
    and keeps everything else there (databases, training results).
    """
    target = Path(target)
    name = target.name
    if not PROJECT_NAME.match(name) or ".." in target.parts:
        raise MtcError(f"project name {name!r} is not valid: use 1-64 letters, digits, '_' or '-'")
    chosen = find_example(example) if example else None
    if target.exists() and not force:
        raise MtcError(f"{target} already exists: choose another name or pass --force to overwrite its files")
    if target.exists() and not target.is_dir():
        raise MtcError(f"{target} exists and is not a folder: choose another name")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        _fill(staging, name, chosen)
        if target.exists():
            for item in staging.iterdir():
                destination = target / item.name
                if destination.is_dir():
                    shutil.rmtree(destination)
                item.replace(destination)
        else:
            staging.replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
