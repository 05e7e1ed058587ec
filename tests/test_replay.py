"""Recorded histories replay cleanly: workflow changes stay deterministic.

Each JSON file in ``tests/histories/`` is the history of a representative run
recorded with a released version. Re-record (adding, never replacing, files
for a new release) with::

    GA4_BUTTONS_RECORD_HISTORIES=<version> pytest tests/test_replay.py -k record
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from ga4_button_workflows import (
    AnalysisOutcome,
    AnalysisRequest,
    ButtonAnalyticsPlugin,
    ButtonAnalyticsWorkflow,
    ButtonReport,
    FetchRequest,
    names,
)
from ga4_button_workflows.models import ButtonInsights, MetricsReport
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.memory import MemoryInsightStore
from ga4_button_workflows.testing.doubles import CallbackDataSource

HISTORIES = Path(__file__).parent / "histories"
RECORD_VERSION = os.environ.get("GA4_BUTTONS_RECORD_HISTORIES")


def _histories() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def _load(path: Path) -> WorkflowHistory:
    document = json.loads(path.read_text(encoding="utf-8"))
    return WorkflowHistory.from_json(document["workflow_id"], document["history"])


def test_there_are_recorded_histories_for_each_kind_of_run() -> None:
    kinds = {path.name.split("--")[1].removesuffix(".json") for path in _histories()}
    assert {"success", "ga4-retry", "failed-notification"} <= kinds


@pytest.mark.parametrize("path", _histories(), ids=lambda path: path.name)
async def test_recorded_history_replays_with_the_current_workflow(path: Path) -> None:
    replayer = Replayer(workflows=[], plugins=[ButtonAnalyticsPlugin(activities=False)])
    result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None


@workflow.defn(name=names.WORKFLOW_TYPE)
class ReorderedWorkflow:
    """The workflow with two steps swapped and no ``workflow.patched`` guard."""

    @workflow.run
    async def run(self, request: AnalysisRequest) -> None:
        """Ask for insights before metrics: a change replay must catch."""
        options = {"start_to_close_timeout": timedelta(minutes=1)}
        await workflow.execute_activity(
            names.GENERATE_BUTTON_INSIGHTS, None, result_type=ButtonInsights, **options
        )
        await workflow.execute_activity(
            names.PROCESS_BUTTON_METRICS, None, result_type=MetricsReport, **options
        )


@pytest.mark.parametrize(
    "path",
    [path for path in _histories() if "--success" in path.name],
    ids=lambda path: path.name,
)
async def test_reordering_activities_without_a_patch_fails_replay(path: Path) -> None:
    from ga4_button_workflows.converter import data_converter

    replayer = Replayer(workflows=[ReorderedWorkflow], data_converter=data_converter)
    result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None


# --- Recording --------------------------------------------------------------------


async def _flaky_fetch_source() -> CallbackDataSource:
    sample = SampleDataSource()

    async def fetch(request: FetchRequest, context: FetchContext) -> ButtonReport:
        if source.calls == 1:
            raise ConnectionError("GA4 answered 503 Service Unavailable")
        return await sample.fetch_report(request, context)

    source = CallbackDataSource(fetch)
    return source


class _RejectingNotifier:
    channel = "webhook"

    async def send(self, insights: object, *, analysis_id: str) -> None:
        raise ApplicationError("webhook answered 404 Not Found", non_retryable=True)


async def _plugins() -> dict[str, Callable[[], ButtonAnalyticsPlugin]]:
    flaky = await _flaky_fetch_source()
    return {
        "success": lambda: ButtonAnalyticsPlugin(
            source=SampleDataSource(), store=MemoryInsightStore()
        ),
        "ga4-retry": lambda: ButtonAnalyticsPlugin(
            source=flaky, store=MemoryInsightStore()
        ),
        "failed-notification": lambda: ButtonAnalyticsPlugin(
            source=SampleDataSource(),
            store=MemoryInsightStore(),
            notifier=_RejectingNotifier(),
        ),
    }


@pytest.mark.skipif(
    RECORD_VERSION is None,
    reason="records histories only when GA4_BUTTONS_RECORD_HISTORIES names a version",
)
async def test_record_histories(dev_env: WorkflowEnvironment, task_queue: str) -> None:
    assert RECORD_VERSION is not None
    HISTORIES.mkdir(exist_ok=True)
    for kind, make_plugin in (await _plugins()).items():
        workflow_id = f"history-{kind}-{uuid.uuid4().hex[:8]}"
        async with Worker(
            dev_env.client, task_queue=task_queue, plugins=[make_plugin()]
        ):
            with contextlib.suppress(WorkflowFailureError):
                await dev_env.client.execute_workflow(
                    ButtonAnalyticsWorkflow.run,
                    AnalysisRequest(property_id="123456", days_back=7),
                    id=workflow_id,
                    task_queue=task_queue,
                    result_type=AnalysisOutcome,
                )
        history = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
        path = HISTORIES / f"{RECORD_VERSION}--{kind}.json"
        path.write_text(
            json.dumps(
                {"workflow_id": workflow_id, "history": history.to_json_dict()},
                indent=1,
            ),
            encoding="utf-8",
        )
