"""Load a project's ``problem.py`` into a Problem, turning every failure into one located message."""

from __future__ import annotations

import hashlib
import os
import sys
import traceback
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import ProblemError
from . import language
from .first_order import is_recorded, only_first_order
from .problem import Problem, loading_dir

PROBLEM_FILE = "problem.py"


def _default_cfg(project: Path) -> types.ModuleType:
    """The ``cfg`` a project without a cfg.py gets: the language and ``p = Problem(<folder>)``."""
    cfg = types.ModuleType("cfg")
    cfg.__dict__.update({name: getattr(language, name) for name in language.__all__})
    cfg.p = Problem(project.name)  # type: ignore[attr-defined]
    return cfg


@contextmanager
def _project_imports(project: Path) -> Iterator[None]:
    """Make ``cfg`` (and MTC's ``mtc.problem``) importable fresh from ``project``, then restore."""
    saved = {name: sys.modules.pop(name, None) for name in ("cfg", "mtc", "mtc.problem")}
    mtc = types.ModuleType("mtc")
    mtc.problem = language  # type: ignore[attr-defined]
    sys.modules.update({"mtc": mtc, "mtc.problem": language})
    sys.path.insert(0, str(project))
    token = loading_dir.set(project)
    if not (project / "cfg.py").is_file():
        sys.modules["cfg"] = _default_cfg(project)
    try:
        yield
    finally:
        loading_dir.reset(token)
        sys.path.remove(str(project))
        for name, module in saved.items():
            sys.modules.pop(name, None)
            if module is not None:
                sys.modules[name] = module


def _line_in(tb: types.TracebackType | None, filename: str) -> int | None:
    """The deepest line of ``filename`` in a traceback."""
    line = None
    for frame in traceback.extract_tb(tb):
        if frame.filename == filename:
            line = frame.lineno
    return line


def load_problem(project: str | Path, first_order: bool | None = None) -> Problem:
    """Execute ``<project>/problem.py`` and return its ``p``; raises ProblemError with file:line.

    ``first_order`` rewrites it so networks are differentiated once (``--only-first-order-ufunc``);
    ``None`` does so when the project has recorded that form.
    """
    project = Path(project).resolve()
    path = project / PROBLEM_FILE
    if not path.is_file():
        raise ProblemError(f"no {PROBLEM_FILE} in {project}: is this an mtc project? (`mtc create NAME`)")
    filename = str(path)
    try:
        code = compile(path.read_text(), filename, "exec")
    except SyntaxError as exc:
        raise ProblemError(f"syntax error: {exc.msg}", PROBLEM_FILE, exc.lineno) from None
    namespace: dict = {"__name__": "__mtc_problem__", "__file__": filename}
    with _project_imports(project):
        try:
            exec(code, namespace)
        except ProblemError as exc:
            raise exc.located(PROBLEM_FILE, _line_in(exc.__traceback__, filename)) from None
        except Exception as exc:  # any error in user code becomes one located message
            message = f"{type(exc).__name__}: {exc}"
            raise ProblemError(message, PROBLEM_FILE, _line_in(exc.__traceback__, filename)) from exc
    problem = namespace.get("p")
    if not isinstance(problem, Problem):
        raise ProblemError(f"{PROBLEM_FILE} defines no problem `p`: start it with `from cfg import *`", PROBLEM_FILE)
    if first_order or (first_order is None and is_recorded(project)):
        only_first_order(problem)
    return problem


def problem_hash(project_dir: str | os.PathLike[str]) -> str:
    """The sha256 (hex) of the project's ``problem.py`` text (and of its form, when --only-first-order-ufunc
    rewrites it), recorded on every stage."""
    text = (Path(project_dir) / PROBLEM_FILE).read_text(encoding="utf-8")
    if is_recorded(Path(project_dir)):
        text += "\n# mtc: --only-first-order-ufunc\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
