"""The dashboard in a real headless Chromium, against a live server and Temporal.

Debian's ``chromium`` is driven by Playwright's Python package through
``executable_path``; no browser is downloaded. The Flask app runs on a
werkzeug server thread and reaches the session's Temporal dev server through
the blueprint's own event loop and client, while the worker runs on the test's
event loop. The example landing page is never loaded, so no Google script is.
"""

from __future__ import annotations

import datetime
import os
import random
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from flask import Flask
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from werkzeug.serving import make_server

from ga4_button_workflows import ButtonAnalyticsPlugin
from ga4_button_workflows.contrib.flask import AnalyticsBlueprint, create_blueprint
from ga4_button_workflows.insights import generate_insights
from ga4_button_workflows.metrics import compute_metrics
from ga4_button_workflows.models import (
    AnalysisRecord,
    ButtonCounts,
    ButtonReport,
    DataQuality,
    FetchRequest,
    Period,
    VariantExposure,
)
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.memory import MemoryInsightStore

CHROMIUM = Path(os.environ.get("GA4_BUTTONS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
XSS_BUTTON = "<img src=x onerror=alert(1)>"
SAMPLE_BUTTONS = 3
SAMPLE_VARIANTS = 5


def _missing_browser_parts() -> list[str]:
    missing = []
    if shutil.which(str(CHROMIUM)) is None:
        missing.append(f"Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
    return missing


@pytest.fixture(scope="module")
def browser_available() -> None:
    missing = _missing_browser_parts()
    if not missing:
        return
    reason = "browser tests need " + " and ".join(missing)
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must install them")
    pytest.skip(reason)


class SampleWithPlaceholderRows:
    """The sample traffic, with the caveat GA4 adds when rows say ``(not set)``."""

    def __init__(self) -> None:
        self._sample = SampleDataSource(daily=True, previous_period=True)

    async def fetch_report(
        self, request: FetchRequest, context: FetchContext
    ) -> ButtonReport:
        report = await self._sample.fetch_report(request, context)
        return attrs.evolve(report, quality=DataQuality(placeholder_rows=3))


@attrs.frozen
class LiveServer:
    url: str
    store: MemoryInsightStore
    property_id: str
    task_queue: str


@pytest.fixture(scope="module")
def live_server(
    browser_available: None, dev_env: WorkflowEnvironment
) -> Iterator[LiveServer]:
    store = MemoryInsightStore()
    property_id = str(random.randrange(10**8, 10**9))
    task_queue = f"browser-{uuid.uuid4().hex[:10]}"
    blueprint: AnalyticsBlueprint = create_blueprint(
        store=store,
        property_ids=property_id,
        target_host=dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        task_queue=task_queue,
        authorize=lambda request: True,
    )
    app = Flask("ga4_buttons_browser_test")
    app.register_blueprint(blueprint)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(
            url=f"http://127.0.0.1:{server.server_port}",
            store=store,
            property_id=property_id,
            task_queue=task_queue,
        )
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        blueprint.close()


@pytest.fixture(scope="module")
async def browser(
    browser_available: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            await context.close()


@attrs.define
class PageWatch:
    """What a page did that it should not: dialogs, foreign requests, errors."""

    origin: str
    dialogs: list[str] = attrs.field(factory=list)
    foreign_requests: list[str] = attrs.field(factory=list)
    errors: list[str] = attrs.field(factory=list)


async def open_page(browser: Any, server: LiveServer) -> tuple[Any, PageWatch]:
    page = await browser.new_page()
    watch = PageWatch(origin=server.url)

    async def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        await dialog.dismiss()

    def on_request(request: Any) -> None:
        if not request.url.startswith(server.url + "/"):
            watch.foreign_requests.append(request.url)

    def on_console(message: Any) -> None:
        if message.type == "error":
            watch.errors.append(message.text)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    return page, watch


def xss_record(property_id: str) -> AnalysisRecord:
    period = Period(datetime.date(2026, 3, 1), datetime.date(2026, 3, 7))
    exposed = {"original": 4000, "colors": 4000}
    clicked = {"original": 400, "colors": 520}
    report = ButtonReport(
        property_id=property_id,
        period=period,
        schema_name="test",
        counts=tuple(
            ButtonCounts(
                button=XSS_BUTTON,
                variant=variant,
                exposed_users=exposed[variant],
                clicking_users=clicked[variant],
                click_events=clicked[variant],
            )
            for variant in exposed
        ),
        exposures=tuple(
            VariantExposure(variant=variant, users=users, events=users)
            for variant, users in exposed.items()
        ),
    )
    moment = datetime.datetime(2026, 3, 8, tzinfo=datetime.timezone.utc)
    return AnalysisRecord(
        analysis_id="xss-analysis",
        workflow_id="xss-analysis",
        run_id="run",
        property_id=property_id,
        period=period,
        saved_at=moment,
        insights=generate_insights(compute_metrics(report), generated_at=moment),
    )


async def test_run_analysis_shows_progress_then_the_charts(
    browser: Any, live_server: LiveServer, dev_env: WorkflowEnvironment
) -> None:
    page, watch = await open_page(browser, live_server)
    await page.goto(f"{live_server.url}/analytics")
    assert await page.get_by_test_id("empty-state").is_visible()
    plugin = ButtonAnalyticsPlugin(
        source=SampleWithPlaceholderRows(), store=live_server.store
    )

    async with Worker(
        dev_env.client, task_queue=live_server.task_queue, plugins=[plugin]
    ):
        await page.get_by_test_id("run-analysis").click()
        await page.get_by_test_id("progress").wait_for(state="visible")
        await page.get_by_test_id("ctr-chart").wait_for(timeout=30_000)

    bars = page.get_by_test_id("ctr-bar")
    assert await bars.count() == SAMPLE_BUTTONS * SAMPLE_VARIANTS
    assert await page.get_by_test_id("ctr-interval").count() == (
        SAMPLE_BUTTONS * SAMPLE_VARIANTS
    )
    comparisons = SAMPLE_BUTTONS * (SAMPLE_VARIANTS - 1)
    assert await page.get_by_test_id("lift-row").count() == comparisons
    assert await page.get_by_test_id("lift-interval").count() == comparisons
    widths = await bars.evaluate_all("rects => rects.map(r => r.getBBox().width)")
    assert all(width > 0 for width in widths)

    verdicts = await page.get_by_test_id("verdict").all_text_contents()
    assert "inconclusive" in verdicts
    assert await page.get_by_test_id("inconclusive-note").is_visible()
    caveats = page.get_by_test_id("caveats")
    assert await caveats.is_visible()
    assert "placeholder" in await caveats.inner_text()
    best = await page.get_by_test_id("best-button").inner_text()
    assert " on " in best
    assert await page.get_by_test_id("trend-chart").is_visible()
    assert await page.get_by_test_id("trend-line").count() == 10  # max_series
    changes = await page.get_by_test_id("changes").inner_text()
    assert changes.startswith("No significant click-through change since ")

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    await page.close()
    assert watch.dialogs == []
    assert watch.foreign_requests == []
    assert watch.errors == []


async def test_a_button_named_like_markup_shows_as_text(
    browser: Any, live_server: LiveServer
) -> None:
    await live_server.store.save_analysis(xss_record(live_server.property_id))
    page, watch = await open_page(browser, live_server)

    await page.goto(f"{live_server.url}/analytics?analysis=xss-analysis")

    best = page.get_by_test_id("best-button").locator(".pick-value")
    assert await best.inner_text() == f"{XSS_BUTTON} on colors"
    assert await page.locator("img").count() == 0
    assert await page.get_by_text(XSS_BUTTON, exact=True).count() >= 1
    labels = await page.locator(
        "[data-testid=ctr-chart] .group-label"
    ).all_text_contents()
    assert labels == [XSS_BUTTON]
    await page.close()
    assert watch.dialogs == []
    assert watch.foreign_requests == []
