"""The Flask blueprint's API and page, through Flask's test client.

Routes that reach Temporal run against the session's real dev server. Flask
views block while the blueprint's own event loop talks to Temporal, so async
tests call the test client in a thread and keep the session loop (where the
workers run) free.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib.util
import itertools
import json
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from flask import Flask, redirect
from hypothesis import example, given
from hypothesis import strategies as st
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from werkzeug.test import TestResponse

from ga4_button_workflows import ButtonAnalyticsPlugin, analysis_workflow_id
from ga4_button_workflows.contrib.flask import (
    AnalyticsBlueprint,
    create_blueprint,
)
from ga4_button_workflows.contrib.flask._charts import (
    TrendPoint,
    TrendSeries,
    ctr_chart,
    forest_chart,
    nice_ticks,
    trend_chart,
)
from ga4_button_workflows.contrib.flask._temporal import with_our_converter
from ga4_button_workflows.converter import ButtonAnalyticsPayloadConverter
from ga4_button_workflows.insights import (
    generate_insights,
    validate_insights_document,
)
from ga4_button_workflows.metrics import compute_metrics
from ga4_button_workflows.models import (
    AnalysisRecord,
    ButtonCounts,
    ButtonReport,
    ChangeDirection,
    ChangeFinding,
    DataQuality,
    FetchRequest,
    Period,
    VariantComparison,
    VariantExposure,
    Verdict,
)
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stats import Interval
from ga4_button_workflows.stores.memory import MemoryInsightStore
from ga4_button_workflows.testing.doubles import CallbackDataSource

XSS_BUTTON = "<img src=x onerror=alert(1)>"
PERIOD = Period(datetime.date(2026, 3, 1), datetime.date(2026, 3, 7))
NOW = datetime.datetime(2026, 3, 8, 6, 0, tzinfo=datetime.timezone.utc)
EXAMPLE_APP = Path(__file__).parents[2] / "examples" / "landing_page" / "app.py"


def record_for(
    property_id: str,
    *,
    button: str = "cta",
    quality: DataQuality | None = None,
    analysis_id: str | None = None,
) -> AnalysisRecord:
    exposed = {"original": 4000, "colors": 4000, "sizes": 4000}
    clicked = {"original": 400, "colors": 520, "sizes": 410}
    report = ButtonReport(
        property_id=property_id,
        period=PERIOD,
        schema_name="test",
        counts=tuple(
            ButtonCounts(
                button=button,
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
        quality=quality or DataQuality(),
    )
    insights = generate_insights(compute_metrics(report), generated_at=NOW)
    return AnalysisRecord(
        analysis_id=analysis_id or f"analysis-{uuid.uuid4().hex[:8]}",
        workflow_id="wf",
        run_id="run",
        property_id=property_id,
        period=PERIOD,
        saved_at=NOW,
        insights=insights,
    )


class GatedStore(MemoryInsightStore):
    """Holds every save until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def save_analysis(self, record: AnalysisRecord) -> bool:
        await self.gate.wait()
        return await super().save_analysis(record)


@pytest.fixture
def property_id() -> str:
    return str(random.randrange(10**8, 10**9))


@pytest.fixture
def store() -> MemoryInsightStore:
    return MemoryInsightStore()


MakeApp = Callable[..., tuple[Flask, AnalyticsBlueprint]]


@pytest.fixture
def make_app(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    store: MemoryInsightStore,
    property_id: str,
) -> Iterator[MakeApp]:
    made: list[AnalyticsBlueprint] = []

    def make(**overrides: Any) -> tuple[Flask, AnalyticsBlueprint]:
        options: dict[str, Any] = {
            "store": store,
            "property_ids": property_id,
            "target_host": dev_env.client.service_client.config.target_host,
            "namespace": dev_env.client.namespace,
            "task_queue": task_queue,
            "authorize": lambda request: True,
            "timeout_s": 10.0,
        }
        options.update(overrides)
        if "client" in overrides:
            del options["target_host"]
        blueprint = create_blueprint(**options)
        made.append(blueprint)
        app = Flask("ga4_buttons_test")
        app.testing = True
        app.register_blueprint(blueprint)
        return app, blueprint

    yield make
    for blueprint in made:
        blueprint.close()


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app()[0]


def error_of(response: TestResponse) -> str:
    assert response.is_json, response.data
    body = response.get_json()
    assert isinstance(body["error"], str)
    assert body["error"]
    return str(body["error"])


