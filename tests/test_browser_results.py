"""Results in a real headless Chromium: `mtc plot ... .html` and `mtc report` open offline with no
JavaScript error, and the configurator's Compare panel (click a row: the stage is selected; SWEEP
dialog: a sweep is created) and stage graph."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.stages import StageBook

from conftest import example_project, run_mtc
from processes import free_port, mtc_process, stop_workers, wait_listening
from test_browser import CHROMIUM, browser, button, message, open_configurator  # noqa: F401  (fixture)

sync_api = pytest.importorskip("playwright.sync_api")

TINY = {
    "nets.NN.layer_size": 8, "nets.NN.nr_layers": 2, "constraints.diffusion.batch_size": 32,
    "constraints.ends.batch_size": 2, "training.max_steps": 40, "training.log_every": 10,
}  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hello-world with stage1 and a child stage2 trained (tiny) and a draft stage3."""
    folder = example_project(tmp_path_factory.mktemp("browser-results") / "hello", "hello-world", TINY)
    with StageBook(folder) as book:
        book.new_child("stage1", "stage2", {"optimizer.lr": 0.01})
        book.new_branch("stage3", "stage1")
    result = run_mtc("-C", str(folder), "train", "--stage", "stage2")
    assert result.returncode == 0, result.stderr
    return folder


def offline_page(browser: sync_api.Browser, path: Path) -> tuple[sync_api.Page, list[str], list[str]]:
    """``path`` opened as a file with every network request refused; returns the page, its JS errors
    and the requests it tried."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tried: list[str] = []

    def refuse(route: sync_api.Route) -> None:
        tried.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(?!file:)"), refuse)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    return page, errors, tried


def test_plot_html_and_report_open_offline(trained: Path, browser: sync_api.Browser, tmp_path: Path) -> None:
    losses, report = tmp_path / "losses.html", tmp_path / "report.html"
    for args in (["plot", "losses", "--keys", "total,diffusion", "--output", str(losses)], ["report", "--output", str(report)]):
        result = run_mtc("-C", str(trained), *args)
        assert result.returncode == 0, result.stderr
    page, errors, tried = offline_page(browser, losses)
    sync_api.expect(page.locator(".js-plotly-plot .scatterlayer .trace")).to_have_count(4)  # 2 stages x 2 keys
    assert errors == [] and tried == []

    page, errors, tried = offline_page(browser, report)
    sync_api.expect(page.locator("h1")).to_have_text("hello")
    rows = page.locator("table tbody tr")
    sync_api.expect(rows).to_have_count(3)
    assert "l2_rel.u" in page.locator("table thead").inner_text()
    # the tree, the loss curves and the solutions of the two finished stages (1D: one figure each)
    sync_api.expect(page.locator(".js-plotly-plot")).to_have_count(4)
    sync_api.expect(page.locator(".js-plotly-plot").first.locator("text", has_text="stage2")).to_have_count(1)
    assert errors == [] and tried == []


@pytest.fixture
def url(trained: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    with mtc_process(["-C", str(trained), "serve", "--port", str(port)], tmp_path / "serve.log"):
        try:
            wait_listening(port, 90)
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop_workers(trained)


def test_compare_row_selects_the_stage_and_sweep_dialog_creates_stages(
    url: str, trained: Path, browser: sync_api.Browser
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_configurator(page, url)

    row = page.locator(".mtc-compare-row[data-stage='stage1']")
    row.locator("td").nth(1).click()  # the status cell, not the name
    sync_api.expect(page.locator(".mtc-stage-stage1.mtc-selected")).to_be_visible()
    sync_api.expect(row).to_have_class(re.compile("mtc-selected"))

    page.locator(".mtc-compare-table th", has_text="final.total").click()  # sorted ascending, drafts last
    sync_api.expect(page.locator(".mtc-compare-row").last).to_have_attribute("data-stage", "stage3")

    page.locator(".mtc-tree-view").get_by_role("button", name="graph").click()
    page.locator(".mtc-graph-node-stage2").click()
    sync_api.expect(page.locator(".mtc-stage-stage2.mtc-selected")).to_have_count(1)

    button(page, "TRAINING").click()  # the CLI's text in a monospace block, single-spaced
    font, line, size = page.locator(".mtc-popup pre.mtc-text").evaluate(
        "e => { const s = getComputedStyle(e); return [s.fontFamily, parseFloat(s.lineHeight), parseFloat(s.fontSize)]; }"
    )
    assert "monospace" in font and line < 1.5 * size, (font, line, size)
    button(page, "CLOSE").click()

    button(page, "SWEEP").click()
    dialog = page.locator(".mtc-sweep-dialog")
    sync_api.expect(dialog).to_contain_text("Sweep from stage2")
    dialog.locator("textarea").fill("optimizer.lr=1e-3,1e-2\nnets.NN.layer_size=8,16,32")
    button(page, "CREATE SWEEP").click()
    sync_api.expect(message(page)).to_contain_text("created sweep1: 6 stages sweep1-1 .. sweep1-6 from stage2")
    sync_api.expect(page.locator(".mtc-compare-row[data-stage^='sweep1-']")).to_have_count(6)
    with StageBook(trained) as book:
        sweep = [r for r in book.stages() if r.tags and "sweep1" in r.tags]
    assert sorted(r.config["nets"]["NN"]["layer_size"] for r in sweep) == [8, 8, 16, 16, 32, 32]
    assert errors == [], f"JavaScript errors on the page: {errors}"
