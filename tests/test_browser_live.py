"""The served configurator as a page left open (issue 14's fixes, one served page for all of them):
every asset comes from the server itself (no CDN), the loss plot is above the fold beside the edit
form at 1400x1000, the smoothing slider goes down to 0, a stage made with the CLI appears on an
idle page without a click, and a stopped server turns the page into a "disconnected" notice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from configurator.plot_memory import load_memory
from conftest import example_project, run_mtc, wait_until
from processes import free_port, mtc_process, shutdown, stop_workers, wait_listening
from test_browser import CHROMIUM, browser, open_configurator  # noqa: F401  (fixture)

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"),
]


def remembered_smoothing(project: Path) -> float:
    """The smoothing the kernel last saw (the Plots panel remembers it in .mtc/plot.json); -1 before any."""
    return float(load_memory(project).get("smoothing", -1.0))


def test_an_open_page_is_offline_above_the_fold_follows_the_cli_and_says_when_disconnected(
    browser: sync_api.Browser, tmp_path: Path  # noqa: F811
) -> None:
    project = example_project(tmp_path / "hello", "hello-world")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    external: list[str] = []
    context.route(re.compile(r"^(?!(https?|wss?)://127\.0\.0\.1[:/])"), lambda route: (external.append(route.request.url), route.abort()))
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(f"{request.url} ({request.failure})"))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    port = free_port()
    with mtc_process(["-C", str(project), "serve", "--port", str(port)], tmp_path / "serve.log") as server:
        try:
            wait_listening(port, 90)
            open_configurator(page, f"http://127.0.0.1:{port}/")
            plot = page.locator(".mtc-loss-plot .js-plotly-plot")
            sync_api.expect(plot).to_be_visible()
            assert external == [], f"the page asked for assets off this server: {external}"
            assert failed == [], f"asset requests failed: {failed}"

            # the loss plot starts above the fold, beside the edit form
            box, form = plot.bounding_box(), page.locator(".mtc-configure-panel").bounding_box()
            assert box is not None and form is not None
            assert box["y"] < 1000 and box["x"] >= form["x"] + form["width"] - 1, (box, form)

            # the smoothing slider's far left is 0 (no smoothing): dragged right, then past its left end
            handle, track = page.locator(".mtc-plot-smoothing .noUi-handle"), page.locator(".mtc-plot-smoothing .noUi-base")
            readout = page.locator(".mtc-plot-smoothing .widget-readout")
            start, rail = handle.bounding_box(), track.bounding_box()
            assert start is not None and rail is not None
            page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
            page.mouse.down()
            page.mouse.move(rail["x"] + rail["width"] / 2, start["y"] + start["height"] / 2, steps=5)
            page.mouse.up()
            sync_api.expect(readout).not_to_have_text("0.00")
            wait_until(lambda: remembered_smoothing(project) > 0.05, 10, "the kernel to get the dragged smoothing")
            moved = handle.bounding_box()
            page.mouse.move(moved["x"] + moved["width"] / 2, moved["y"] + moved["height"] / 2)
            page.mouse.down()
            page.mouse.move(rail["x"] - 40, moved["y"] + moved["height"] / 2, steps=5)
            page.mouse.up()
            sync_api.expect(readout).to_have_text("0.00")
            wait_until(lambda: remembered_smoothing(project) == 0.0, 10, "the kernel's smoothing to be exactly 0")

            # a stage made with the CLI appears on the idle page, without a click
            made = run_mtc("-C", str(project), "stage", "new", "fromcli", "--from", "stage1")
            assert made.returncode == 0, made.stderr
            sync_api.expect(page.locator(".mtc-stage-fromcli")).to_be_visible(timeout=15_000)
            assert errors == [], f"JavaScript errors on the page: {errors}"

            notice = page.locator(".mtc-disconnected")
            sync_api.expect(notice).to_be_hidden()
        finally:
            stop_workers(project)
        shutdown(server)  # the server stops; the page stays open
        sync_api.expect(notice).to_be_visible(timeout=20_000)
        sync_api.expect(notice).to_contain_text("disconnected")
