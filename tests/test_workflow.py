"""ButtonAnalyticsWorkflow end to end on a real Temporal dev server."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
import uuid

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ga4_button_workflows import (
    AnalysisOutcome,
    AnalysisRequest,
    BranchStatus,
    ButtonAnalyticsPlugin,
    ButtonAnalyticsWorkflow,
    ButtonReport,
    FetchRequest,
    names,
)
from ga4_button_workflows.aggregate import ReportBuilder
from ga4_button_workflows.insights import validate_insights_document
from ga4_button_workflows.models import StepProgress
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.memory import MemoryInsightStore
from ga4_button_workflows.testing.doubles import CallbackDataSource, RecordingNotifier

SEED_KEYS = {
    "timestamp",
    "best_performing_button",
    "worst_performing_button",
    "most_engaging_variant",
    "recommendations",
    "performance_summary",
}


async def _run(
    client: Client,
    task_queue: str,
    plugin: ButtonAnalyticsPlugin,
    request: AnalysisRequest,
    *,
    workflow_id: str | None = None,
) -> AnalysisOutcome:
    async with Worker(client, task_queue=task_queue, plugins=[plugin]):
        return await client.execute_workflow(
            ButtonAnalyticsWorkflow.run,
            request,
            id=workflow_id or f"wf-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )


async def test_sample_traffic_runs_end_to_end_and_saves_and_notifies(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    store = MemoryInsightStore()
    notifier = RecordingNotifier()
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(), store=store, notifier=notifier
    )

    outcome = await _run(
        dev_env.client,
        task_queue,
        plugin,
        AnalysisRequest(property_id="properties/123456", days_back=14),
        workflow_id="wf-sample-e2e",
    )

    assert outcome.property_id == "123456"
    assert outcome.period.days == 14
    assert outcome.saved.status is BranchStatus.DONE
    assert outcome.notified.status is BranchStatus.DONE
    assert [record.analysis_id for record in store.analyses] == ["wf-sample-e2e"]
    assert [analysis_id for analysis_id, _ in notifier.sent] == ["wf-sample-e2e"]
    assert outcome.insights.best_performing_button is not None
    assert outcome.insights.best_performing_button != (
        outcome.insights.worst_performing_button
    )
    from ga4_button_workflows.converter import make_cattrs_converter

    document = make_cattrs_converter().unstructure(outcome.insights)
    assert set(document) >= SEED_KEYS
    json.dumps(document, allow_nan=False)
    validate_insights_document(document)  # the shipped JSON schema
    saved = store.analyses[0].insights
    validate_insights_document(make_cattrs_converter().unstructure(saved))


async def test_progress_query_lists_every_step_in_order(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(), store=MemoryInsightStore()
    )
    async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
        handle = await dev_env.client.start_workflow(
            ButtonAnalyticsWorkflow.run,
            AnalysisRequest(property_id="42", days_back=3),
            id=f"wf-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        await handle.result()
        steps = await handle.query(
            ButtonAnalyticsWorkflow.progress, result_type=list[StepProgress]
        )

    assert [step.step for step in steps[:3]] == [
        "fetch_ga4_data",
        "process_button_metrics",
        "generate_button_insights",
    ]
    assert {step.step for step in steps[3:]} == {
        "save_insights_to_database",
        "send_insights_notification",
    }
    assert all(step.finished_at.tzinfo is not None for step in steps)


async def test_activities_are_registered_under_namespaced_names(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(), store=MemoryInsightStore()
    )
    handle_id = f"wf-{uuid.uuid4().hex}"
    await _run(
        dev_env.client,
        task_queue,
        plugin,
        AnalysisRequest(property_id="42", days_back=2),
        workflow_id=handle_id,
    )

    history = await dev_env.client.get_workflow_handle(handle_id).fetch_history()
    scheduled = {
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    assert scheduled == {
        "ga4_button_workflows.fetch_ga4_data",
        "ga4_button_workflows.process_button_metrics",
        "ga4_button_workflows.generate_button_insights",
        "ga4_button_workflows.save_insights_to_database",
        "ga4_button_workflows.send_insights_notification",
    }
    assert names.DEFAULT_TASK_QUEUE == "button-analytics"


@activity.defn(name="fetch_ga4_data")
async def host_fetch_ga4_data() -> str:
    """A host's own activity that happens to share the seed's short name."""
    return "host"


@workflow.defn(name="HostWorkflow")
class HostWorkflow:
    """A host's workflow calling its own ``fetch_ga4_data``."""

    @workflow.run
    async def run(self) -> str:
        """Call the host's activity."""
        return await workflow.execute_activity(
            host_fetch_ga4_data, start_to_close_timeout=datetime.timedelta(seconds=30)
        )


