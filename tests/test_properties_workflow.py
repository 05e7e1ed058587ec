"""Several properties analysed through child workflows."""

from __future__ import annotations

import uuid

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ga4_button_workflows import ButtonAnalyticsPlugin, ButtonReport, FetchRequest
from ga4_button_workflows.models import PropertiesRequest
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.memory import MemoryInsightStore
from ga4_button_workflows.testing.doubles import CallbackDataSource
from ga4_button_workflows.workflow import PropertiesAnalyticsWorkflow


async def test_one_failing_property_does_not_sink_the_others(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    sample = SampleDataSource()
    running = 0
    most_running = 0

    async def fetch(request: FetchRequest, context: FetchContext) -> ButtonReport:
        nonlocal running, most_running
        running += 1
        most_running = max(most_running, running)
        try:
            if request.property_id == "13":
                from temporalio.exceptions import ApplicationError

                raise ApplicationError(
                    "User does not have sufficient permissions for property 13",
                    non_retryable=True,
                )
            return await sample.fetch_report(request, context)
        finally:
            running -= 1

    store = MemoryInsightStore()
    plugin = ButtonAnalyticsPlugin(source=CallbackDataSource(fetch), store=store)
    request = PropertiesRequest(
        property_ids=("11", "12", "13", "14", "15"), days_back=2, max_concurrent=2
    )
    async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
        results = await dev_env.client.execute_workflow(
            PropertiesAnalyticsWorkflow.run,
            request,
            id=f"wf-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )

    by_property = {result.property_id: result for result in results}
    assert [result.property_id for result in results] == list(request.property_ids)
    assert not by_property["13"].succeeded
    assert "sufficient permissions" in (by_property["13"].error or "")
    assert all(by_property[p].succeeded for p in ("11", "12", "14", "15"))
    assert len(store.analyses) == 4
    assert most_running <= 2
    periods = {by_property[p].outcome.period for p in ("11", "12", "14", "15")}  # type: ignore[union-attr]
    assert len(periods) == 1
