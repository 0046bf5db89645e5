"""On CI (CI=true) the browser tests must run: a browser test (or the browser test module) that
would be skipped fails instead, naming why it would have skipped. Other skips stay skips.

Hooks registered by conftest.py; a plugin of its own (``-p ci_guard``) so that it can be tested
without importing the engine.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

BROWSER_MODULES = "test_browser"  # test_browser*.py: skipped whole at import when Playwright is missing


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _fail_skip_on_ci(report: pytest.CollectReport | pytest.TestReport) -> None:
    """Turn a skipped browser test (or module) into a failure that names why it would have skipped."""
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"CI=true: the browser tests must run, not skip ({reason})"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = (yield).get_result()
    if on_ci() and report.skipped and item.get_closest_marker("browser"):
        _fail_skip_on_ci(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    report = (yield).get_result()
    if on_ci() and report.skipped and collector.path is not None and collector.path.name.startswith(BROWSER_MODULES):
        _fail_skip_on_ci(report)
