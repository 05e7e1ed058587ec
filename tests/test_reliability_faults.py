"""Faults on every side of the workflow, survived with nothing lost or doubled.

A worker killed mid-fetch, GA4 answering 503 and 429, a notification endpoint
that is down for a while, many analyses at once: each on a real Temporal
server, with the real Data API client talking to the GA4 emulator, real SQLite
stores and a real HTTP endpoint. GA4's 403 is covered in
``tests/sources/test_ga4_source.py`` (the workflow fails at once, with the
reason); PostgreSQL going away during a save in
``tests/stores/test_store_outage.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import signal
import sqlite3
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ga4_button_workflows import (
    AnalysisOutcome,
    AnalysisRequest,
    BranchStatus,
    ButtonAnalyticsPlugin,
    ButtonAnalyticsWorkflow,
    ButtonInsights,
    Period,
)
from ga4_button_workflows.names import FETCH_GA4_DATA
from ga4_button_workflows.notifiers import WebhookNotifier, verify_signature
from ga4_button_workflows.sources.ga4 import GA4DataSource
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.sql import SQLInsightStore
from ga4_button_workflows.testing import EmulatedEvent, Fault, GA4Emulator
from ga4_button_workflows.testing.traffic import generate_landing_page_traffic

WORKER_SCRIPT = Path(__file__).with_name("_worker_process.py")
WORKER_PAGE_SIZE = 2_000  # _worker_process.PAGE_SIZE
WORKER_WEBHOOK_SECRET = "worker-process-webhook-secret"
TODAY = datetime.date(2024, 5, 10)
PERIOD = Period(datetime.date(2024, 5, 1), datetime.date(2024, 5, 3))
TIME_ZONE = "America/Los_Angeles"
LANDING = ["eventName", "customEvent:button_type", "customEvent:page_variant"]
LANDING_METRICS = {
    "eventCount": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "customEvent:hover_duration": "TYPE_MILLISECONDS",
}
VARIANTS = ("original", "colors", "sizes", "spacing", "typography")
MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
HEARTBEAT_TIMEOUT_S = 3.0
"""The fetch's heartbeat timeout in the crash test: how soon Temporal gives up
on a killed worker's attempt and hands the fetch to another worker."""


def request_for(emulator: GA4Emulator, **options: Any) -> AnalysisRequest:
    return AnalysisRequest(
        property_id=emulator.property_id,
        start_date=PERIOD.start,
        end_date=PERIOD.end,
        time_zone=TIME_ZONE,
        **options,
    )


def landing_events(visitors: int = 40, seed: int = 7) -> list[EmulatedEvent]:
    return [
        EmulatedEvent(
            date=e.date, user_id=e.user_id, event_name=e.event_name, params=e.params
        )
        for e in generate_landing_page_traffic(
            start=PERIOD.start,
            days=PERIOD.days,
            visitors_per_variant_per_day=visitors,
            seed=seed,
        )
    ]


def events_emulator(**options: Any) -> GA4Emulator:
    return GA4Emulator(
        landing_events(),
        custom_dimensions=["button_type", "page_variant"],
        custom_metrics={"hover_duration": "TYPE_MILLISECONDS"},
        today=TODAY,
        **options,
    )


def ga4_source(emulator: GA4Emulator, **options: Any) -> GA4DataSource:
    """The real asynchronous Data API client, aimed at the emulator."""
    return GA4DataSource(client_factory=emulator.async_client, **options)