async def test_host_worker_with_its_own_fetch_ga4_data_still_starts(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(), store=MemoryInsightStore()
    )
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        activities=[host_fetch_ga4_data],
        workflows=[HostWorkflow],
        plugins=[plugin],
    ):
        host_result = await dev_env.client.execute_workflow(
            HostWorkflow.run, id=f"wf-{uuid.uuid4().hex}", task_queue=task_queue
        )
        outcome = await dev_env.client.execute_workflow(
            ButtonAnalyticsWorkflow.run,
            AnalysisRequest(property_id="42", days_back=1),
            id=f"wf-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
    assert host_result == "host"
    assert outcome.saved.status is BranchStatus.DONE


@pytest.mark.parametrize(
    ("request_", "message_part"),
    [
        (
            AnalysisRequest(property_id="G-JHSVNWL6QH"),
            "Admin > Property settings",
        ),
        (AnalysisRequest(property_id="UA-1234-1"), "Universal Analytics"),
        (AnalysisRequest(property_id="42", days_back=0), "days_back must be between"),
        (AnalysisRequest(property_id="42", days_back=10_000), "about 14 months"),
        (
            AnalysisRequest(
                property_id="42",
                start_date=datetime.date(2026, 5, 2),
                end_date=datetime.date(2026, 5, 1),
            ),
            "is before start_date",
        ),
        (
            AnalysisRequest(property_id="42", time_zone="Mars/Olympus_Mons"),
            "unknown time zone",
        ),
        (
            AnalysisRequest(property_id="42", fetch_heartbeat_timeout_s=0.1),
            "fetch_heartbeat_timeout_s must be between",
        ),
    ],
    ids=[
        "measurement-id",
        "universal-analytics-id",
        "zero-days",
        "too-many-days",
        "end-before-start",
        "bad-time-zone",
        "heartbeat-too-short",
    ],
)
async def test_invalid_request_fails_the_workflow_within_seconds(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    request_: AnalysisRequest,
    message_part: str,
) -> None:
    source = SampleDataSource()
    plugin = ButtonAnalyticsPlugin(source=source, store=MemoryInsightStore())
    started = time.monotonic()

    with pytest.raises(WorkflowFailureError) as failure:
        await _run(dev_env.client, task_queue, plugin, request_)

    elapsed = time.monotonic() - started
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidAnalysisRequest"
    assert cause.non_retryable
    assert message_part in cause.message
    # Fails at once rather than retrying the workflow task; generous bound for CI.
    assert elapsed < 10


async def test_non_retryable_source_error_ends_the_workflow_at_once(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    async def refuse(request: FetchRequest, context: FetchContext) -> ButtonReport:
        raise ApplicationError(
            "Field customEvent:button_type is not a valid dimension; register it",
            type="GA4ConfigurationError",
            non_retryable=True,
        )

    source = CallbackDataSource(refuse)
    plugin = ButtonAnalyticsPlugin(source=source, store=MemoryInsightStore())

    with pytest.raises(WorkflowFailureError) as failure:
        await _run(
            dev_env.client, task_queue, plugin, AnalysisRequest(property_id="42")
        )

    assert source.calls == 1
    assert "customEvent:button_type" in str(failure.value.cause.cause)  # type: ignore[union-attr]


async def test_transient_source_error_is_retried(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    sample = SampleDataSource()

    async def flaky(request: FetchRequest, context: FetchContext) -> ButtonReport:
        if source.calls < 3:
            raise ConnectionError("GA4 answered 503")
        return await sample.fetch_report(request, context)

    source = CallbackDataSource(flaky)
    plugin = ButtonAnalyticsPlugin(source=source, store=MemoryInsightStore())
    outcome = await _run(
        dev_env.client,
        task_queue,
        plugin,
        AnalysisRequest(property_id="42", days_back=2),
    )
    assert source.calls == 3
    assert outcome.saved.status is BranchStatus.DONE


async def test_failed_notification_is_reported_in_the_outcome_not_lost(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    class Broken:
        channel = "broken"

        async def send(self, insights: object, *, analysis_id: str) -> None:
            raise ApplicationError("webhook answered 404", non_retryable=True)

    store = MemoryInsightStore()
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(), store=store, notifier=Broken()
    )
    outcome = await _run(
        dev_env.client,
        task_queue,
        plugin,
        AnalysisRequest(property_id="42", days_back=2),
    )
    assert outcome.saved.status is BranchStatus.DONE
    assert outcome.notified.status is BranchStatus.FAILED
    assert "404" in outcome.notified.detail
    assert len(store.analyses) == 1


async def test_retried_notification_reaches_each_channel_once(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    steady = RecordingNotifier("steady")
    flaky = RecordingNotifier("flaky", fail_first=2)
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(), store=MemoryInsightStore(), notifier=[steady, flaky]
    )
    outcome = await _run(
        dev_env.client,
        task_queue,
        plugin,
        AnalysisRequest(property_id="42", days_back=2),
    )
    assert outcome.notified.status is BranchStatus.DONE
    assert flaky.attempts == 3
    assert len(flaky.sent) == 1
    # The steady channel succeeded on the first attempt and was not re-sent.
    assert steady.attempts == 1


async def _rows_source_report(
    request: FetchRequest, rows: int, buttons: int
) -> ButtonReport:
    builder = ReportBuilder(
        ORIGINAL_LANDING_PAGE, property_id=request.property_id, period=request.period
    )
    variants = ("original", "colors", "sizes", "spacing", "typography")
    for variant in variants:
        builder.add_row(
            event_name="page_view",
            button=None,
            variant=variant,
            event_count=10 * rows,
            users=rows,
        )
    for index in range(rows):
        builder.add_row(
            event_name="cta_click",
            button=f"button-{index % buttons}",
            variant=variants[index % len(variants)],
            event_count=3,
            users=2,
            duration_ms=900.0,
        )
        if index % 5_000 == 0:
            await asyncio.sleep(0)
    builder.pages_fetched = max(1, rows // 100_000)
    return builder.build()


async def _history_shape(
    client: Client, task_queue: str, rows: int
) -> tuple[int, list[str]]:
    async def fetch(request: FetchRequest, context: FetchContext) -> ButtonReport:
        return await _rows_source_report(request, rows, buttons=min(rows, 10_000))

    plugin = ButtonAnalyticsPlugin(
        source=CallbackDataSource(fetch), store=MemoryInsightStore()
    )
    workflow_id = f"wf-rows-{rows}-{uuid.uuid4().hex[:6]}"
    await _run(
        client,
        task_queue,
        plugin,
        AnalysisRequest(property_id="42", days_back=28),
        workflow_id=workflow_id,
    )
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    largest = 0
    for event in history.events:
        for payloads in _payload_lists(event):
            largest = max(largest, sum(p.ByteSize() for p in payloads))
    # Workflow-task events depend on timing (whether the parallel save and
    # notify finish in one workflow task or two), not on the data: leave them out.
    return largest, sorted(
        EventType.Name(event.event_type)
        for event in history.events
        if "WORKFLOW_TASK" not in EventType.Name(event.event_type)
    )


def _payload_lists(event: object) -> list[list[object]]:
    found = []
    for attribute in (
        "workflow_execution_started_event_attributes",
        "activity_task_scheduled_event_attributes",
        "activity_task_completed_event_attributes",
        "workflow_execution_completed_event_attributes",
    ):
        if event.HasField(attribute):  # type: ignore[attr-defined]
            attributes = getattr(event, attribute)
            found.extend(
                list(getattr(attributes, field).payloads)
                for field in ("input", "result")
                if hasattr(attributes, field)
            )
    return found


@pytest.mark.slow
async def test_million_row_report_keeps_payloads_small_and_history_flat(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    small_payload, small_events = await _history_shape(
        dev_env.client, task_queue, 1_000
    )
    big_payload, big_events = await _history_shape(
        dev_env.client, task_queue, 1_000_000
    )

    assert big_payload < 256 * 1024
    assert small_payload < 256 * 1024
    assert big_events == small_events, (big_events, small_events)


async def test_a_store_failing_to_give_history_does_not_fail_the_fetch(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    class NoHistory(MemoryInsightStore):
        async def analysis_for_period(self, property_id: str, period: object) -> None:
            raise ConnectionError("database is down")

    store = NoHistory()
    source = CallbackDataSource(SampleDataSource().fetch_report)
    plugin = ButtonAnalyticsPlugin(source=source, store=store)
    outcome = await _run(
        dev_env.client,
        task_queue,
        plugin,
        AnalysisRequest(property_id="42", days_back=2),
    )

    assert source.calls == 1  # the GA4 fetch was not retried
    assert outcome.saved.status is BranchStatus.DONE
    assert any("trend history" in caveat.lower() for caveat in outcome.insights.caveats)
