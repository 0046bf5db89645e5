"""The configurator in a real browser: `mtc serve` (Voila) serves a project and headless Chromium
(Playwright driving Debian's /usr/bin/chromium) goes through the seed workflow: NEW TRAINING
BRANCH, +CHILD STAGE, max_steps in the Configure panel, SAVE, TRAIN, then watches the loss
curve of each stage appear and grow, with no reload.

A screenshot of that state is written to the test's artifacts folder (and to $MTC_ARTIFACTS
when set), with the measured times to a usable page.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.stages import StageBook

from conftest import example_project
from processes import free_port, mtc_process, stop_workers, wait_listening

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 1750}  # the whole app, down to the loss plot
TINY = {
    "nets.NN.layer_size": 16, "nets.NN.nr_layers": 2, "constraints.diffusion.batch_size": 64,
    "constraints.ends.batch_size": 2, "training.max_steps": 2000, "training.log_every": 10,
}  # fmt: skip
CHILD_STEPS = 1500

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"),
]
sync_api.expect.set_options(timeout=60_000)


# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """hello-world with a stage1 small enough to train in seconds on one CPU thread."""
    return example_project(tmp_path / "hello", "hello-world", TINY)


@pytest.fixture
def url(project: Path, tmp_path: Path) -> Iterator[str]:
    """`mtc serve` on a free port; on teardown it stops (Voila, kernels) and so do the workers it started."""
    port = free_port()
    fast_flush = {"MTC_FLUSH_S": "0.2", "MTC_HEARTBEAT_S": "0.3"}  # inherited by the detached worker
    with mtc_process(["-C", str(project), "serve", "--port", str(port)], tmp_path / "serve.log", env=fast_flush):
        try:
            wait_listening(port, 90)
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop_workers(project)


@pytest.fixture
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Iterator[Path]:
    """A folder for screenshots and timings, copied to $MTC_ARTIFACTS (if set) at the end."""
    folder = tmp_path / "artifacts"
    folder.mkdir()
    yield folder
    if os.environ.get("MTC_ARTIFACTS"):
        shutil.copytree(folder, os.environ["MTC_ARTIFACTS"], dirs_exist_ok=True)


# -- helpers --------------------------------------------------------------------------------------------


def new_page(browser: sync_api.Browser) -> tuple[sync_api.Page, list[str]]:
    """A page in a fresh context (no cache) that may only talk to this machine; returns it and its JS errors."""
    context = browser.new_context(viewport=VIEWPORT)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())  # no internet here
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def open_configurator(page: sync_api.Page, url: str) -> float:
    """Open the served configurator; returns the seconds until its stage tree and buttons are shown."""
    start = time.monotonic()
    page.goto(url, timeout=120_000)
    sync_api.expect(page.locator(".mtc-stage-stage1")).to_be_visible(timeout=120_000)
    sync_api.expect(button(page, "NEW TRAINING BRANCH")).to_be_enabled()
    return time.monotonic() - start


def button(page: sync_api.Page, words: str) -> sync_api.Locator:
    return page.get_by_role("button", name=words, exact=True)


def message(page: sync_api.Page) -> sync_api.Locator:
    return page.locator(".mtc-message")


def curve_points(page: sync_api.Page) -> dict[str, int]:
    """Points of each trace of the loss figure, read from plotly's own data in the page."""
    return page.evaluate(
        """() => {
            const plot = document.querySelector('.mtc-loss-plot .js-plotly-plot');
            return Object.fromEntries((plot && plot.data || []).map(t => [t.name, t.x ? t.x.length : 0]));
        }"""
    )


def watch_curves(page: sync_api.Page, readings: list[dict[str, int]], until: Callable[[], bool]) -> None:
    """Append the curves' sizes to ``readings`` twice a second until ``until()`` (a ceiling of 5 minutes)."""
    deadline = time.monotonic() + 300
    while not until():
        assert time.monotonic() < deadline, f"gave up waiting; the last curves seen: {readings[-3:]}"
        readings.append(curve_points(page))
        page.wait_for_timeout(500)
    readings.append(curve_points(page))


def finished(page: sync_api.Page, stage: str) -> bool:
    return "100% done" in page.locator(f".mtc-stage-{stage}").inner_text()


def growth(readings: list[dict[str, int]], stage: str) -> list[int]:
    """The distinct sizes a stage's curve had."""
    return sorted({reading[stage] for reading in readings if reading.get(stage)})


# -- the test ------------------------------------------------------------------------------------------


def test_branch_child_edit_train_and_curves_grow_live(
    url: str, project: Path, browser: sync_api.Browser, artifacts: Path
) -> None:
    page, errors = new_page(browser)
    first_open = open_configurator(page, url)

    button(page, "NEW TRAINING BRANCH").click()
    sync_api.expect(message(page)).to_contain_text("created stage2, a new training branch with stage1's settings")
    sync_api.expect(page.locator(".mtc-stage-stage2.mtc-selected")).to_be_visible()
    button(page, "+CHILD STAGE").click()
    sync_api.expect(message(page)).to_contain_text("created stage3, a child of stage2")
    sync_api.expect(page.locator(".mtc-stage-stage3.mtc-selected")).to_contain_text("└─")

    max_steps = page.locator(".mtc-field-training-max_steps input")
    max_steps.fill(str(CHILD_STEPS))
    max_steps.press("Enter")
    sync_api.expect(page.locator(".mtc-unsaved")).to_contain_text("unsaved changes")
    button(page, "SAVE").click()
    sync_api.expect(message(page)).to_contain_text("saved stage3")
    with StageBook(project) as book:
        assert book.stage("stage3").config["training"]["max_steps"] == CHILD_STEPS

    button(page, "TRAIN").click()
    sync_api.expect(message(page)).to_contain_text("queued stage2, stage3")
    readings: list[dict[str, int]] = []
    watch_curves(page, readings, until=lambda: len(growth(readings, "stage3")) >= 2 or finished(page, "stage3"))
    shot = artifacts / "configurator.png"
    page.screenshot(path=shot)  # stage2 done, stage3's curve growing
    expected = {"stage2": TINY["training.max_steps"] // 10 + 1, "stage3": CHILD_STEPS // 10 + 1}
    watch_curves(page, readings, until=lambda: finished(page, "stage3") and readings[-1] == expected)

    for stage in ("stage2", "stage3"):  # each curve was seen part-drawn, then whole: it grew live
        sizes = [reading.get(stage, 0) for reading in readings]
        whole = sizes.index(expected[stage])
        assert any(0 < n < expected[stage] for n in sizes[:whole]), f"{stage}'s curve did not grow live: {sizes}"
    sync_api.expect(page.locator(".mtc-stage-stage2")).to_contain_text("100% done")
    assert errors == [], f"JavaScript errors on the page: {errors}"

    fresh, _ = new_page(browser)  # a first visit once the server is warm: what a user waits for
    warm_open = open_configurator(fresh, url)
    timings = {"first page after start (s)": round(first_open, 2), "page on a warm server (s)": round(warm_open, 2)}
    (artifacts / "timings.json").write_text(json.dumps(timings, indent=2))
    print(f"\ntime to a usable configurator: {timings}")
    assert shot.stat().st_size > 10_000