def saved_analyses(database: Path) -> list[tuple[str, int]]:
    """(analysis ID, save count) of every analysis in a SQLite store file."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute(
            "SELECT analysis_id, save_count FROM analyses ORDER BY analysis_id"
        ).fetchall()


def report_offsets(emulator: GA4Emulator) -> list[int]:
    return [record.offset for record in emulator.report_requests()]


def numbers_of(insights: ButtonInsights) -> tuple[Any, ...]:
    """What an analysis concluded, without when it was generated."""
    return (
        insights.buttons,
        insights.comparisons,
        insights.variants,
        insights.best_performing_button,
        insights.worst_performing_button,
        insights.most_engaging_variant,
        insights.recommendations,
        insights.caveats,
    )


async def eventually(
    condition: Callable[[], Awaitable[bool]], *, timeout_s: float, what: str
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:g} s waiting until {what}")
        await asyncio.sleep(0.05)


# --- A worker killed while the fetch is on page 3 of 5 --------------------------------


def five_pages_row(index: int) -> tuple[tuple[str, str, str], tuple[int, int, int]]:
    """Row ``index`` of the 10,000-row report: page views and CTA clicks."""
    variant = VARIANTS[index % len(VARIANTS)]
    if index % 2:
        return ("cta_click", "cta", variant), (1 + index % 3, 1, 700)
    return ("page_view", "(not set)", variant), (2, 4, 0)


@contextlib.asynccontextmanager
async def worker_process(
    env: WorkflowEnvironment,
    *,
    task_queue: str,
    emulator: GA4Emulator,
    database: Path,
    webhook_url: str,
    log: Path,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start ``_worker_process.py``; kill it on the way out if still running."""
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER_SCRIPT),
            env.client.service_client.config.target_host,
            task_queue,
            emulator.grpc_target,
            str(database),
            webhook_url,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        if line != b"ready\n":
            output = await asyncio.to_thread(log.read_text)
            pytest.fail(f"the worker process did not start:\n{output}")
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def checkpointed_pages(
    env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]
) -> int:
    """Pages recorded in the fetch's last heartbeat that reached the server."""
    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        if pending.activity_type.name != FETCH_GA4_DATA:
            continue
        details = pending.heartbeat_details.payloads
        if not details:
            return 0
        (state,) = await env.client.data_converter.decode(details)
        return len(state["cursor"]["pages"])
    return 0


