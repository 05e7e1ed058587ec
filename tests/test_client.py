"""Triggering analyses from a host application."""

from __future__ import annotations

import asyncio
import datetime
import random

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ga4_button_workflows import (
    ButtonAnalyticsPlugin,
    analysis_workflow_id,
    trigger_button_analysis,
)
from ga4_button_workflows.converter import INVALID_PAYLOAD
from ga4_button_workflows.models import AnalysisRequest, Period
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.memory import MemoryInsightStore
from ga4_button_workflows.workflow import ButtonAnalyticsWorkflow


async def test_ten_concurrent_triggers_for_one_period_start_one_workflow(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    store = MemoryInsightStore()
    source = SampleDataSource()
    plugin = ButtonAnalyticsPlugin(source=source, store=store)
    property_id = str(random.randrange(10**8, 10**9))

    async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
        handles = await asyncio.gather(
            *(
                trigger_button_analysis(
                    dev_env.client,
                    property_id,
                    days_back=7,
                    wait=False,
                    task_queue=task_queue,
                )
                for _ in range(10)
            )
        )
        outcomes = await asyncio.gather(*(handle.result() for handle in handles))

    assert len({(handle.id, handle.result_run_id) for handle in handles}) == 1
    assert len(store.analyses) == 1
    assert len({outcome.analysis_id for outcome in outcomes}) == 1


def test_workflow_id_names_the_property_and_period() -> None:
    period = Period(datetime.date(2026, 3, 1), datetime.date(2026, 3, 7))
    assert (
        analysis_workflow_id("123", period)
        == "button-analysis-123-2026-03-01-2026-03-07"
    )


async def test_trigger_refuses_a_measurement_id_before_starting_anything(
    dev_env: WorkflowEnvironment,
) -> None:
    with pytest.raises(ValueError, match="measurement ID"):
        await trigger_button_analysis(dev_env.client, "G-JHSVNWL6QH")


async def test_trigger_with_explicit_dates_analyses_those_dates(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(), store=MemoryInsightStore()
    )
    async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
        outcome = await trigger_button_analysis(
            dev_env.client,
            "properties/555",
            start_date=datetime.date(2026, 2, 1),
            end_date=datetime.date(2026, 2, 3),
            task_queue=task_queue,
        )
    assert outcome.period == Period(
        datetime.date(2026, 2, 1), datetime.date(2026, 2, 3)
    )
    assert outcome.analysis_id == "button-analysis-555-2026-02-01-2026-02-03"


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"property_id": 123456789}, TypeError, "must be a string such as"),
        ({"days_back": True}, TypeError, "whole number of days, not True"),
        ({"days_back": 7.5}, TypeError, "whole number of days, not 7.5"),
        ({"days_back": 0}, ValueError, "between 1 and 434"),
        (
            {
                "days_back": 3,
                "start_date": datetime.date(2026, 2, 1),
                "end_date": datetime.date(2026, 2, 3),
            },
            ValueError,
            "both choose the period",
        ),
        (
            {"start_date": "2026-02-01", "end_date": "2026-02-03"},
            TypeError,
            "start_date must be a datetime.date, got str '2026-02-01'",
        ),
        (
            {
                "start_date": datetime.datetime(
                    2026, 2, 1, tzinfo=datetime.timezone.utc
                ),
                "end_date": datetime.datetime(2026, 2, 3, tzinfo=datetime.timezone.utc),
            },
            TypeError,
            "start_date must be a datetime.date, got datetime",
        ),
        ({"notify": "no"}, TypeError, "notify must be True or False, got 'no'"),
        ({"wait": "yes"}, TypeError, "wait must be True or False, got 'yes'"),
        ({"time_zone": None}, TypeError, "time zone must be an IANA name"),
        ({"task_queue": ""}, TypeError, "task_queue must be a task queue name"),
        ({"workflow_id": 5}, TypeError, "workflow_id must be a non-empty string"),
        (
            {
                "start_date": datetime.date(2026, 2, 1),
                "end_date": datetime.datetime.now(datetime.timezone.utc).date()
                + datetime.timedelta(days=2),
            },
            ValueError,
            "after today",
        ),
    ],
)
async def test_trigger_refuses_a_bad_request_before_starting_anything(
    dev_env: WorkflowEnvironment,
    arguments: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    call = {"property_id": "123456789", **arguments}

    with pytest.raises(error, match=message):
        await trigger_button_analysis(dev_env.client, **call)  # type: ignore[arg-type]


async def test_a_workflow_started_with_a_fractional_days_back_fails_at_once(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(), store=MemoryInsightStore()
    )
    request = AnalysisRequest(property_id="555", days_back=7.5)  # type: ignore[arg-type]
    async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
        handle = await dev_env.client.start_workflow(
            ButtonAnalyticsWorkflow.run,
            request,
            id=f"fractional-{random.randrange(10**9)}",
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.non_retryable
    assert cause.type == INVALID_PAYLOAD
    assert "expected a whole number, got 7.5 @ $.days_back" in cause.message
