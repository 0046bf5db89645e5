"""Every shipped example trained end to end on CPU with the commands of its README, to the error its
README states against its exact solution; `mtc demo` (heat-interface) to the error it prints.

The commands are read from each README's "Train it" block, so the README and the test cannot drift.
Bounds are a measured run's error with a margin (the measurements are in each README).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from engine.demo import exact_temperature
from engine.inference import load_stage

from conftest import REPO, run_mtc

pytestmark = pytest.mark.slow

Grid = dict[str, np.ndarray]


def grid(**axes: tuple[float, float, int]) -> Grid:
    """Every combination of evenly spaced points along each named axis (lo, hi, n), as columns."""
    mesh = np.meshgrid(*(np.linspace(*axis) for axis in axes.values()), indexing="ij")
    return {name: m.ravel() for name, m in zip(axes, mesh)}


@dataclass(frozen=True)
class Example:
    """Where an example's answer is read (stage, output) and what it should be."""

    stage: str
    output: str
    points: Grid
    exact: Callable[[Grid], np.ndarray]
    bound: float  # relative L2 error the trained stage must reach


EXAMPLES = {
    "hello-world": Example("stage1", "u", grid(x=(0, 1, 501)), lambda p: p["x"] * (1 - p["x"]) / 2, 1e-4),
    "parametric-1d": Example(
        "stage1", "u", grid(x=(0, 1, 101), a=(1, 3, 21)), lambda p: p["a"] * p["x"] * (1 - p["x"]) / 2, 1e-2
    ),
    "poisson-2d": Example(
        "stage1", "u", grid(x=(0, 1, 101), y=(0, 1, 101)), lambda p: np.sin(np.pi * p["x"]) * np.sin(np.pi * p["y"]), 1e-2
    ),
    "precision-1d": Example(
        "stage3", "u", grid(x=(0, 1, 2001)),
        lambda p: np.sin(2 * np.pi * p["x"]) + 0.1 * np.sin(8 * np.pi * p["x"]), 2.5e-5,
    ),  # fmt: skip
    "two-frequency-1d": Example(
        "stage1", "u", grid(x=(0, 1, 2001)),
        lambda p: np.sin(2 * np.pi * p["x"]) + 0.2 * np.sin(6 * np.pi * p["x"]), 1e-3,
    ),  # fmt: skip
    "wave-1d": Example(
        "stage1", "u", grid(x=(0, np.pi, 101), t=(0, 2 * np.pi, 101)),
        lambda p: np.sin(p["x"]) * (np.sin(p["t"]) + np.cos(p["t"])), 1e-2,
    ),  # fmt: skip
}


def readme_commands(example: str) -> list[list[str]]:
    """The `mtc` commands of the README's "Train it" block, continuation lines joined, comments dropped."""
    text = (REPO / "projects" / example / "README.md").read_text()
    block = text.split("## Train it", 1)[1].split("\n## ", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", block)
    lines = [line.strip() for line in joined.splitlines() if line.startswith("    mtc ")]
    return [shlex.split(line, comments=True)[1:] for line in lines]


def relative_error(project: Path, example: Example) -> float:
    predicted = load_stage(project, example.stage).predict(example.points)[example.output]
    exact = example.exact(example.points)
    return float(np.linalg.norm(predicted - exact) / np.linalg.norm(exact))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_trains_to_its_stated_error(name: str, tmp_path: Path) -> None:
    assert run_mtc("create", "project", "--example", name, cwd=tmp_path).returncode == 0
    project = tmp_path / "project"
    commands = readme_commands(name)
    assert commands and ["train"] in [c[:1] for c in commands], f"{name}'s README has no 'Train it' block"
    for command in commands:
        result = run_mtc(*command, cwd=project)
        assert result.returncode == 0, f"mtc {shlex.join(command)}: {result.stdout}{result.stderr}"
    error = relative_error(project, EXAMPLES[name])
    print(f"\n{name}: relative L2 error {error:.2e} (bound {EXAMPLES[name].bound:.0e})")
    assert error < EXAMPLES[name].bound


# -- mtc demo: heat-interface, trained by the demo's own stages ---------------------------------------

DEMO_BOUND = 1e-4  # relative L2 error of the demo's final stage (1.75e-5 measured)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """`mtc demo --no-serve` run once: the project it trained and what it printed."""
    folder = tmp_path_factory.mktemp("demo")
    result = run_mtc("demo", "--no-serve", "heat", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    yield folder / "heat", result.stdout


def test_demo_prints_the_error_its_trained_stage_has(demo: tuple[Path, str]) -> None:
    project, printed = demo
    reported = float(re.search(r"relative L2 error: (\S+)", printed).group(1))
    x = np.linspace(0, 1, 2001)
    exact = exact_temperature(x)
    error = np.linalg.norm(load_stage(project, "stage2").predict({"x": x})["T"] - exact) / np.linalg.norm(exact)
    print(f"\nmtc demo: relative L2 error {error:.2e} (bound {DEMO_BOUND:.0e})")
    assert reported == pytest.approx(error, rel=6e-3)  # printed with three digits
    assert error < DEMO_BOUND


def test_demo_table_compares_the_trained_temperature_with_the_exact_one(demo: tuple[Path, str]) -> None:
    _, printed = demo
    lines = printed.split("    x      T (mtc)      T (exact)\n", 1)[1].splitlines()[:11]
    table = np.array([[float(v) for v in line.split()] for line in lines])
    np.testing.assert_allclose(table[:, 0], np.linspace(0, 1, 11), atol=5e-3)
    np.testing.assert_allclose(table[:, 2], exact_temperature(table[:, 0]), atol=1e-6)  # printed to 6 decimals
    scale = np.abs(table[:, 2]).max()
    np.testing.assert_allclose(table[:, 1], table[:, 2], atol=DEMO_BOUND * scale * 3)