async def in_thread(call: Callable[..., TestResponse], *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(call, *args, **kw)


async def wait_for_state(app: Flask, status_url: str, *states: str) -> dict[str, Any]:
    client = app.test_client()
    deadline = time.monotonic() + 30
    while True:
        response = await in_thread(client.get, status_url)
        assert response.status_code == 200, response.data
        body: dict[str, Any] = response.get_json()
        if body["status"] in states:
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.2)


class TestAnalyzeRequestValidation:
    def test_a_form_post_is_refused_with_415(self, app: Flask) -> None:
        response = app.test_client().post(
            "/api/analyze-buttons", data={"days_back": "7"}
        )

        assert response.status_code == 415
        assert "application/json" in error_of(response)

    def test_json_sent_as_text_plain_is_refused_with_415(self, app: Flask) -> None:
        response = app.test_client().post(
            "/api/analyze-buttons",
            data='{"days_back": 7}',
            content_type="text/plain",
        )

        assert response.status_code == 415

    def test_malformed_json_is_a_400_with_a_json_error(self, app: Flask) -> None:
        response = app.test_client().post(
            "/api/analyze-buttons",
            data="{days_back: 7",
            content_type="application/json",
        )

        assert response.status_code == 400
        assert "not valid JSON" in error_of(response)
        assert response.get_json()["status"] == "error"

    @pytest.mark.parametrize("days_back", ["7", 0, 435, True, 7.5, None, -1, [7]])
    def test_days_back_outside_whole_days_1_to_434_is_a_400(
        self, app: Flask, days_back: object
    ) -> None:
        response = app.test_client().post(
            "/api/analyze-buttons", json={"days_back": days_back}
        )

        assert response.status_code == 400
        message = error_of(response)
        assert "days_back" in message
        assert "434" in message

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ("[7]", "JSON object"),
            ('"7"', "JSON object"),
            ("", "empty"),
            ('{"days_back": 7, "daysBack": 7}', "daysBack"),
        ],
    )
    def test_bodies_that_are_not_the_expected_object_are_400(
        self, app: Flask, body: str, expected: str
    ) -> None:
        response = app.test_client().post(
            "/api/analyze-buttons", data=body, content_type="application/json"
        )

        assert response.status_code == 400
        assert expected in error_of(response)

    def test_a_measurement_id_is_refused_with_the_fix(self, app: Flask) -> None:
        response = app.test_client().post(
            "/api/analyze-buttons", json={"days_back": 7, "property_id": "G-ABC123"}
        )

        assert response.status_code == 400
        assert "measurement ID" in error_of(response)

    def test_a_property_the_dashboard_does_not_serve_is_refused(
        self, app: Flask
    ) -> None:
        response = app.test_client().post(
            "/api/analyze-buttons", json={"days_back": 7, "property_id": "1"}
        )

        assert response.status_code == 400
        assert "not one this dashboard serves" in error_of(response)

    def test_an_oversized_body_is_refused_with_413(self, app: Flask) -> None:
        response = app.test_client().post(
            "/api/analyze-buttons",
            data=json.dumps({"days_back": 7, "pad": "x" * 10_000}),
            content_type="application/json",
        )

        assert response.status_code == 413

    def test_a_cross_site_post_is_refused_with_403(self, app: Flask) -> None:
        response = app.test_client().post(
            "/api/analyze-buttons",
            json={"days_back": 7},
            headers={"Sec-Fetch-Site": "cross-site"},
        )

        assert response.status_code == 403
        assert response.get_json()["status"] == "forbidden"

    def test_get_is_not_allowed_on_the_analyze_route(self, app: Flask) -> None:
        assert app.test_client().get("/api/analyze-buttons").status_code == 405


class TestButtonInsights:
    def test_without_a_saved_analysis_it_answers_404_no_data(self, app: Flask) -> None:
        response = app.test_client().get("/api/button-insights")

        assert response.status_code == 404
        body = response.get_json()
        assert body["status"] == "no_data"
        assert "/api/analyze-buttons" in body["error"]

    async def test_it_returns_the_latest_insights_document(
        self, app: Flask, store: MemoryInsightStore, property_id: str
    ) -> None:
        await store.save_analysis(record_for(property_id))

        response = app.test_client().get("/api/button-insights")

        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        document = response.get_json()
        validate_insights_document(document)
        assert document["best_performing_button"] == "cta on colors"
        assert document["property_id"] == property_id

    async def test_an_analysis_of_another_property_is_not_served(
        self, app: Flask, store: MemoryInsightStore
    ) -> None:
        await store.save_analysis(record_for("987654321"))

        response = app.test_client().get("/api/button-insights")

        assert response.status_code == 404
        assert response.get_json()["status"] == "no_data"
        other = app.test_client().get("/api/button-insights?property_id=987654321")
        assert other.status_code == 400


