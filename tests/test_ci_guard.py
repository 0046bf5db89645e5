"""On CI (CI=true) a browser test that would skip fails instead, with its reason; other skips stay skips."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

SKIPPING_TESTS = """
    import pytest

    @pytest.mark.browser
    @pytest.mark.skipif(True, reason="needs Debian's chromium")
    def test_page():
        pass

    def test_gpu():
        pytest.skip("no CUDA device here")
"""
SKIPPING_MODULE = """
    import pytest

    pytest.importorskip("no_such_playwright_module")
"""


def run_pytest(folder: Path, ci: str | None) -> subprocess.CompletedProcess:
    """pytest on ``folder`` with the ci_guard hooks loaded as a plugin and CI set to ``ci``."""
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": ci} if ci is not None else {})
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "pytest", "-p", "ci_guard", "-rs", "-p", "no:cacheprovider", str(folder)]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def suite(folder: Path, name: str, source: str) -> Path:
    """A folder holding one test module ``name`` and a pytest.ini that declares the browser marker."""
    folder.mkdir()
    (folder / name).write_text(textwrap.dedent(source))
    (folder / "pytest.ini").write_text("[pytest]\nmarkers =\n    browser: drives a browser\n")
    return folder


def test_browser_skips_fail_on_ci(tmp_path):
    result = run_pytest(suite(tmp_path / "tests", "test_pages.py", SKIPPING_TESTS), "true")
    assert result.returncode == 1, result.stdout
    assert "CI=true: the browser tests must run, not skip (Skipped: needs Debian's chromium)" in result.stdout
    assert "SKIPPED [1] test_pages.py:10: no CUDA device here" in result.stdout  # other skips stay skips
    assert "1 skipped, 1 error" in result.stdout


def test_a_skipped_browser_module_fails_on_ci(tmp_path):
    result = run_pytest(suite(tmp_path / "module", "test_browser.py", SKIPPING_MODULE), "true")
    assert result.returncode != 0, result.stdout
    assert "CI=true: the browser tests must run, not skip (Skipped: could not import 'no_such_playwright_module'" in result.stdout


def test_browser_skips_stay_skips_off_ci(tmp_path):
    folder = suite(tmp_path / "tests", "test_pages.py", SKIPPING_TESTS)
    (folder / "test_browser.py").write_text(textwrap.dedent(SKIPPING_MODULE))
    result = run_pytest(folder, None)
    assert result.returncode == 0 and "3 skipped" in result.stdout, result.stdout
    assert "SKIPPED [1] test_pages.py" in result.stdout and "needs Debian's chromium" in result.stdout  # -rs
    assert "CI=true" not in result.stdout