@pytest.mark.slow
async def test_a_worker_killed_on_page_3_of_5_is_replaced_without_refetching(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    httpserver: HTTPServer,
    tmp_path: Path,
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    database = tmp_path / "insights.db"
    log = tmp_path / "workers.log"
    rows = 5 * WORKER_PAGE_SIZE
    page_3 = 2 * WORKER_PAGE_SIZE
    emulator = GA4Emulator.from_rows(
        LANDING,
        LANDING_METRICS,
        five_pages_row,
        row_count=rows,
        today=TODAY,
        # Page 3 hangs the first time it is asked for: the worker dies meanwhile.
        faults=[Fault(latency_s=120, offsets=page_3, times=1)],
    )
    async with emulator:
        webhook = httpserver.url_for("/hook")
        async with worker_process(
            dev_env,
            task_queue=task_queue,
            emulator=emulator,
            database=database,
            webhook_url=webhook,
            log=log,
        ) as first:
            handle = await dev_env.client.start_workflow(
                ButtonAnalyticsWorkflow.run,
                request_for(emulator, fetch_heartbeat_timeout_s=HEARTBEAT_TIMEOUT_S),
                id=f"wf-crash-{uuid.uuid4().hex}",
                task_queue=task_queue,
            )

            async def on_page_3() -> bool:
                return (
                    report_offsets(emulator) == [0, WORKER_PAGE_SIZE]
                    and emulator.in_flight_requests == 1
                    and await checkpointed_pages(dev_env, handle) == 2
                )

            await eventually(on_page_3, timeout_s=60, what="page 3 is in flight")
            first.send_signal(signal.SIGKILL)
            await first.wait()
        assert first.returncode == -signal.SIGKILL

        async with worker_process(
            dev_env,
            task_queue=task_queue,
            emulator=emulator,
            database=database,
            webhook_url=webhook,
            log=log,
        ):
            outcome: AnalysisOutcome = await asyncio.wait_for(
                handle.result(), timeout=60
            )

    offsets = report_offsets(emulator)
    assert offsets.count(0) == 1
    assert offsets.count(WORKER_PAGE_SIZE) == 1
    # Pages 4 and 5 once, by the new worker; page 3 by both (the killed
    # attempt's request is logged if it ended before the emulator stopped).
    assert offsets.count(3 * WORKER_PAGE_SIZE) == 1
    assert offsets.count(4 * WORKER_PAGE_SIZE) == 1
    assert offsets.count(page_3) in (1, 2)
    assert outcome.rows_read == rows
    assert outcome.pages_fetched == 5
    clicks = sum(1 + index % 3 for index in range(1, rows, 2))
    assert sum(entry.click_events for entry in outcome.insights.buttons) == clicks
    assert {entry.exposed_users for entry in outcome.insights.buttons} == {
        rows // 2 // len(VARIANTS) * 4
    }
    assert saved_analyses(database) == [(handle.id, 1)]
    assert outcome.saved.status is BranchStatus.DONE
    assert outcome.notified.status is BranchStatus.DONE
    assert len(httpserver.log) == 1
    request, response = httpserver.log[0]
    assert response.status_code == 200
    assert verify_signature(
        request.get_data(),
        request.headers["X-GA4-Buttons-Signature"],
        WORKER_WEBHOOK_SECRET,
    )


# --- GA4 faults -----------------------------------------------------------------------


async def run_analysis(
    env: WorkflowEnvironment,
    task_queue: str,
    emulator: GA4Emulator,
    *,
    workflow_id: str | None = None,
    **source_options: Any,
) -> tuple[AnalysisOutcome, WorkflowHandle[Any, Any]]:
    source = ga4_source(emulator, **source_options)
    try:
        plugin = ButtonAnalyticsPlugin(source=source)
        async with Worker(env.client, task_queue=task_queue, plugins=[plugin]):
            handle = await env.client.start_workflow(
                ButtonAnalyticsWorkflow.run,
                request_for(emulator),
                id=workflow_id or f"wf-ga4-{uuid.uuid4().hex}",
                task_queue=task_queue,
            )
            outcome = await asyncio.wait_for(handle.result(), timeout=60)
    finally:
        await source.aclose()
    return outcome, handle


async def test_three_503s_then_success_count_every_row_once(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    options = {"page_size": 40, "max_concurrent_requests": 1}
    async with events_emulator() as emulator:
        clean, _ = await run_analysis(time_env, task_queue, emulator, **options)
        pages = len(emulator.report_requests())
        emulator.reset_requests()
        emulator.inject(Fault(status="UNAVAILABLE", calls=range(1, 4)))
        # The time-skipping server skips the 1 + 2 + 4 s of backoff.
        faulty, _ = await run_analysis(time_env, task_queue, emulator, **options)

    statuses = [(r.offset, r.status) for r in emulator.report_requests()]
    assert pages > 1
    assert statuses[:3] == [(0, "UNAVAILABLE")] * 3
    assert [status for _, status in statuses[3:]] == ["OK"] * pages
    assert faulty.rows_read == clean.rows_read > 0
    assert faulty.pages_fetched == clean.pages_fetched == pages
    assert numbers_of(faulty.insights) == numbers_of(clean.insights)


async def test_an_hourly_quota_429_waits_for_the_refill_instead_of_hammering(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with events_emulator(
        faults=[Fault.quota_exhausted("tokens_per_hour", calls=1)]
    ) as emulator:
        failed_at = datetime.datetime.now(datetime.timezone.utc)  # worker's clock
        outcome, handle = await run_analysis(time_env, task_queue, emulator)

    assert [(r.method, r.status) for r in emulator.requests] == [
        ("runReport", "RESOURCE_EXHAUSTED"),
        ("runReport", "OK"),
    ]
    assert outcome.rows_read > 0
    history = await handle.fetch_history()
    scheduled = {
        event.event_id: event
        for event in history.events
        if event.event_type is EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name
        == FETCH_GA4_DATA
    }
    (started,) = [
        event
        for event in history.events
        if event.event_type is EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and event.activity_task_started_event_attributes.scheduled_event_id in scheduled
    ]
    attempt = started.activity_task_started_event_attributes
    waited = (
        started.event_time.ToDatetime()
        - scheduled[attempt.scheduled_event_id].event_time.ToDatetime()
    )
    assert attempt.attempt == 2
    # In server time, which the test server moves on while the worker waits.
    assert 5 * MINUTE <= waited <= HOUR + MINUTE / 6
    # GA4's hourly quotas refill on the hour: the fetch waits until a minute
    # past the next full hour of the worker's clock (at least 5 min, at most 1 h).
    next_hour = failed_at.replace(minute=0, second=0, microsecond=0) + HOUR
    wait = min(max(next_hour + MINUTE - failed_at, 5 * MINUTE), HOUR)
    assert abs(waited - wait) <= MINUTE / 6


# --- A notification endpoint that is down for a while ---------------------------------


async def test_a_webhook_down_twice_then_up_is_delivered_exactly_once(
    time_env: WorkflowEnvironment,
    task_queue: str,
    httpserver: HTTPServer,
    tmp_path: Path,
) -> None:
    for _ in range(2):
        httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data(
            "maintenance", status=503
        )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    store = SQLInsightStore(f"sqlite:///{tmp_path / 'insights.db'}")
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(),
        store=store,
        notifier=WebhookNotifier(httpserver.url_for("/hook"), secret="s3cret"),
    )
    workflow_id = f"wf-webhook-{uuid.uuid4().hex}"
    try:
        async with Worker(time_env.client, task_queue=task_queue, plugins=[plugin]):
            # The time-skipping server skips the 1 + 2 s of backoff between posts.
            outcome = await time_env.client.execute_workflow(
                ButtonAnalyticsWorkflow.run,
                AnalysisRequest(property_id="42", days_back=2),
                id=workflow_id,
                task_queue=task_queue,
            )
        delivered = await store.has_delivery(workflow_id, "webhook")
    finally:
        await store.close()

    answers = [response.status_code for _, response in httpserver.log]
    assert answers == [503, 503, 200]
    keys = {request.headers["Idempotency-Key"] for request, _ in httpserver.log}
    assert keys == {workflow_id}
    assert outcome.notified.status is BranchStatus.DONE
    assert delivered


# --- Many analyses at once ------------------------------------------------------------


async def test_twenty_concurrent_analyses_on_one_worker_each_save_once(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    database = tmp_path / "insights.db"
    store = SQLInsightStore(f"sqlite:///{database}")
    async with events_emulator() as emulator:
        source = ga4_source(emulator, page_size=100)
        plugin = ButtonAnalyticsPlugin(source=source, store=store)
        try:
            async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
                handles = await asyncio.gather(
                    *(
                        dev_env.client.start_workflow(
                            ButtonAnalyticsWorkflow.run,
                            request_for(emulator, notify=False),
                            id=f"wf-many-{n:02d}-{uuid.uuid4().hex[:8]}",
                            task_queue=task_queue,
                        )
                        for n in range(20)
                    )
                )
                outcomes: Sequence[AnalysisOutcome] = await asyncio.wait_for(
                    asyncio.gather(*(handle.result() for handle in handles)),
                    timeout=90,
                )
        finally:
            await source.aclose()
            await store.close()

    assert all(outcome.saved.status is BranchStatus.DONE for outcome in outcomes)
    assert saved_analyses(database) == sorted((handle.id, 1) for handle in handles)
    first = numbers_of(outcomes[0].insights)
    assert all(numbers_of(outcome.insights) == first for outcome in outcomes)
    assert emulator.max_concurrent_requests <= emulator.quota.concurrent_requests
    assert all(r.status == "OK" for r in emulator.report_requests())
    assert len(emulator.report_requests()) == 20 * outcomes[0].pages_fetched