class TestAnalysisLifecycle:
    async def test_post_answers_202_and_the_status_turns_completed_with_insights(
        self,
        make_app: MakeApp,
        dev_env: WorkflowEnvironment,
        task_queue: str,
        store: MemoryInsightStore,
        property_id: str,
    ) -> None:
        app, _ = make_app()
        client = app.test_client()
        plugin = ButtonAnalyticsPlugin(source=SampleDataSource(), store=store)

        async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
            response = await in_thread(
                client.post, "/api/analyze-buttons", json={"days_back": 3}
            )
            assert response.status_code == 202, response.data
            started = response.get_json()
            body = await wait_for_state(app, started["status_url"], "completed")

        yesterday = datetime.datetime.now(datetime.timezone.utc).date() - (
            datetime.timedelta(days=1)
        )
        period = Period(yesterday - datetime.timedelta(days=2), yesterday)
        assert started["workflow_id"] == analysis_workflow_id(property_id, period)
        assert started["run_id"]
        assert response.headers["Location"] == started["status_url"]
        assert body["run_id"] == started["run_id"]
        validate_insights_document(body["insights"])
        assert body["insights"]["performance_summary"]["total_buttons_analyzed"] == 15
        assert "progress" not in body
        assert body["rows_read"] > 0
        assert body["saved"]["status"] == "done"
        assert body["dashboard_url"].startswith("/analytics")
        saved = await in_thread(client.get, "/api/button-insights")
        assert saved.status_code == 200

    async def test_a_running_analysis_reports_the_steps_done_so_far(
        self, make_app: MakeApp, dev_env: WorkflowEnvironment, task_queue: str
    ) -> None:
        store = GatedStore()
        app, _ = make_app(store=store)
        client = app.test_client()
        plugin = ButtonAnalyticsPlugin(source=SampleDataSource(), store=store)

        async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
            try:
                response = await in_thread(
                    client.post, "/api/analyze-buttons", json={"days_back": 2}
                )
                status_url = response.get_json()["status_url"]
                deadline = time.monotonic() + 30
                while True:
                    running = (await in_thread(client.get, status_url)).get_json()
                    steps = [step["step"] for step in running.get("progress", [])]
                    if "generate_button_insights" in steps:
                        break
                    assert time.monotonic() < deadline, running
                    await asyncio.sleep(0.1)
            finally:
                store.gate.set()
            done = await wait_for_state(app, status_url, "completed")

        assert running["status"] == "running"
        assert running["progress_available"] is True
        assert steps[:3] == [
            "fetch_ga4_data",
            "process_button_metrics",
            "generate_button_insights",
        ]
        assert "save_insights_to_database" not in steps
        assert "rows" in running["progress"][0]["detail"]
        assert done["saved"]["status"] == "done"

    async def test_a_failed_workflow_reports_failed_with_the_reason(
        self,
        make_app: MakeApp,
        dev_env: WorkflowEnvironment,
        task_queue: str,
        store: MemoryInsightStore,
    ) -> None:
        async def refuse(request: FetchRequest, context: FetchContext) -> ButtonReport:
            raise ApplicationError(
                f"the service account may not read property {request.property_id}; "
                "add it as a Viewer in GA4 Admin > Property access management",
                type="GA4PermissionDenied",
                non_retryable=True,
            )

        app, _ = make_app()
        plugin = ButtonAnalyticsPlugin(source=CallbackDataSource(refuse), store=store)

        async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
            response = await in_thread(
                app.test_client().post, "/api/analyze-buttons", json={"days_back": 7}
            )
            body = await wait_for_state(
                app, response.get_json()["status_url"], "failed", "completed"
            )

        assert body["status"] == "failed"
        assert body["closed_as"] == "failed"
        assert "add it as a Viewer" in body["reason"]
        assert "insights" not in body

    async def test_a_running_workflow_without_a_worker_reports_running(
        self, make_app: MakeApp, dev_env: WorkflowEnvironment
    ) -> None:
        app, _ = make_app()
        client = app.test_client()

        response = await in_thread(
            client.post, "/api/analyze-buttons", json={"days_back": 2}
        )
        started = response.get_json()
        status = await in_thread(client.get, started["status_url"])
        await dev_env.client.get_workflow_handle(started["workflow_id"]).terminate(
            "test done"
        )

        body = status.get_json()
        assert body["status"] == "running"
        assert body["progress"] == []
        assert body["progress_available"] is False

    async def test_an_unknown_workflow_id_is_404(self, app: Flask) -> None:
        response = await in_thread(
            app.test_client().get, "/api/analysis/button-analysis-does-not-exist"
        )

        assert response.status_code == 404
        assert response.get_json()["status"] == "not_found"

    async def test_a_workflow_of_another_type_is_404(
        self, app: Flask, dev_env: WorkflowEnvironment, task_queue: str
    ) -> None:
        handle = await dev_env.client.start_workflow(
            "SomeoneElsesWorkflow",
            id=f"other-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )

        response = await in_thread(app.test_client().get, f"/api/analysis/{handle.id}")
        await handle.terminate("test done")

        assert response.status_code == 404

    async def test_a_connected_client_without_our_converter_works_from_the_blueprint(
        self, make_app: MakeApp, dev_env: WorkflowEnvironment
    ) -> None:
        plain = Client(
            dev_env.client.service_client, namespace=dev_env.client.namespace
        )
        app, _ = make_app(client=plain)

        response = await in_thread(app.test_client().get, "/api/analysis/nope")

        assert response.status_code == 404
        assert issubclass(
            with_our_converter(plain).data_converter.payload_converter_class,
            ButtonAnalyticsPayloadConverter,
        )

    async def test_an_unreachable_temporal_answers_503(self, make_app: MakeApp) -> None:
        app, _ = make_app(target_host="127.0.0.1:1")

        response = await in_thread(
            app.test_client().post, "/api/analyze-buttons", json={"days_back": 7}
        )

        assert response.status_code == 503
        assert "127.0.0.1:1" in error_of(response)

    def test_a_closed_blueprint_answers_503(self, make_app: MakeApp) -> None:
        app, blueprint = make_app()
        blueprint.close()

        response = app.test_client().get("/api/button-insights")

        assert response.status_code == 503


class TestSafety:
    def test_authorize_false_answers_403(self, make_app: MakeApp) -> None:
        app, _ = make_app(authorize=lambda request: False)
        client = app.test_client()

        api = client.get("/api/button-insights")
        page = client.get("/analytics")

        assert api.status_code == 403
        assert api.get_json()["status"] == "forbidden"
        assert page.status_code == 403
        assert page.mimetype == "text/plain"

    def test_authorize_may_answer_with_its_own_response(
        self, make_app: MakeApp
    ) -> None:
        app, _ = make_app(authorize=lambda request: redirect("/login"))

        response = app.test_client().get("/analytics")

        assert response.status_code == 302
        assert response.headers["Location"] == "/login"

    def test_authorize_sees_the_request(self, make_app: MakeApp) -> None:
        seen: list[str] = []

        def authorize(request: Any) -> bool:
            seen.append(request.path)
            return request.headers.get("X-User") == "alice"

        app, _ = make_app(authorize=authorize)
        client = app.test_client()

        assert client.get("/analytics", headers={"X-User": "alice"}).status_code == 200
        assert client.get("/analytics", headers={"X-User": "eve"}).status_code == 403
        assert seen == ["/analytics", "/analytics"]

    def test_authorize_returning_something_else_is_an_error(
        self, make_app: MakeApp
    ) -> None:
        app, _ = make_app(authorize=lambda request: "yes")

        with pytest.raises(TypeError, match="True, False or a response"):
            app.test_client().get("/analytics")

    def test_registering_on_an_app_in_debug_mode_is_refused(
        self, dev_env: WorkflowEnvironment, property_id: str
    ) -> None:
        blueprint = create_blueprint(
            store=MemoryInsightStore(), property_ids=property_id, client=dev_env.client
        )
        app = Flask("debugging")
        app.debug = True

        with pytest.raises(RuntimeError, match="debug mode"):
            app.register_blueprint(blueprint)
        blueprint.close()

    def test_debug_mode_switched_on_later_refuses_every_request(
        self, make_app: MakeApp
    ) -> None:
        app, _ = make_app()
        app.debug = True

        response = app.test_client().get("/analytics")

        assert response.status_code == 500
        assert b"debug mode" in response.data

    async def test_ga4_strings_are_escaped_on_the_page(
        self, app: Flask, store: MemoryInsightStore, property_id: str
    ) -> None:
        await store.save_analysis(record_for(property_id, button=XSS_BUTTON))

        page = app.test_client().get("/analytics")

        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert XSS_BUTTON not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html

    def test_the_page_forbids_inline_and_foreign_scripts(self, app: Flask) -> None:
        page = app.test_client().get("/analytics")

        policy = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "connect-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["X-Frame-Options"] == "DENY"

    def test_the_page_loads_nothing_from_other_hosts(self, app: Flask) -> None:
        html = app.test_client().get("/analytics").get_data(as_text=True)

        assert "http://" not in html
        assert "https://" not in html
        assert "<script>" not in html

    def test_static_files_ship_with_the_package(self, app: Flask) -> None:
        client = app.test_client()
        for name in ("dashboard.css", "dashboard.js"):
            response = client.get(f"/_ga4_buttons/static/ga4_buttons/{name}")
            assert response.status_code == 200
            response.close()


class TestDashboardPage:
    def test_without_data_the_page_says_so_and_offers_to_run(self, app: Flask) -> None:
        page = app.test_client().get("/analytics")

        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert 'data-testid="empty-state"' in html
        assert 'data-testid="run-analysis"' in html

    async def test_caveats_and_inconclusive_verdicts_are_shown_up_front(
        self, app: Flask, store: MemoryInsightStore, property_id: str
    ) -> None:
        quality = DataQuality(thresholded=True)
        await store.save_analysis(record_for(property_id, quality=quality))

        html = app.test_client().get("/analytics").get_data(as_text=True)

        assert 'data-testid="caveats"' in html
        assert "thresholded" in html
        assert html.count('data-testid="ctr-bar"') == 3
        assert html.count('data-testid="ctr-interval"') == 3
        assert html.count('data-testid="lift-row"') == 2
        assert 'data-testid="inconclusive-note"' in html or "not enough data" in html
        assert 'data-testid="no-daily-data"' in html

    async def test_a_given_analysis_is_shown_and_a_missing_one_is_404(
        self, app: Flask, store: MemoryInsightStore, property_id: str
    ) -> None:
        await store.save_analysis(record_for(property_id, analysis_id="first"))
        await store.save_analysis(record_for(property_id, analysis_id="second"))
        client = app.test_client()

        shown = client.get("/analytics?analysis=first").get_data(as_text=True)
        missing = client.get("/analytics?analysis=gone")

        assert "<code>first</code>" in shown
        assert missing.status_code == 404
        assert "gone" in missing.get_data(as_text=True)


class TestChangesOnTheDashboard:
    PREVIOUS = Period(datetime.date(2026, 2, 22), datetime.date(2026, 2, 28))

    def finding(self, *, alert: bool, direction: ChangeDirection) -> ChangeFinding:
        drop = direction is ChangeDirection.DROP
        return ChangeFinding(
            button=XSS_BUTTON,
            variant="colors",
            direction=direction,
            previous_period=self.PREVIOUS,
            current_period=PERIOD,
            previous_rate=0.06,
            current_rate=0.042 if drop else 0.078,
            difference=-0.018 if drop else 0.018,
            relative_change=-0.3 if drop else 0.3,
            change_interval=Interval(-0.4, -0.2) if drop else Interval(0.2, 0.4),
            p_value=1e-6,
            adjusted_p_value=1e-5,
            previous_exposed_users=7000,
            current_exposed_users=7000,
            alert=alert,
        )

    async def test_findings_are_listed_beside_the_trend_and_alerts_marked(
        self, app: Flask, store: MemoryInsightStore, property_id: str
    ) -> None:
        record = record_for(property_id)
        insights = attrs.evolve(
            record.insights,
            changes=(
                self.finding(alert=True, direction=ChangeDirection.DROP),
                self.finding(alert=False, direction=ChangeDirection.RISE),
            ),
            changes_since=self.PREVIOUS,
        )
        await store.save_analysis(attrs.evolve(record, insights=insights))

        html = app.test_client().get("/analytics").get_data(as_text=True)

        trends = html[html.index('data-testid="trends-section"') :]
        changes = trends[: trends.index("</section>")]
        assert "Click-through changes since 2026-02-22 to 2026-02-28" in changes
        assert changes.count('class="rec tone-warn"') == 1
        assert changes.count('class="rec tone-good"') == 1
        assert changes.count(">Alert-sized</span>") == 1
        assert "CTR 6.0% -&gt; 4.2% (-30%, 95% CI -40% to -20%" in changes
        assert XSS_BUTTON not in html
        assert "&lt;img src=x onerror=alert(1)&gt; on colors" in changes

    async def test_a_comparison_that_found_nothing_says_so(
        self, app: Flask, store: MemoryInsightStore, property_id: str
    ) -> None:
        record = record_for(property_id)
        insights = attrs.evolve(record.insights, changes_since=self.PREVIOUS)
        await store.save_analysis(attrs.evolve(record, insights=insights))

        html = app.test_client().get("/analytics").get_data(as_text=True)

        assert (
            "No significant click-through change since 2026-02-22 to 2026-02-28."
            in html
        )
        assert "Alert-sized" not in html

    async def test_without_a_previous_period_nothing_is_claimed(
        self, app: Flask, store: MemoryInsightStore, property_id: str
    ) -> None:
        await store.save_analysis(record_for(property_id))

        html = app.test_client().get("/analytics").get_data(as_text=True)

        assert 'data-testid="changes"' not in html
        assert "change since" not in html


class TestCreateBlueprint:
    def test_exactly_one_way_to_reach_temporal_is_required(
        self, dev_env: WorkflowEnvironment
    ) -> None:
        with pytest.raises(ValueError, match="exactly one way"):
            create_blueprint(store=MemoryInsightStore(), property_ids="1")
        with pytest.raises(ValueError, match="exactly one way"):
            create_blueprint(
                store=MemoryInsightStore(),
                property_ids="1",
                client=dev_env.client,
                target_host="localhost:7233",
            )

    def test_an_unknown_time_zone_is_refused_at_once(self) -> None:
        with pytest.raises(ValueError, match="time zone"):
            create_blueprint(
                store=MemoryInsightStore(),
                property_ids="123",
                target_host="localhost:7233",
                time_zone="Mars/Olympus_Mons",
            )

    def test_a_measurement_id_as_property_is_refused_at_once(self) -> None:
        with pytest.raises(ValueError, match="measurement ID"):
            create_blueprint(
                store=MemoryInsightStore(),
                property_ids="G-JHSVNWL6QH",
                target_host="localhost:7233",
            )


class TestCharts:
    @given(
        st.floats(-10, 10, allow_nan=False),
        st.floats(-10, 10, allow_nan=False),
    )
    @example(0.0, 1.84e-09)  # a span too small to divide
    @example(5.0, -1.84e-09)  # a bound a hair below a round tick
    def test_nice_ticks_cover_the_range_in_equal_steps(
        self, lower: float, upper: float
    ) -> None:
        ticks = nice_ticks(lower, upper)

        assert ticks[0] <= min(lower, upper) + 1e-9
        assert ticks[-1] >= max(lower, upper) - 1e-9
        steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
        assert len(steps) == 1
        assert 2 <= len(ticks) <= 12

    def test_trend_lines_break_where_a_day_has_no_value(self) -> None:
        days = [datetime.date(2026, 3, day) for day in range(1, 6)]
        series = [
            TrendSeries(
                "cta on original",
                tuple(TrendPoint(day, None if day.day == 3 else 0.1) for day in days),
            ),
            TrendSeries("cta on colors", tuple(TrendPoint(day, 0.12) for day in days)),
        ]

        chart = trend_chart(series)

        assert chart is not None
        assert [len(line.segments) for line in chart.lines] == [2, 1]
        assert [len(line.markers) for line in chart.lines] == [4, 5]
        assert trend_chart([]) is None
        assert trend_chart([TrendSeries("x", (TrendPoint(days[0], None),))]) is None

    @pytest.mark.parametrize("count", [1, 8, 10, 16])
    def test_up_to_sixteen_trend_lines_never_look_alike(self, count: int) -> None:
        day = datetime.date(2026, 3, 1)
        series = [
            TrendSeries(f"series {n}", (TrendPoint(day, 0.1),)) for n in range(count)
        ]

        chart = trend_chart(series)

        assert chart is not None
        styles = [(line.color, line.dashed) for line in chart.lines]
        assert len(set(styles)) == count
        assert [line.dashed for line in chart.lines] == [n >= 8 for n in range(count)]
        assert [(item.color, item.kind) for item in chart.legend] == [
            (color, "dashed-line" if dashed else "line") for color, dashed in styles
        ]

    def test_forest_rows_without_a_lift_say_why_and_extreme_ones_are_clipped(
        self,
    ) -> None:
        def comparison(
            variant: str, lift: float | None, interval: Interval | None
        ) -> VariantComparison:
            return VariantComparison(
                button="cta",
                control_variant="original",
                variant=variant,
                status="ok",
                verdict=Verdict.INCONCLUSIVE if lift else Verdict.NOT_ENOUGH_DATA,
                control_rate=0.0 if lift is None else 0.1,
                variant_rate=0.02,
                difference=0.02,
                difference_interval=None,
                relative_lift=lift,
                lift_interval=interval,
                p_value=None,
                adjusted_p_value=None,
                chance_to_beat=None,
            )

        chart = forest_chart(
            [
                comparison("colors", 0.2, Interval(-0.1, 9.0)),
                comparison("sizes", None, None),
            ]
        )

        assert chart is not None
        clipped, undefined = chart.rows
        assert clipped.clipped_high
        assert not clipped.clipped_low
        assert undefined.point_x is None
        assert "nobody clicked on the control" in undefined.note

    def test_a_button_without_exposures_is_listed_without_a_bar(self) -> None:
        report = ButtonReport(
            property_id="1",
            period=PERIOD,
            schema_name="test",
            counts=(ButtonCounts(button="cta", variant="original", clicking_users=5),),
            has_exposure_event=False,
        )
        insights = generate_insights(compute_metrics(report), generated_at=NOW)

        chart = ctr_chart(insights.buttons, control_variant="original")

        assert chart is not None
        assert chart.bars == ()
        assert "not computable" in chart.missing[0].reason


def load_example_app() -> Any:
    spec = importlib.util.spec_from_file_location("landing_page_app", EXAMPLE_APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class TestExampleApp:
    def test_without_a_measurement_id_the_page_loads_no_google_script(self) -> None:
        example = load_example_app()
        app = example.create_app({}, store=MemoryInsightStore())
        try:
            page = app.test_client().get("/?variant=sizes")
            html = page.get_data(as_text=True)
        finally:
            app.extensions["ga4_buttons_dashboard"].close()

        assert "googletagmanager" not in html
        assert 'class="variant-sizes"' in html
        assert "page_variant=sizes" in page.headers["Set-Cookie"]
        for variant in example.VARIANTS:
            assert f"?variant={variant}" in html

    def test_with_a_measurement_id_the_page_loads_gtag_for_it(self) -> None:
        example = load_example_app()
        app = example.create_app(
            {"GA4_MEASUREMENT_ID": "G-TEST1234"}, store=MemoryInsightStore()
        )
        try:
            html = app.test_client().get("/").get_data(as_text=True)
        finally:
            app.extensions["ga4_buttons_dashboard"].close()

        assert "googletagmanager.com/gtag/js?id=G-TEST1234" in html
        assert 'data-measurement-id="G-TEST1234"' in html

    def test_a_malformed_measurement_id_stops_the_app_at_start(self) -> None:
        example = load_example_app()

        with pytest.raises(ValueError, match="measurement ID"):
            example.create_app({"GA4_MEASUREMENT_ID": '"><script>'})

    def test_the_dashboard_answers_only_local_requests_without_a_token(self) -> None:
        example = load_example_app()
        app = example.create_app({}, store=MemoryInsightStore())
        client = app.test_client()
        try:
            local = client.get("/analytics")
            remote = client.get(
                "/analytics", environ_base={"REMOTE_ADDR": "203.0.113.9"}
            )
        finally:
            app.extensions["ga4_buttons_dashboard"].close()

        assert local.status_code == 200
        assert remote.status_code == 403

    def test_a_token_protects_the_dashboard_with_basic_auth(self) -> None:
        example = load_example_app()
        app = example.create_app(
            {"GA4_BUTTONS_DASHBOARD_TOKEN": "s3cret"}, store=MemoryInsightStore()
        )
        client = app.test_client()
        try:
            anonymous = client.get("/analytics")
            signed_in = client.get("/analytics", auth=("me", "s3cret"))
        finally:
            app.extensions["ga4_buttons_dashboard"].close()

        assert anonymous.status_code == 401
        assert "Basic" in anonymous.headers["WWW-Authenticate"]
        assert signed_in.status_code == 200
